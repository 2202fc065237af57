import Foundation
import BlockSparse

// Text escaping, number formatting and a small self-contained SVG chart
// renderer for the HTML report: no JavaScript, no fonts or scripts fetched
// from the network, and nothing that depends on the viewer.

// MARK: - Escaping

/// Escapes `text` for HTML and XML character data and attribute values.
func escapeXML(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for ch in text.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default:
            // Control characters other than tab and newline are not allowed in XML 1.0.
            if ch.value < 0x20 && ch != "\t" && ch != "\n" { out += " " } else { out.unicodeScalars.append(ch) }
        }
    }
    return out
}

// MARK: - Numbers

/// Number formatting shared by the Markdown, HTML and chart output.
package enum Fmt {
    /// `x` with `digits` significant digits, no exponent ("123", "12.3", "0.0123").
    package static func sig(_ x: Double, _ digits: Int = 3) -> String {
        guard x.isFinite else { return x.isNaN ? "n/a" : (x > 0 ? "∞" : "-∞") }
        if x == 0 { return "0" }
        var magnitude = Int(floor(log10(abs(x))))
        // Rounding can carry into the next decade (9.996 -> 10.0): recompute.
        let scale = pow(10, Double(digits - 1 - magnitude))
        let rounded = (x * scale).rounded() / scale
        // Subnormal and extreme values overflow the scale: print them as %g.
        guard rounded.isFinite, scale.isFinite, scale > 0 else { return String(format: "%.\(digits)g", x) }
        if rounded != 0 { magnitude = Int(floor(log10(abs(rounded)))) }
        let decimals = max(0, digits - 1 - magnitude)
        return String(format: "%.\(decimals)f", rounded)
    }

    /// A duration in seconds with a readable unit ("812 ns", "1.23 ms").
    package static func time(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "n/a" }
        if seconds < 1e-6 { return sig(seconds * 1e9) + " ns" }
        if seconds < 1e-3 { return sig(seconds * 1e6) + " µs" }
        if seconds < 1 { return sig(seconds * 1e3) + " ms" }
        return sig(seconds) + " s"
    }

    /// A fraction as a percentage: whole percent when it is one ("95%"),
    /// else one decimal ("97.5%").
    package static func percent(_ fraction: Double) -> String {
        guard fraction.isFinite else { return "n/a" }
        let p = fraction * 100
        if abs(p - p.rounded()) < 0.05 { return String(format: "%.0f%%", p.rounded()) }
        return String(format: "%.1f%%", p)
    }

    /// A speed-up factor ("1.23×"); "–" when absent.
    package static func factor(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "–" }
        return x >= 100 ? String(format: "%.0f×", x) : (x >= 10 ? String(format: "%.1f×", x) : String(format: "%.2f×", x))
    }

    /// A compact axis tick label: "0.5", "20", "1k", "2.5M".
    package static func tick(_ x: Double) -> String {
        if x == 0 { return "0" }
        let a = abs(x)
        func trim(_ s: String) -> String {
            guard s.contains(".") else { return s }
            var s = s
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
            return s
        }
        if a >= 1e6 { return trim(String(format: "%.2f", x / 1e6)) + "M" }
        if a >= 1e4 { return trim(String(format: "%.2f", x / 1e3)) + "k" }
        if a >= 1 { return trim(String(format: "%.2f", x)) }
        let decimals = min(8, max(1, -Int(floor(log10(a))) + 1))
        return trim(String(format: "%.\(decimals)f", x))
    }
}

// MARK: - Axes

enum AxisScale: Sendable { case linear, log }

/// Ticks at 1, 2 or 5 times a power of ten covering `lo...hi`, and the
/// domain widened to the outer ticks.
func niceLinearTicks(_ lo: Double, _ hi: Double, target: Int = 5) -> (domain: ClosedRange<Double>, ticks: [Double]) {
    var lo = lo, hi = hi
    if !(hi > lo) { let pad = lo == 0 ? 1 : abs(lo) * 0.1; lo -= pad; hi += pad }
    let rough = (hi - lo) / Double(max(1, target))
    let mag = pow(10, floor(log10(rough)))
    let norm = rough / mag
    let step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag
    let first = floor(lo / step + 1e-9) * step, last = ceil(hi / step - 1e-9) * step
    var ticks: [Double] = []
    var i = 0
    while true {
        let t = first + Double(i) * step
        if t > last + step * 1e-6 || i > 100 { break }
        ticks.append(abs(t) < step * 1e-9 ? 0 : t)
        i += 1
    }
    return (first...last, ticks)
}

