import Foundation
import BlockSparse

// The HTML report: the Markdown report's content plus four kinds of inline
// SVG chart, built from the median entries.

extension ReportRenderer {

    // MARK: Series identity and style

    /// A line of the sparsity charts: dense, CSR, or one BSR block shape.
    struct SeriesKey: Hashable, Comparable {
        var format: String
        var rows: Int
        var cols: Int

        init(_ e: BenchmarkEntry) {
            format = e.format
            let sparse = e.format == "csr" || e.format == "mkl-csr"
            (rows, cols) = e.format == "bsr" || e.format == "mkl-bsr" ? (e.block_rows, e.block_cols) : (sparse ? 1 : 0, sparse ? 1 : 0)
        }

        var label: String {
            switch format {
            case "dense": return "dense (OpenBLAS)"
            case "csr": return "CSR"
            case "bsr": return "BSR \(rows)x\(cols)"
            case "mkl-dense": return "MKL dense"
            case "mkl-csr": return "MKL CSR"
            case "mkl-bsr": return "MKL BSR \(rows)x\(cols)"
            default: return "\(format) \(rows)x\(cols)"
            }
        }

        static func < (a: SeriesKey, b: SeriesKey) -> Bool {
            (ReportRenderer.formatRank(a.format), a.rows * a.cols, a.rows, a.format)
                < (ReportRenderer.formatRank(b.format), b.rows * b.cols, b.rows, b.format)
        }
    }

