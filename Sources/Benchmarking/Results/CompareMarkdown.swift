import Foundation
import BlockSparse

// The Markdown report of a comparison (`kernelbench compare --report`).

extension Comparison {
    /// The full report: summary, table, errors and unmatched cases, machine context.
    public func markdown() -> String {
        [summaryMarkdown(), tableMarkdown(), unmatchedMarkdown(), contextMarkdown()]
            .filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// Verdict counts, the geometric mean, the worst regressions and the warnings.
    public func summaryMarkdown(worst: Int = 5) -> String {
        var lines: [String] = []
        lines.append("# Performance comparison")
        lines.append("")
        lines.append("- Base: `\(base.source)` (\(base.kind.rawValue), \(base.cases.count) cases\(revision(base)))")
        lines.append("- New: `\(new.source)` (\(new.kind.rawValue), \(new.cases.count) cases\(revision(new)))")
        if options.deterministic {
            lines.append("- Method: deterministic \(new.unit == .instructions ? "instruction counts" : "medians"), "
                + "threshold \(percent(options.threshold))")
        } else {
            lines.append("- Method: medians, two-sided Mann–Whitney U test; a regression needs p < \(options.alpha) "
                + "and a change above \(percent(options.minEffect))")
        }
        lines.append("")
        lines.append("## Summary")
        lines.append("")
        if let failure {
            let what = newFailures.isEmpty && !onlyInBase.isEmpty && options.failOnMissing ? "Missing" : "Failed"
            lines.append("**FAILED: \(failure).** \(what) cases cannot pass the gate, whatever the timings of the others.")
            lines.append("")
        }
        let regressions = count(.regression)
        let headline = regressions == 0 ? "**No regression**" : "**\(regressions) regression\(regressions == 1 ? "" : "s")**"
        var counts = "\(headline) in \(cases.count) compared case\(cases.count == 1 ? "" : "s"): "
            + "\(count(.improvement)) improved, \(count(.unchanged)) unchanged, \(count(.noisy)) noisy"
        if !errors.isEmpty { counts += "; \(errors.count) with errors (not compared)" }
        if !onlyInBase.isEmpty || !onlyInNew.isEmpty {
            counts += "; \(onlyInBase.count) only in base, \(onlyInNew.count) only in new"
        }
        lines.append(counts + ".")
        if let g = geometricMean {
            lines.append("")
            lines.append("Geometric mean of NEW/BASE medians: \(String(format: "%.4f", g)) (\(signedPercent(g - 1))).")
        }
        let critical = criticalDifferences
        if !critical.isEmpty {
            lines.append("")
            lines.append("> **WARNING: the two runs differ in \(critical.map(\.key).joined(separator: ", ")).** "
                + "Numbers from different CPUs, build configurations or compilers are not comparable; "
                + "see the machine context below.")
        }
        for w in warnings {
            lines.append("")
            lines.append("> Note: \(w)")
        }
        let worstCases = cases.filter { $0.verdict == .regression }.sorted { $0.ratio > $1.ratio }.prefix(worst)
        if !worstCases.isEmpty {
            lines.append("")
            lines.append("Worst regressions:")
            lines.append("")
            lines.append("| case | base | new | change | p-value |")
            lines.append("|---|---:|---:|---:|---:|")
            for c in worstCases {
                lines.append("| `\(c.name)` | \(format(c.baseMedian)) | \(format(c.newMedian)) | "
                    + "\(signedPercent(c.change)) | \(c.pValue.map(formatP) ?? "–") |")
            }
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// Every compared case.
    public func tableMarkdown() -> String {
        var lines = ["## Cases", ""]
        if cases.isEmpty {
            lines.append("No case could be compared.")
        } else {
            lines.append("| case | base median | new median | change | ratio | p-value | reps (base/new) | verdict |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|---|")
            for c in cases {
                let reps = "\(c.baseSamples.count)/\(c.newSamples.count)"
                var verdict = c.verdict == .regression ? "**regression**" : c.verdict.rawValue
                if let note = c.note { verdict += " (\(note))" }
                lines.append("| `\(c.name)` | \(format(c.baseMedian)) | \(format(c.newMedian)) | \(signedPercent(c.change)) | "
                    + "\(String(format: "%.4f", c.ratio)) | \(c.pValue.map(formatP) ?? "–") | \(reps) | \(verdict) |")
            }
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    func unmatchedMarkdown() -> String {
        guard !errors.isEmpty || !onlyInBase.isEmpty || !onlyInNew.isEmpty else { return "" }
        var lines = ["## Not compared", ""]
        for e in errors { lines.append("- `\(e.name)`: error (\(e.message))") }
        for name in onlyInBase { lines.append("- `\(name)`: only in base") }
        for name in onlyInNew { lines.append("- `\(name)`: only in new") }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// The context keys present on both sides that differ.
    public func contextMarkdown() -> String {
        var lines = ["## Machine context", ""]
        if contextDifferences.isEmpty {
            lines.append("The \(contextAgreeing) context keys present in both files agree"
                + " (date and load average are not compared).")
        } else {
            if !criticalDifferences.isEmpty {
                lines.append("**WARNING: CPU, build configuration or compiler differ between the runs; "
                    + "a difference in timings may come from the machine or the build, not the code.**")
                lines.append("")
            }
            lines.append("| key | base | new |")
            lines.append("|---|---|---|")
            for d in contextDifferences {
                let key = d.critical ? "**\(d.key)**" : d.key
                lines.append("| \(key) | \(cell(d.base)) | \(cell(d.new)) |")
            }
            lines.append("")
            lines.append("\(contextAgreeing) other shared keys agree; keys present on one side only are not compared.")
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    func revision(_ file: ResultFile) -> String {
        file.context["git_revision"].map { ", revision \($0)" } ?? ""
    }

    func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    func format(_ value: Double) -> String {
        if base.unit == .instructions {
            return Comparison.groupedInteger(value)
        }
        let a = abs(value)
        if a >= 1 { return String(format: "%.3f s", value) }
        if a >= 1e-3 { return String(format: "%.3f ms", value * 1e3) }
        if a >= 1e-6 { return String(format: "%.3f us", value * 1e6) }
        return String(format: "%.1f ns", value * 1e9)
    }

    static func groupedInteger(_ value: Double) -> String {
        let digits = String(Int64(value.rounded()))
        var out = ""
        for (i, ch) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && ch != "-" { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }

    func percent(_ fraction: Double) -> String {
        let p = fraction * 100
        return p == p.rounded() && abs(p) < 1e15 ? "\(Int(p))%" : String(format: "%g%%", p)
    }

    func signedPercent(_ fraction: Double) -> String {
        abs(fraction) < 0.00005 ? "+0.00%" : String(format: "%+.2f%%", fraction * 100)
    }

    func formatP(_ p: Double) -> String { p < 1e-4 ? String(format: "%.1e", p) : String(format: "%.4f", p) }
}