/// Decade ticks (plus 2 and 5 times when the range is short) covering `lo...hi` (> 0).
func niceLogTicks(_ lo: Double, _ hi: Double) -> (domain: ClosedRange<Double>, ticks: [Double]) {
    // Whatever the data: a finite, positive, non-empty range.
    var lo = min(max(lo, 1e-300), 1e300), hi = min(max(hi, 1e-300), 1e300)
    if !(lo > 0) { lo = hi > 0 ? hi / 10 : 0.1 }
    if !(hi > lo) { hi = lo * 10 }
    let d0 = Int(floor(log10(lo) + 1e-9)), d1 = Int(ceil(log10(hi) - 1e-9))
    let decades = max(1, d1 - d0)
    func candidates(_ multiples: [Double]) -> [Double] {
        var ticks: [Double] = []
        for d in d0...max(d0 + 1, d1) {
            for m in multiples {
                let t = m * pow(10, Double(d))
                if t >= lo * 0.999 && t <= hi * 1.001 { ticks.append(t) }
            }
        }
        return ticks
    }
    // 1-2-5 ticks while they stay few enough to label; decades otherwise.
    var ticks = candidates([1, 2, 5])
    if ticks.count > 9 { ticks = candidates([1]) }
    // The domain is the data range padded a little, not whole decades (which waste space).
    let pad = pow(10, 0.05 * Double(decades))
    let domain = (lo / pad)...(hi * pad)
    if ticks.count < 2 { ticks = [pow(10, Double(d0)), pow(10, Double(d0 + 1))] }
    return (min(domain.lowerBound, ticks.first!)...max(domain.upperBound, ticks.last!), ticks)
}

// MARK: - Chart

/// A point marker shape.
enum Marker: Sendable { case none, circle, square, diamond, triangle, hollowCircle }

/// One line (or scatter) of a chart.
struct ChartSeries {
    struct Point { var x: Double; var y: Double; var tip: String }
    var label: String
    var color: String
    var points: [Point]
    var line = true
    var dash: String? = nil
    var marker: Marker = .circle
    var lineWidth = 2.0
    /// False for guides (roofline ceilings) that may run past the data: the
    /// axes are fitted to the other series and the plot area clips this one.
    var fitsAxes = true
}

/// A horizontal reference line (y = 1, ideal scaling, ...).
struct ReferenceLine {
    var y: Double
    var label: String
    var color = "#555"
    var dash = "6 4"
}

/// A chart with two numeric axes rendered as standalone inline SVG.
struct Chart {
    var id: String
    var kind: String
    var title: String
    var subtitle: String? = nil
    var xLabel: String
    var yLabel: String
    var xScale = AxisScale.linear
    var yScale = AxisScale.linear
    var xTick: (Double) -> String = Fmt.tick
    var yTick: (Double) -> String = Fmt.tick
    var series: [ChartSeries] = []
    var references: [ReferenceLine] = []
    /// Extra values each axis must include (e.g. 0 for y, or a reference line).
    var xInclude: [Double] = []
    var yInclude: [Double] = []
    /// When set, the data's x range is widened so categories do not sit on the frame.
    var xPadFraction = 0.04

    var width = 590.0
    var plotHeight = 300.0

    static func textWidth(_ s: String, size: Double) -> Double { Double(s.count) * size * 0.58 }