    /// Colour-blind-safe colours (Okabe-Ito first), then more distinct ones.
    static let blockPalette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#8C564B",
                               "#7F7F7F", "#B5A300", "#17BECF", "#9467BD", "#E377C2", "#2CA02C"]
    static let formatColors = ["dense": "#222222", "csr": "#E69F00", "bsr": "#0072B2",
                               "mkl-dense": "#8A8A8A", "mkl-csr": "#9C6B00", "mkl-bsr": "#56B4E9"]
    static let markers: [Marker] = [.circle, .square, .diamond, .triangle]

    /// A consistent style per series across every chart of one report.
    struct Styles {
        var styles: [SeriesKey: (color: String, marker: Marker, dash: String?)] = [:]

        init(_ keys: Set<SeriesKey>) {
            var i = 0
            for key in keys.sorted() {
                switch key.format {
                case "dense": styles[key] = ("#222222", .none, "7 4")
                case "csr": styles[key] = ("#E69F00", .triangle, "2 3")
                case "mkl-dense": styles[key] = ("#8A8A8A", .none, "3 3")
                case "mkl-csr": styles[key] = ("#9C6B00", .triangle, "6 3")
                case "mkl-bsr":
                    // MKL's BSR of a block shape: the colour of KernelBench's, dashed, hollow.
                    var own = key
                    own.format = "bsr"
                    if let s = styles[own] {
                        styles[key] = (s.color, .hollowCircle, "6 3")
                    } else {
                        styles[key] = (ReportRenderer.blockPalette[i % ReportRenderer.blockPalette.count], .hollowCircle, "6 3")
                        i += 1
                    }
                default:
                    styles[key] = (ReportRenderer.blockPalette[i % ReportRenderer.blockPalette.count],
                                   ReportRenderer.markers[i % ReportRenderer.markers.count], nil)
                    i += 1
                }
            }
        }

        func series(_ key: SeriesKey, _ points: [ChartSeries.Point]) -> ChartSeries {
            let s = styles[key] ?? ("#444", .circle, nil)
            return ChartSeries(label: key.label, color: s.color, points: points, dash: s.dash,
                               marker: key.format == "dense" ? .square : s.marker)
        }
    }

    static func threadsText(_ t: Int) -> String { "\(t) thread\(t == 1 ? "" : "s")" }

    // MARK: Chart builders

    /// Charts 1 and 2: per matrix source, N and thread count, useful GFLOP/s
    /// and speed-up over dense against sparsity, one line per block shape
    /// (best kernel at each sparsity).
    static func sparsityCharts(_ medians: [BenchmarkEntry], styles: Styles)
        -> (gflops: [Chart], speedup: [Chart]) {
        var gflops: [Chart] = [], speedup: [Chart] = []
        for (source, entries) in bySource(medians) {
            let settings = Set(entries.map { [$0.n, $0.threads] }).sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }
            for setting in settings {
                let (n, threads) = (setting[0], setting[1])
                let group = entries.filter { $0.n == n && $0.threads == threads && $0.sparsity.isFinite }
                var best: [SeriesKey: [Double: BenchmarkEntry]] = [:]
                var bestSpeedup: [SeriesKey: [Double: BenchmarkEntry]] = [:]
                for e in group {
                    let key = SeriesKey(e)
                    if best[key]?[e.sparsity].map({ $0.useful_gflops < e.useful_gflops }) ?? true {
                        best[key, default: [:]][e.sparsity] = e
                    }
                    if e.format != "dense", let s = e.speedup_vs_dense, s.isFinite,
                       bestSpeedup[key]?[e.sparsity].map({ ($0.speedup_vs_dense ?? 0) < s }) ?? true {
                        bestSpeedup[key, default: [:]][e.sparsity] = e
                    }
                }
                let title = "\(source) · N = \(n) · \(threadsText(threads))"
                func tip(_ e: BenchmarkEntry, _ value: String) -> String {
                    "\(SeriesKey(e).label) at \(Fmt.percent(e.sparsity)): \(value) (\(e.kernel))"
                }
                let g = best.keys.sorted().map { key in
                    styles.series(key, best[key]!.values.sorted { $0.sparsity < $1.sparsity }.map {
                        .init(x: $0.sparsity, y: $0.useful_gflops, tip: tip($0, Fmt.sig($0.useful_gflops) + " GFLOP/s"))
                    })
                }
                if g.contains(where: { !$0.points.isEmpty }) {
                    gflops.append(Chart(id: "", kind: "chart-gflops", title: title,
                                        subtitle: "Useful work only (nonzeros); best kernel per block shape",
                                        xLabel: "block sparsity", yLabel: "useful GFLOP/s", xTick: Fmt.percent,
                                        series: g, yInclude: [0]))
                }
                let s = bestSpeedup.keys.sorted().map { key in
                    styles.series(key, bestSpeedup[key]!.values.sorted { $0.sparsity < $1.sparsity }.map {
                        .init(x: $0.sparsity, y: $0.speedup_vs_dense!, tip: tip($0, Fmt.factor($0.speedup_vs_dense)))
                    })
                }
                let ys = s.flatMap(\.points).map(\.y).filter { $0 > 0 }
                if !ys.isEmpty {
                    // A wide range of speed-ups reads better on a log axis.
                    let wide = (ys.max()! / ys.min()!) > 30
                    speedup.append(Chart(id: "", kind: "chart-speedup", title: title,
                                         subtitle: "Above the line: faster than dense OpenBLAS; best kernel per block shape",
                                         xLabel: "block sparsity", yLabel: "speed-up over dense (×)",
                                         yScale: wide ? .log : .linear, xTick: Fmt.percent,
                                         series: s, references: [ReferenceLine(y: 1, label: "dense = 1×", color: "#333")],
                                         yInclude: wide ? [] : [0]))
                }
            }
        }
        return (gflops, speedup)
    }

    /// Per matrix source, N and thread count: the speed-up of KernelBench's
    /// formats over Intel MKL's on the same storage (`speedup_vs_mkl`)
    /// against sparsity, one line per block shape's BSR, plus CSR and dense
    /// OpenBLAS (on the unstructured matrix when there is one).
    static func mklCharts(_ medians: [BenchmarkEntry], styles: Styles) -> [Chart] {
        var charts: [Chart] = []
        for (source, entries) in bySource(medians) {
            let against = entries.filter {
                $0.speedup_vs_mkl.map { $0.isFinite && $0 > 0 } ?? false && $0.sparsity.isFinite
                    && SuiteConfig.variant(ofCase: $0.run_name, threads: $0.threads).isEmpty
            }
            let settings = Set(against.map { [$0.n, $0.threads] }).sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }
            for setting in settings {
                let group = against.filter { $0.n == setting[0] && $0.threads == setting[1] }
                // CSR and dense: one line each, on the least blocky matrix measured at each sparsity.
                var lines: [SeriesKey: [Double: BenchmarkEntry]] = [:]
                for e in group.sorted(by: { $0.block_rows * $0.block_cols > $1.block_rows * $1.block_cols }) {
                    lines[SeriesKey(e), default: [:]][e.sparsity] = e
                }
                let series = lines.keys.sorted().map { key in
                    styles.series(key, lines[key]!.values.sorted { $0.sparsity < $1.sparsity }.map { e in
                        let on = e.format == "bsr" ? "" : " (\(e.block_rows)x\(e.block_cols) matrix)"
                        return .init(x: e.sparsity, y: e.speedup_vs_mkl!,
                                     tip: "\(key.label)\(on) at \(Fmt.percent(e.sparsity)): \(Fmt.factor(e.speedup_vs_mkl)) vs MKL")
                    })
                }
                let ys = series.flatMap(\.points).map(\.y)
                guard !ys.isEmpty else { continue }
                let wide = (ys.max()! / ys.min()!) > 30
                charts.append(Chart(id: "", kind: "chart-mkl",
                                    title: "\(source) · N = \(setting[0]) · \(threadsText(setting[1]))",
                                    subtitle: "Above the line: KernelBench (dense: OpenBLAS) faster than MKL's same format",
                                    xLabel: "block sparsity", yLabel: "speed-up over Intel MKL (×)",
                                    yScale: wide ? .log : .linear, xTick: Fmt.percent, series: series,
                                    references: [ReferenceLine(y: 1, label: "MKL = 1×", color: "#333")],
                                    yInclude: wide ? [] : [0]))
            }
        }
        return charts
    }

    /// Per matrix source: the measured break-even sparsity against the block
    /// side (square root of the block's area; 1 = CSR on the unstructured
    /// matrix, log scale), one line per (N, threads). Only searches that
    /// crossed are drawn ("never" and "always" are in the table).
    static func breakEvenCharts(_ results: [BreakEvenResult]) -> [Chart] {
        breakEvenTables(results).compactMap { table in
            let series = table.columns.enumerated().map { (i, col) -> ChartSeries in
                let points = table.results.compactMap { $0[i] }.compactMap { r -> ChartSeries.Point? in
                    guard r.outcome == .crosses, let s = r.sparsity else { return nil }
                    let side = (Double(r.block_rows) * Double(r.block_cols)).squareRoot()
                    return .init(x: log2(side), y: s,
                                 tip: "\(r.subject), \(settingText(n: r.n, threads: r.threads)): \(r.cell) ±\(Fmt.percent(r.tolerance))")
                }.sorted { $0.x < $1.x }
                return ChartSeries(label: settingText(n: col.n, threads: col.threads),
                                   color: blockPalette[i % blockPalette.count], points: points,
                                   dash: col.threads > 1 ? "6 3" : nil, marker: markers[i % markers.count])
            }.filter { !$0.points.isEmpty }
            guard !series.isEmpty else { return nil }
            return Chart(id: "", kind: "chart-breakeven", title: "\(table.source) · break-even against block size",
                         subtitle: "Measured, ±2 points; below its line dense wins. Side 1: CSR, unstructured",
                         xLabel: "block side (b for b×b blocks)", yLabel: "break-even block sparsity",
                         xTick: { x in abs(x - x.rounded()) < 1e-9 ? "\(Int(pow(2, x.rounded())))" : "" },
                         yTick: Fmt.percent, series: series, yInclude: [0])
        }
    }

    /// Chart 3: per matrix source and N, the speed-up of the largest thread
    /// count over one thread (best kernel of each), against sparsity.
    static func scalingCharts(_ medians: [BenchmarkEntry], styles: Styles) -> [Chart] {
        var charts: [Chart] = []
        for (source, entries) in bySource(medians) {
            for n in Set(entries.map(\.n)).sorted() {
                let group = entries.filter { $0.n == n && $0.sparsity.isFinite }
                guard let maxT = group.map(\.threads).max(), maxT > 1, group.contains(where: { $0.threads == 1 }) else { continue }
                var fastest: [SeriesKey: [Double: [Int: Double]]] = [:]  // key -> sparsity -> threads -> seconds
                for e in group where e.threads == 1 || e.threads == maxT {
                    let t = seconds(e)
                    guard t > 0 else { continue }
                    let key = SeriesKey(e)
                    if let old = fastest[key]?[e.sparsity]?[e.threads], old <= t { continue }
                    fastest[key, default: [:]][e.sparsity, default: [:]][e.threads] = t
                }
                let series = fastest.keys.sorted().map { key in
                    styles.series(key, fastest[key]!.compactMap { (s, byT) -> ChartSeries.Point? in
                        guard let t1 = byT[1], let tm = byT[maxT] else { return nil }
                        return .init(x: s, y: t1 / tm, tip: "\(key.label) at \(Fmt.percent(s)): \(Fmt.factor(t1 / tm)) with \(maxT) threads")
                    }.sorted { $0.x < $1.x })
                }.filter { !$0.points.isEmpty }
                guard !series.isEmpty else { continue }
                charts.append(Chart(id: "", kind: "chart-scaling", title: "\(source) · N = \(n) · 1 → \(maxT) threads",
                                    subtitle: "Median time on 1 thread ÷ median time on \(maxT) (fastest kernel of each)",
                                    xLabel: "block sparsity", yLabel: "speed-up over 1 thread (×)", xTick: Fmt.percent,
                                    series: series,
                                    references: [ReferenceLine(y: 1, label: "no gain", color: "#333"),
                                                 ReferenceLine(y: Double(maxT), label: "ideal \(maxT)×", color: "#2a7d2a")],
                                    yInclude: [0]))
            }
        }
        return charts
    }

    /// Chart 4: a log-log roofline of every median entry: arithmetic
    /// intensity (useful FLOPs per byte moved = useful GFLOP/s ÷ GB/s)
    /// against useful GFLOP/s, with the measured FMA peaks and triad
    /// bandwidth as ceilings when the context has them.
    static func rooflineChart(_ medians: [BenchmarkEntry], peak: MachinePeak?) -> Chart? {
        struct Key: Hashable, Comparable {
            var format: String, multi: Bool
            static func < (a: Key, b: Key) -> Bool {
                (ReportRenderer.formatRank(a.format), a.format, a.multi ? 1 : 0) < (ReportRenderer.formatRank(b.format), b.format, b.multi ? 1 : 0)
            }
        }
        var groups: [Key: [ChartSeries.Point]] = [:]
        let maxThreads = medians.map(\.threads).max() ?? 1
        for e in medians where e.gbytes_per_second > 0 && e.useful_gflops > 0
            && e.gbytes_per_second.isFinite && e.useful_gflops.isFinite {
            let ai = e.useful_gflops / e.gbytes_per_second
            let tip = "\(e.matrix), \(e.format) \(blockLabel(e)) \(e.kernel), sparsity \(Fmt.percent(e.sparsity)), N = \(e.n), "
                + "\(threadsText(e.threads)): \(Fmt.sig(e.useful_gflops)) GFLOP/s at \(Fmt.sig(ai)) FLOP/B"
            groups[Key(format: e.format, multi: e.threads > 1), default: []].append(.init(x: ai, y: e.useful_gflops, tip: tip))
        }
        guard !groups.isEmpty else { return nil }
        var series: [ChartSeries] = groups.keys.sorted().map { key in
            let name = key.format == "dense" ? "dense" : key.format.uppercased()
            let threads = key.multi ? (maxThreads > 1 ? "\(maxThreads) threads" : "several threads") : "1 thread"
            return ChartSeries(label: "\(name), \(threads)", color: formatColors[key.format] ?? "#7F7F7F",
                               points: groups[key]!.sorted { $0.x < $1.x }, line: false,
                               marker: key.multi ? .square : .circle)
        }
        let xs = series.flatMap(\.points).map(\.x)
        var xInclude = [xs.min()! / 1.5, xs.max()! * 1.5]
        let ys = series.flatMap(\.points).map(\.y)
        var yInclude = [ys.min()! / 1.5, ys.max()! * 1.3]
        var subtitle = "x: useful FLOP per byte moved; y: useful GFLOP/s; ceilings: measured FMA peak and STREAM triad"
        if let p = peak, p.triadGBps > 0 {
            var roofs: [(peak: Double, label: String, dash: String)] = []
            if p.gflopsOneCore > 0 {
                roofs.append((p.gflopsOneCore, "roof: \(Fmt.sig(p.gflopsOneCore)) GFLOP/s (1 core), \(Fmt.sig(p.triadGBps)) GB/s", "3 3"))
            }
            if p.threads > 1 && p.gflopsAllCores > 0 && abs(p.gflopsAllCores - p.gflopsOneCore) > 1e-9 {
                roofs.append((p.gflopsAllCores, "roof: \(Fmt.sig(p.gflopsAllCores)) GFLOP/s (\(p.threads) threads)", "8 4"))
            }
            for r in roofs { xInclude.append(r.peak / p.triadGBps); yInclude.append(r.peak * 1.3) }
            // The ceilings run far past the data both ways; the plot area clips them.
            let lo = xInclude.min()! / 1000, hi = xInclude.max()! * 1000
            for r in roofs {
                let knee = r.peak / p.triadGBps
                series.append(ChartSeries(label: r.label, color: "#B22222",
                                          points: [.init(x: lo, y: p.triadGBps * lo, tip: ""), .init(x: knee, y: r.peak, tip: ""),
                                                   .init(x: hi, y: r.peak, tip: "")],
                                          dash: r.dash, marker: .none, lineWidth: 1.6, fitsAxes: false))
            }
        } else {
            subtitle = "x: useful FLOP per byte moved; y: useful GFLOP/s (no peak measured: ceilings omitted)"
        }
        return Chart(id: "", kind: "chart-roofline", title: "Roofline: every median result", subtitle: subtitle,
                     xLabel: "arithmetic intensity (useful FLOP / byte)", yLabel: "useful GFLOP/s",
                     xScale: .log, yScale: .log, series: series, xInclude: xInclude, yInclude: yInclude,
                     width: 1000, plotHeight: 420)
    }

    // MARK: HTML

    /// A self-contained HTML page (inline CSS and SVG; no scripts, fonts or
    /// network): machine summary, unverified results flagged at the top,
    /// break-even sentences, charts, and the result tables.
    public static func html(_ r: BenchmarkReport) -> String {
        let medians = medianEntries(r)
        let measured = unit(r)
        let styles = Styles(Set(medians.map(SeriesKey.init)))
        let e = escapeXML
        var chartIndex = 0
        func render(_ c: Chart) -> String {
            chartIndex += 1
            var c = c
            c.id = "chart\(chartIndex)"
            return c.svg()
        }

        var o = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>KernelBench report: \(e(r.context.cpu_model))</title>
            <style>
            :root { color-scheme: light; }
            body { margin: 0; background: #f6f7f9; color: #1d1f23; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
            main { max-width: 1320px; margin: 0 auto; padding: 24px 28px 64px; }
            h1 { font-size: 28px; margin: 8px 0 4px; }
            h2 { font-size: 21px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #d9dde3; }
            h3 { font-size: 17px; margin: 22px 0 8px; }
            p.lead { color: #4a4f57; margin-top: 0; }
            .note { color: #555b63; font-size: 14px; }
            .alert { background: #fde8e8; border: 2px solid #c62828; color: #7f1010; border-radius: 6px; padding: 12px 16px; margin: 16px 0; }
            .alert strong { font-size: 16px; }
            .warn { background: #fff6dd; border: 1px solid #d8a800; border-radius: 6px; padding: 8px 14px; margin: 10px 0; }
            table { border-collapse: collapse; background: #fff; font-size: 13.5px; }
            th, td { padding: 4px 8px; border-bottom: 1px solid #e6e8ec; text-align: left; vertical-align: top; }
            th { background: #eef1f5; position: sticky; top: 0; font-size: 12.5px; line-height: 1.25; vertical-align: bottom; }
            tr.group td { border-top: 2px solid #c3c8d0; }
            td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
            td.num { white-space: nowrap; }
            table.results th.num { max-width: 80px; }
            tbody tr:nth-child(even) { background: #fafbfc; }
            tr.fail, tr.fail:nth-child(even) { background: #fde2e2; }
            tr.fail td.verified { color: #b00020; font-weight: 700; }
            table.kv th { position: static; width: 180px; vertical-align: top; font-size: 13.5px; }
            code { font: 12.5px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
            .scroll { overflow-x: auto; max-width: 100%; }
            .charts { display: flex; flex-wrap: wrap; gap: 18px; }
            svg.chart { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; max-width: 100%; height: auto; }
            ul.breakeven { margin: 4px 0 10px; padding-left: 22px; }
            .setting { font-weight: 600; margin: 0; }
            .be-grid { display: flex; flex-wrap: wrap; gap: 10px 28px; }
            .be-grid > div { min-width: 300px; }
            table.breakeven td.fail { background: #fde2e2; color: #b00020; font-weight: 700; }
            </style>
            </head>
            <body>
            <main>
            <h1>KernelBench report</h1>
            <p class="lead">BSR block-sparse × dense fp32 matrix multiplication against CSR and dense OpenBLAS on \
            \(e(r.context.cpu_model)) · \(e(r.context.date)) · revision <code>\(e(r.context.git_revision))</code>. \
            \(e(figuresSentence(measured)))</p>

            """

        let bad = unverified(r)
        if !bad.isEmpty {
            o += "<div class=\"alert\" role=\"alert\"><strong>⚠ \(bad.count) result\(bad.count == 1 ? "" : "s") FAILED verification "
            o += "against the reference.</strong> Their timings are of a wrong answer and must not be used:<ul>\n"
            for b in bad { o += "<li>\(e(describe(b).replacingOccurrences(of: "`", with: "")))</li>\n" }
            o += "</ul></div>\n"
        }
        for w in contextWarnings(r.context) + disturbedWarnings(r) { o += "<p class=\"warn\">\(e(w))</p>\n" }

        o += "<h2>Machine</h2>\n<table class=\"kv\"><tbody>\n"
        for (k, v) in contextRows(r.context) { o += "<tr><th>\(e(k))</th><td>\(e(v))</td></tr>\n" }
        o += "</tbody></table>\n"

        o += "<h2>Break-even sparsity</h2>\n"
        let evens = breakEvens(r)
        if let measuredEvens = r.break_even, !measuredEvens.isEmpty {
            o += "<p class=\"note\">\(e(breakEvenIntro(measuredEvens)))</p>\n"
            for t in breakEvenTables(measuredEvens) {
                o += "<h3>\(e(t.source)) (\(t.m) × \(t.k))</h3>\n<div class=\"scroll\"><table class=\"breakeven\"><thead><tr><th>format</th>"
                for c in t.columns { o += "<th class=\"num\">\(e(settingText(n: c.n, threads: c.threads)))</th>" }
                o += "</tr></thead>\n<tbody>\n"
                for (row, results) in zip(t.rows, t.results) {
                    o += "<tr><td>\(e(row.subject))</td>"
                    for (cell, result) in zip(row.cells, results) {
                        let tip = result.map { r in
                            "dense \(r.dense_kernel) \(Fmt.time(r.dense_seconds)); probes: "
                                + r.points.map { "\(Fmt.percent($0.sparsity)) \(Fmt.factor($0.speedup_vs_dense))" }.joined(separator: ", ")
                        } ?? ""
                        let bad = result.map { $0.outcome == .unverified } ?? false
                        o += "<td class=\"num\(bad ? " fail" : "")\" title=\"\(e(tip))\">\(e(cell))</td>"
                    }
                    o += "</tr>\n"
                }
                o += "</tbody></table></div>\n"
            }
            let charts = breakEvenCharts(measuredEvens)
            if !charts.isEmpty {
                o += "<div class=\"charts\">\n"
                for c in charts { o += render(c) }
                o += "</div>\n"
            }
        } else if evens.isEmpty {
            o += "<p class=\"note\">No speed-ups over dense in this report.</p>\n"
        } else {
            o += "<p class=\"note\">No break-even search in this run (run --break-even): the sparsity from which each format "
            o += "beats dense OpenBLAS, linearly interpolated between the grid's sparsities (best kernel per block shape at each "
            o += "point); \"at every measured sparsity\" is a bound, not a break-even.</p>\n"
            var lastSource: String?, lastSetting: String?
            for b in evens {
                if b.source != lastSource {
                    if lastSource != nil { o += "</ul></div></div>\n" }
                    o += "<h3>\(e(b.source))</h3>\n<div class=\"be-grid\">\n"
                    lastSource = b.source; lastSetting = nil
                }
                let setting = "N = \(b.n), \(threadsText(b.threads))"
                if setting != lastSetting {
                    if lastSetting != nil { o += "</ul></div>\n" }
                    o += "<div><p class=\"setting\">\(e(setting))</p><ul class=\"breakeven\">\n"
                    lastSetting = setting
                }
                o += "<li>\(e(b.sentence)).</li>\n"
            }
            o += "</ul></div></div>\n"
        }

        let (gflops, speedup) = sparsityCharts(medians, styles: styles)
        func section(_ title: String, _ intro: String, _ charts: [Chart], missing: String) {
            o += "<h2>\(e(title))</h2>\n<p class=\"note\">\(e(intro))</p>\n"
            if charts.isEmpty { o += "<p class=\"note\"><em>No chart: \(e(missing))</em></p>\n"; return }
            o += "<div class=\"charts\">\n"
            for c in charts { o += render(c) }
            o += "</div>\n"
        }
        section("Useful GFLOP/s against sparsity",
                "Useful floating-point work (2 × nonzeros × N) per second: padding zeros inside blocks do not count. "
                    + "One chart per matrix source, N and thread count; hover a point for its kernel.",
                gflops, missing: "no median results with a sparsity.")
        section("Speed-up over dense against sparsity",
                "Median dense OpenBLAS time ÷ median sparse time for the same matrix; above the 1× line the sparse format wins.",
                speedup, missing: "no result has a speed-up over dense (no dense baseline was measured).")
        section("Thread scaling",
                "How much faster the largest thread count runs than one thread, per format and block shape.",
                measured == .instructions ? [] : scalingCharts(medians, styles: styles),
                missing: measured == .instructions ? "instruction counts, not times."
                    : "no matrix and N was measured both on one thread and on several.")
        section("Roofline",
                "Each point is one median result. Points under the sloped roof are limited by memory bandwidth, "
                    + "under the flat roof by arithmetic throughput.",
                rooflineChart(medians, peak: r.context.peak).map { [$0] } ?? [],
                missing: "no result reports both GFLOP/s and bytes per second.")

        let hasMKL = medians.contains { $0.peer_library != nil || $0.speedup_vs_mkl != nil }
        if hasMKL {
            section("Against Intel MKL", mklIntro, mklCharts(medians, styles: styles),
                    missing: "no KernelBench case has an MKL case of the same format, matrix, N and threads.")
            for t in mklTables(medians) {
                o += "<h3>\(e(t.title))</h3>\n<div class=\"scroll\"><table><thead><tr>"
                o += t.header.enumerated().map { "<th\($0.offset == 0 ? "" : " class=\"num\"")>\(e($0.element))</th>" }.joined()
                o += "</tr></thead><tbody>\n"
                for row in t.rows {
                    o += "<tr>" + row.enumerated().map { "<td\($0.offset == 0 ? "" : " class=\"num\"")>\(e($0.element))</td>" }.joined()
                    o += "</tr>\n"
                }
                o += "</tbody></table></div>\n"
            }
            let setups = peerSetupRows(medians)
            if !setups.isEmpty {
                o += "<h3>Set-up of the MKL cases</h3>\n<p class=\"note\">Outside the timed region: creating the handle, "
                o += "the hint and mkl_sparse_optimize (\(e(peerLibraries(medians)))).</p>\n"
                o += "<div class=\"scroll\"><table><thead><tr><th>case</th><th>kernel</th><th class=\"num\">set-up</th>"
                o += "<th>hint and optimisation</th></tr></thead><tbody>\n"
                for row in setups {
                    o += "<tr><td>\(e(row[0]))</td><td><code>\(e(row[1]))</code></td><td class=\"num\">\(e(row[2]))</td>"
                    o += "<td>\(e(row[3]))</td></tr>\n"
                }
                o += "</tbody></table></div>\n"
            }
        }

        o += "<h2>Results</h2>\n"
        if medians.isEmpty { o += "<p class=\"note\">No results in this file.</p>\n" }
        for (source, entries) in bySource(medians) {
            o += "<h3>\(e(source))</h3>\n"
            if let first = entries.first {
                o += "<p class=\"note\">A is \(first.m) × \(first.k) (\(e(first.distribution)) distribution).</p>\n"
            }
            o += "<p class=\"note\">\(e(matrixBlocksNote.replacingOccurrences(of: "*", with: "")))</p>\n"
            o += "<div class=\"scroll\"><table class=\"results\"><thead><tr>"
            o += "<th>format</th><th>kernel</th><th>matrix blocks</th><th class=\"num\">sparsity</th><th class=\"num\">N</th>"
            o += "<th class=\"num\">threads</th><th>partition</th><th class=\"num\">\(medianHeading(measured))</th><th class=\"num\">useful GFLOP/s</th>"
            o += "<th class=\"num\">effective GFLOP/s</th><th class=\"num\">% of peak</th><th class=\"num\">speedup vs dense</th>"
            o += "<th class=\"num\">speedup vs CSR</th>" + (hasMKL ? "<th class=\"num\">vs MKL</th>" : "")
            o += "<th>verified</th></tr></thead>\n<tbody>\n"
            var previous: BenchmarkEntry?
            for x in entries {
                // A rule between settings (N, threads, sparsity) makes each comparison block visible.
                let group = previous.map { $0.n != x.n || $0.threads != x.threads || $0.sparsity != x.sparsity } ?? false
                previous = x
                let classes = (group ? ["group"] : []) + (x.verified ? [] : ["fail"])
                o += classes.isEmpty ? "<tr>" : "<tr class=\"\(classes.joined(separator: " "))\">"
                o += "<td>\(e(x.format))</td><td><code>\(e(x.kernel))</code></td><td>\(e(matrixBlocks(x)))</td>"
                o += "<td class=\"num\">\(e(sparsityText(x)))</td><td class=\"num\">\(x.n)</td><td class=\"num\">\(x.threads)</td>"
                o += "<td>\(e(x.partition))</td>"
                o += "<td class=\"num\">\(e(measure(seconds(x), measured)))</td><td class=\"num\">\(Fmt.sig(x.useful_gflops))</td>"
                o += "<td class=\"num\">\(Fmt.sig(x.effective_gflops))</td>"
                o += "<td class=\"num\">\(x.percent_of_peak.map { String(format: "%.1f%%", $0) } ?? "–")</td>"
                o += "<td class=\"num\">\(Fmt.factor(x.speedup_vs_dense))</td><td class=\"num\">\(Fmt.factor(x.speedup_vs_csr))</td>"
                if hasMKL { o += "<td class=\"num\">\(Fmt.factor(x.speedup_vs_mkl))</td>" }
                o += "<td class=\"verified\">\(x.verified ? "yes" : "NO ⚠")</td></tr>\n"
            }
            o += "</tbody></table></div>\n"
        }
        let scaling = scalingRows(medians)
        if !scaling.isEmpty {
            o += "<h2>Thread scaling, taken apart</h2>\n<p class=\"note\">\(e(scalingIntro))</p>\n"
            o += "<div class=\"scroll\"><table><thead><tr>"
            o += scalingHeader.enumerated().map { "<th\($0.offset == 0 ? "" : " class=\"num\"")>\(e($0.element))</th>" }.joined()
            o += "</tr></thead><tbody>\n"
            for row in scaling {
                o += "<tr>" + row.enumerated().map { "<td\($0.offset == 0 ? "" : " class=\"num\"")>\(e($0.element))</td>" }.joined()
                o += "</tr>\n"
            }
            o += "</tbody></table></div>\n"
        }
        o += "</main>\n</body>\n</html>\n"
        return o
    }
}
