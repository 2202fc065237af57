import Foundation

// The summary `kernelbench run` prints when a run ends: plain text for a
// terminal, beside the Markdown, HTML and CSV renderers.

extension ReportRenderer {
    /// Per matrix, N and thread count: speedup over dense (useful GFLOP/s) by
    /// block size x sparsity, then the break-even sentences.
    public static func terminalSummary(_ report: BenchmarkReport) -> String {
        struct GroupKey: Hashable { let matrix: String; let n: Int; let threads: Int }
        struct BlockKey: Hashable { let rows: Int; let cols: Int }
        let medians = report.aggregates("median").filter { $0.error_occurred != true && $0.format != "dense" }
        var order: [GroupKey] = []
        var byGroup: [GroupKey: [BenchmarkEntry]] = [:]
        for e in medians {
            let key = GroupKey(matrix: e.matrix, n: e.n, threads: e.threads)
            if byGroup[key] == nil { order.append(key) }
            byGroup[key, default: []].append(e)
        }
        var lines: [String] = []
        for key in order {
            let rows = byGroup[key]!
            let sparsities = Set(rows.map(\.sparsity)).sorted()
            let blocks = Set(rows.map { BlockKey(rows: $0.block_rows, cols: $0.block_cols) })
                .sorted { ($0.rows * $0.cols, $0.rows) < ($1.rows * $1.cols, $1.rows) }
            lines.append("")
            // A file's rows share its sparsity (or pruning target): one column, each
            // block shape's achieved sparsity (explicit zeros of its blocks counted) beside its row.
            let fileInput = rows.contains { $0.distribution == "file" }
            lines.append("\(key.matrix)  N=\(key.n)  threads=\(key.threads): speedup over dense OpenBLAS (useful GFLOP/s)")
            var header = "  block     "
            for s in sparsities { header += (SuiteConfig.percentLabel(s) + "%").leftPadded(to: 16) }
            if fileInput { header += "   achieved" }
            lines.append(header)
            for block in blocks {
                // A block size's row is its BSR; block 1 is CSR on the unstructured matrix. Without
                // BSR cases (--formats csr,dense) the row is CSR on that block size's matrix.
                func has(_ format: String) -> Bool {
                    rows.contains { $0.block_rows == block.rows && $0.block_cols == block.cols && $0.format == format }
                }
                let unstructured = block.rows * block.cols == 1
                let format = !unstructured && has("bsr") ? "bsr" : "csr"
                guard has(format) else { continue }
                let label = (format == "csr" && !unstructured ? "csr " : "") + "\(block.rows)x\(block.cols)"
                var line = "  " + label.padding(toLength: 10, withPad: " ", startingAt: 0)
                var achieved: [String] = []
                for s in sparsities {
                    // With several partition strategies, the best of them (as the break-evens).
                    let match = rows.filter { $0.block_rows == block.rows && $0.block_cols == block.cols && $0.sparsity == s && $0.format == format }
                        .max { ($0.speedup_vs_dense ?? 0) < ($1.speedup_vs_dense ?? 0) }
                    guard let e = match else {
                        line += String(repeating: " ", count: 16)
                        continue
                    }
                    let speedup = e.speedup_vs_dense.map { String(format: "%.2fx", $0) } ?? "-"
                    line += speedup.leftPadded(to: 8) + String(format: " (%5.1f)", e.useful_gflops)
                    achieved.append(SuiteConfig.percentLabel(e.achieved_sparsity) + "%")
                }
                if fileInput { line += "   " + achieved.joined(separator: " / ") }
                lines.append(line)
            }
        }
        let againstMKL = report.aggregates("median").filter { $0.error_occurred != true && $0.speedup_vs_mkl != nil }
        if !againstMKL.isEmpty {
            lines.append("")
            lines.append("Against Intel MKL (median MKL time / KernelBench time, same matrix, storage and threads; "
                         + "bsr vs mkl-bsr, csr vs mkl-csr, dense OpenBLAS vs mkl-dense):")
            for e in againstMKL {
                lines.append("  " + e.run_name.padding(toLength: 52, withPad: " ", startingAt: 0)
                             + String(format: "%6.2fx", e.speedup_vs_mkl!))
            }
        }
        if let measuredEvens = report.break_even, !measuredEvens.isEmpty {
            lines.append("")
            lines.append("Break-even block sparsity against dense (sgemv at N=1, sgemm otherwise), measured to +-2 points:")
            for t in breakEvenTables(measuredEvens) {
                let width = 16
                lines.append("  \(t.source)")
                lines.append("    " + "format".padding(toLength: 10, withPad: " ", startingAt: 0)
                             + t.columns.map { "N=\($0.n) t=\($0.threads)".leftPadded(to: width) }.joined())
                for row in t.rows {
                    lines.append("    " + row.subject.padding(toLength: 10, withPad: " ", startingAt: 0)
                                 + row.cells.map { $0.leftPadded(to: width) }.joined())
                }
            }
            return lines.joined(separator: "\n")
        }
        let breakEvens = breakEvens(report)
        if !breakEvens.isEmpty {
            lines.append("")
            lines.append("Break-even against dense on this machine (interpolated between the measured sparsities; run --break-even to measure it):")
            var lastSetting = ""
            for b in breakEvens {
                if b.setting != lastSetting {
                    lines.append("  \(b.setting):")
                    lastSetting = b.setting
                }
                lines.append("    " + b.sentence)
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    /// The string right-aligned in `width` columns (as is when longer).
    public func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