    func svg() -> String {
        let points = series.filter(\.fitsAxes).flatMap(\.points).filter { p in
            p.x.isFinite && p.y.isFinite && (xScale == .linear || p.x > 0) && (yScale == .linear || p.y > 0)
        }
        let xsData = points.map(\.x) + xInclude.filter { xScale == .linear || $0 > 0 }
        let ysData = points.map(\.y) + yInclude.filter { yScale == .linear || $0 > 0 }
            + references.map(\.y).filter { yScale == .linear || $0 > 0 }
        // Within +-1e300, so spans and paddings stay finite whatever a result file holds.
        func finite(_ v: Double) -> Double { min(max(v, -1e300), 1e300) }
        guard let xMin = xsData.min().map(finite), let xMax = xsData.max().map(finite),
              let yMin = ysData.min().map(finite), let yMax = ysData.max().map(finite) else {
            return ""
        }
        // Axes.
        let xAxis: (domain: ClosedRange<Double>, ticks: [Double])
        switch xScale {
        case .linear:
            let pad = max((xMax - xMin) * xPadFraction, xMax == xMin ? 0.05 : 0)
            let nice = niceLinearTicks(xMin, xMax, target: 6)
            let lo = xMin - pad, hi = xMax + pad
            xAxis = (lo...hi, nice.ticks.filter { $0 >= lo - 1e-12 && $0 <= hi + 1e-12 })
        case .log:
            xAxis = niceLogTicks(xMin, xMax)
        }
        // Headroom above the highest point so a line never runs along the frame.
        let yAxis = yScale == .linear
            ? niceLinearTicks(yMin, yMax + (yMax - yMin) * 0.06, target: 5) : niceLogTicks(yMin, yMax)
        let yTicksText = yAxis.ticks.map(yTick)
        let left = max(56, 26 + (yTicksText.map { Chart.textWidth($0, size: 11) }.max() ?? 0) + 8)
        let right = 18.0
        let top = subtitle == nil ? 40.0 : 56.0
        let plotW = width - left - right, plotH = plotHeight
        let bottom = 46.0

        func sx(_ x: Double) -> Double {
            let (a, b) = (xAxis.domain.lowerBound, xAxis.domain.upperBound)
            let t = xScale == .linear ? (x - a) / (b - a) : (log10(x) - log10(a)) / (log10(b) - log10(a))
            return left + t * plotW
        }
        func sy(_ y: Double) -> Double {
            let (a, b) = (yAxis.domain.lowerBound, yAxis.domain.upperBound)
            let t = yScale == .linear ? (y - a) / (b - a) : (log10(y) - log10(a)) / (log10(b) - log10(a))
            return top + plotH - t * plotH
        }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        // Legend layout: items flow left to right, wrapping.
        // Reference lines are explained in the legend (a label on the line could sit on the data).
        let guides = references.filter { yScale == .linear || $0.y > 0 }.map {
            ChartSeries(label: $0.label, color: $0.color, points: [], dash: $0.dash, marker: .none, lineWidth: 1.5)
        }
        var legendItems: [(x: Double, y: Double, s: ChartSeries)] = []
        var lx = left, ly = top + plotH + bottom + 4
        for s in series + guides where !s.points.isEmpty || s.line {
            let w = 30 + Chart.textWidth(s.label, size: 12) + 18
            if lx + w > width - right && lx > left { lx = left; ly += 20 }
            legendItems.append((lx, ly, s))
            lx += w
        }
        let height = (legendItems.last.map { $0.y + 14 } ?? top + plotH + bottom) + 6

        var o = ""
        o += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart \(kind)\" id=\"\(id)\" viewBox=\"0 0 \(f(width)) \(f(height))\" "
        o += "width=\"\(f(width))\" height=\"\(f(height))\" role=\"img\" aria-labelledby=\"\(id)-t\" "
        o += "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif\">\n"
        o += "<title id=\"\(id)-t\">\(escapeXML(title))</title>\n"
        o += "<defs><clipPath id=\"\(id)-clip\"><rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\"/></clipPath></defs>\n"
        o += "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"#fff\"/>\n"
        o += "<text x=\"\(f(left))\" y=\"20\" font-size=\"15\" font-weight=\"600\" fill=\"#1a1a1a\">\(escapeXML(title))</text>\n"
        if let subtitle {
            o += "<text x=\"\(f(left))\" y=\"38\" font-size=\"12\" fill=\"#555\">\(escapeXML(subtitle))</text>\n"
        }
        // Grid and ticks.
        o += "<g font-size=\"11\" fill=\"#444\">\n"
        for (t, label) in zip(yAxis.ticks, yTicksText) {
            let y = sy(t)
            o += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(y))\" y2=\"\(f(y))\" stroke=\"#e3e3e3\"/>"
            o += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(escapeXML(label))</text>\n"
        }
        var lastLabelRight = -Double.infinity
        for t in xAxis.ticks {
            let x = sx(t)
            let label = xTick(t)
            let w = Chart.textWidth(label, size: 11)
            o += "<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" stroke=\"#eeeeee\"/>"
            o += "<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(top + plotH))\" y2=\"\(f(top + plotH + 4))\" stroke=\"#888\"/>"
            if x - w / 2 > lastLabelRight + 4 {  // skip a label that would overlap its neighbour
                o += "<text x=\"\(f(x))\" y=\"\(f(top + plotH + 17))\" text-anchor=\"middle\">\(escapeXML(label))</text>"
                lastLabelRight = x + w / 2
            }
            o += "\n"
        }
        o += "</g>\n"
        o += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#999\"/>\n"
        // Axis titles.
        o += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(top + plotH + 36))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222\">\(escapeXML(xLabel))</text>\n"
        let yMid = top + plotH / 2
        o += "<text x=\"14\" y=\"\(f(yMid))\" transform=\"rotate(-90 14 \(f(yMid)))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222\">\(escapeXML(yLabel))</text>\n"
        // Reference lines.
        for r in references where yScale == .linear || r.y > 0 {
            let y = sy(r.y)
            o += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(y))\" y2=\"\(f(y))\" stroke=\"\(r.color)\" "
            o += "stroke-width=\"1.5\" stroke-dasharray=\"\(r.dash)\"><title>\(escapeXML(r.label))</title></line>\n"
        }
        // Series.
        o += "<g clip-path=\"url(#\(id)-clip)\">\n"
        for s in series {
            let pts = s.points.filter { p in
                p.x.isFinite && p.y.isFinite && (xScale == .linear || p.x > 0) && (yScale == .linear || p.y > 0)
            }
            if s.line && pts.count > 1 {
                let d = pts.map { "\(f(sx($0.x))),\(f(sy($0.y)))" }.joined(separator: " ")
                o += "<polyline points=\"\(d)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"\(f(s.lineWidth))\" "
                o += "stroke-linejoin=\"round\"\(s.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>\n"
            }
            for p in pts where s.marker != .none {
                o += Chart.marker(s.marker, x: sx(p.x), y: sy(p.y), color: s.color, tip: p.tip)
            }
        }
        o += "</g>\n"
        // Legend.
        o += "<g font-size=\"12\" fill=\"#222\">\n"
        for item in legendItems {
            let s = item.s, cy = item.y
            if s.line {
                o += "<line x1=\"\(f(item.x))\" x2=\"\(f(item.x + 24))\" y1=\"\(f(cy))\" y2=\"\(f(cy))\" stroke=\"\(s.color)\" "
                o += "stroke-width=\"\(f(s.lineWidth))\"\(s.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>"
            }
            if s.marker != .none { o += Chart.marker(s.marker, x: item.x + 12, y: cy, color: s.color, tip: nil) }
            o += "<text x=\"\(f(item.x + 30))\" y=\"\(f(cy + 4))\">\(escapeXML(s.label))</text>\n"
        }
        o += "</g>\n</svg>\n"
        return o
    }

    static func marker(_ m: Marker, x: Double, y: Double, color: String, tip: String?) -> String {
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let title = tip.map { "<title>\(escapeXML($0))</title>" } ?? ""
        let style = "fill=\"\(color)\" stroke=\"#fff\" stroke-width=\"1\""
        switch m {
        case .none: return ""
        case .circle: return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"4\" \(style)>\(title)</circle>\n"
        case .hollowCircle:
            return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"3.5\" fill=\"#fff\" stroke=\"\(color)\" stroke-width=\"2\">\(title)</circle>\n"
        case .square: return "<rect x=\"\(f(x - 4))\" y=\"\(f(y - 4))\" width=\"8\" height=\"8\" \(style)>\(title)</rect>\n"
        case .diamond:
            return "<polygon points=\"\(f(x)),\(f(y - 5)) \(f(x + 5)),\(f(y)) \(f(x)),\(f(y + 5)) \(f(x - 5)),\(f(y))\" \(style)>\(title)</polygon>\n"
        case .triangle:
            return "<polygon points=\"\(f(x)),\(f(y - 5)) \(f(x + 5)),\(f(y + 4)) \(f(x - 5)),\(f(y + 4))\" \(style)>\(title)</polygon>\n"
        }
    }
}

/// Line charts of plain series for the reports of other modules (the paper
/// study's), drawn by ``Chart``.
package enum LineChart {
    package struct Series {
        package var name: String
        package var color: String
        package var dashed: Bool
        package var points: [(Double, Double)]

        package init(name: String, color: String, dashed: Bool, points: [(Double, Double)]) {
            self.name = name
            self.color = color
            self.dashed = dashed
            self.points = points
        }
    }

    /// An inline SVG chart, or "" when no series has a point.
    package static func svg(id: String, kind: String, title: String, xLabel: String, yLabel: String, series: [Series],
                            reference: (value: Double, label: String)?, yRange: (Double, Double)?,
                            xRange: (Double, Double), logY: Bool) -> String {
        guard series.contains(where: { !$0.points.isEmpty }) else { return "" }
        var c = Chart(id: id, kind: kind, title: title, xLabel: xLabel, yLabel: yLabel)
        c.yScale = logY ? .log : .linear
        c.series = series.map { s in
            ChartSeries(label: s.name, color: s.color,
                        points: s.points.map { ChartSeries.Point(x: $0.0, y: $0.1, tip: "\(s.name): \(Fmt.sig($0.1))") },
                        dash: s.dashed ? "5 3" : nil)
        }
        if let reference { c.references = [ReferenceLine(y: reference.value, label: reference.label)] }
        c.xInclude = [xRange.0, xRange.1]
        if let yRange { c.yInclude = [yRange.0, yRange.1] }
        c.width = 720
        return c.svg()
    }
}
