import Foundation
import BlockSparse

// The Markdown report of a run (`.md` beside every result file).

extension ReportRenderer {
    /// A Markdown report: machine summary, break-even sentences and one
    /// table per matrix source. Unverified results are flagged at the top.
    public static func markdown(_ r: BenchmarkReport) -> String {
        let medians = medianEntries(r)
        var o = "# KernelBench report\n\n"
        o += "BSR block-sparse × dense fp32 matrix multiplication against CSR and dense OpenBLAS. "
        let measured = unit(r)
        o += figuresSentence(measured) + "\n\n"

        let bad = unverified(r)
        if !bad.isEmpty {
            o += "> **⚠️ WARNING: \(bad.count) result\(bad.count == 1 ? "" : "s") FAILED verification against the reference. "
            o += "Their timings are of a wrong answer and must not be used:**\n>\n"
            for e in bad { o += "> - \(mdEscape(describe(e)))\n" }
            o += "\n"
        }
        for w in contextWarnings(r.context) + disturbedWarnings(r) { o += "> **Note:** \(mdEscape(w))\n\n" }
        let retimed = medians.compactMap(\.retimed_rounds).filter { $0 > 0 }
        if let most = retimed.max() {
            o += "> **Note:** the quiet check (a load probe of every core a case uses, around every timed repetition) failed around "
                + "repetitions of \(retimed.count) case\(retimed.count == 1 ? "" : "s") (up to \(most) each): "
                + "another workload shared a core they ran on, and those repetitions were dropped and timed again "
                + "(`retimed_rounds` in the JSON).\n\n"
        }

        o += "## Machine\n\n| | |\n|---|---|\n"
        for (k, v) in contextRows(r.context) { o += "| \(k) | \(mdEscape(v)) |\n" }
        o += "\n"

        o += "## Break-even sparsity\n\n"
        let evens = breakEvens(r)
        if let measuredEvens = r.break_even, !measuredEvens.isEmpty {
            o += breakEvenIntro(measuredEvens) + "\n\n"
            for t in breakEvenTables(measuredEvens) {
                o += "### \(mdEscape(t.source)) (\(t.m) × \(t.k))\n\n"
                o += "| format | " + t.columns.map { settingText(n: $0.n, threads: $0.threads) }.joined(separator: " | ") + " |\n"
                o += "|---|" + String(repeating: "---:|", count: t.columns.count) + "\n"
                for row in t.rows { o += "| " + ([row.subject] + row.cells).map(mdCell).joined(separator: " | ") + " |\n" }
                o += "\n"
            }
        } else if evens.isEmpty {
            o += "No speed-ups over dense in this report.\n\n"
        } else {
            o += "No break-even search in this run (`run --break-even`): the sparsity from which each format beats dense "
            o += "OpenBLAS, linearly interpolated between the grid's sparsities (best kernel per block shape at each point); "
            o += "\"at every measured sparsity\" is a bound, not a break-even.\n\n"
            var lastSource: String?, lastSetting: String?
            for b in evens {
                if b.source != lastSource {
                    o += (lastSource == nil ? "" : "\n") + "### \(mdEscape(b.source))\n\n"
                    lastSource = b.source; lastSetting = nil
                }
                let setting = "N = \(b.n), \(b.threads) thread\(b.threads == 1 ? "" : "s")"
                if setting != lastSetting { o += (lastSetting == nil ? "" : "\n") + "**\(setting)**\n\n"; lastSetting = setting }
                o += "- \(mdEscape(b.sentence)).\n"
            }
            o += "\n"
        }

        let hasMKL = medians.contains { $0.peer_library != nil || $0.speedup_vs_mkl != nil }
        if hasMKL {
            o += "## Against Intel MKL\n\n\(mklIntro)\n\n"
            let tables = mklTables(medians)
            for t in tables {
                o += "### \(mdEscape(t.title))\n\n"
                o += "| " + t.header.joined(separator: " | ") + " |\n"
                o += "|---|" + String(repeating: "---:|", count: t.header.count - 1) + "\n"
                for row in t.rows { o += "| " + row.map(mdCell).joined(separator: " | ") + " |\n" }
                o += "\n"
            }
            let setups = peerSetupRows(medians)
            if !setups.isEmpty {
                o += "Set-up of the MKL cases, outside the timed region (\(mdEscape(peerLibraries(medians)))):\n\n"
                o += "| case | kernel | set-up | hint and optimisation |\n|---|---|---:|---|\n"
                for row in setups { o += "| " + row.map(mdCell).joined(separator: " | ") + " |\n" }
                o += "\n"
            }
        }

        o += "## Results\n\n"
        if medians.isEmpty { o += "No results in this file.\n" }
        for (source, entries) in bySource(medians) {
            o += "### \(mdEscape(source))\n\n"
            if let e = entries.first { o += "A is \(e.m) × \(e.k) (\(mdEscape(e.distribution)) distribution).\n\n" }
            o += "\(matrixBlocksNote)\n\n"
            o += "| format | kernel | matrix blocks | sparsity | N | threads | partition | \(medianHeading(measured)) | useful GFLOP/s | effective GFLOP/s | % of peak | speedup vs dense | speedup vs CSR |"
                + (hasMKL ? " vs MKL |" : "") + " verified |\n"
            o += "|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|" + (hasMKL ? "---:|" : "") + "---|\n"
            for e in entries {
                let cells = [
                    e.format, "`" + e.kernel.replacingOccurrences(of: "`", with: "'") + "`", matrixBlocks(e),
                    sparsityText(e), "\(e.n)", "\(e.threads)", e.partition, measure(seconds(e), measured),
                    Fmt.sig(e.useful_gflops), Fmt.sig(e.effective_gflops),
                    e.percent_of_peak.map { String(format: "%.1f%%", $0) } ?? "–",
                    Fmt.factor(e.speedup_vs_dense), Fmt.factor(e.speedup_vs_csr),
                ] + (hasMKL ? [Fmt.factor(e.speedup_vs_mkl)] : []) + [
                    e.verified ? "yes" : "**NO ⚠️**",
                ]
                o += "| " + cells.map(mdCell).joined(separator: " | ") + " |\n"
            }
            o += "\n"
        }
        let scaling = scalingRows(medians)
        if !scaling.isEmpty {
            o += "## Thread scaling, taken apart\n\n\(scalingIntro)\n\n"
            o += "| " + scalingHeader.joined(separator: " | ") + " |\n"
            o += "|---|" + String(repeating: "---:|", count: scalingHeader.count - 1) + "\n"
            for row in scaling { o += "| " + row.map(mdCell).joined(separator: " | ") + " |\n" }
            o += "\n"
        }
        return o
    }

    /// What the "vs MKL" figures are (Markdown and HTML).
    static let mklIntro = "Median time of Intel MKL's routine on the same matrix, storage and threads ÷ median time of "
        + "KernelBench's: BSR against MKL's BSR (mkl_sparse_s_mm, mkl_sparse_s_mv at N = 1), CSR against MKL's CSR, "
        + "dense OpenBLAS against MKL's cblas_sgemm / cblas_sgemv. Above 1×, KernelBench (or OpenBLAS) is faster. "
        + "Every MKL case was verified against the reference first and timed in the same interleaved rounds on one "
        + "thread; MKL's threaded cases are timed on their own, like threaded dense."

    /// One "vs MKL" table per matrix source, N and thread count: a row per
    /// block size of the matrix, a column per sparsity, each cell BSR's
    /// (or CSR's on the unstructured matrix) speed-up over MKL's same format;
    /// then CSR's and dense's.
    static func mklTables(_ medians: [BenchmarkEntry]) -> [(title: String, header: [String], rows: [[String]])] {
        var tables: [(title: String, header: [String], rows: [[String]])] = []
        for (source, entries) in bySource(medians) {
            let against = entries.filter { $0.speedup_vs_mkl != nil && SuiteConfig.variant(ofCase: $0.run_name, threads: $0.threads).isEmpty }
            let settings = Set(against.map { [$0.n, $0.threads] }).sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }
            for setting in settings {
                let group = against.filter { $0.n == setting[0] && $0.threads == setting[1] }
                let sparsities = Set(group.map(\.sparsity)).sorted()
                struct Row: Hashable { var format: String; var br: Int; var bc: Int }
                let rows = Set(group.map { Row(format: $0.format, br: $0.block_rows, bc: $0.block_cols) }).sorted {
                    (formatRank($0.format) == 2 ? 0 : formatRank($0.format) == 1 ? 1 : 2, $0.br * $0.bc, $0.br)
                        < (formatRank($1.format) == 2 ? 0 : formatRank($1.format) == 1 ? 1 : 2, $1.br * $1.bc, $1.br)
                }
                var out: [[String]] = []
                for row in rows {
                    let label = row.format == "bsr" ? "BSR \(row.br)x\(row.bc) vs mkl-bsr"
                        : row.format == "csr" ? "CSR on \(row.br)x\(row.bc) vs mkl-csr" : "dense OpenBLAS on \(row.br)x\(row.bc) vs mkl-dense"
                    out.append([label] + sparsities.map { s in
                        group.first { $0.format == row.format && $0.block_rows == row.br && $0.block_cols == row.bc
                            && $0.sparsity == s }.map { Fmt.factor($0.speedup_vs_mkl) } ?? "–"
                    })
                }
                tables.append(("\(source) · N = \(setting[0]) · \(setting[1]) thread\(setting[1] == 1 ? "" : "s")",
                               ["KernelBench vs MKL"] + sparsities.map(Fmt.percent), out))
            }
        }
        return tables
    }

    /// The libraries of a report's peer cases.
    static func peerLibraries(_ medians: [BenchmarkEntry]) -> String {
        var seen: [String] = []
        for e in medians { if let l = e.peer_library, !seen.contains(l) { seen.append(l) } }
        return seen.isEmpty ? "library not recorded" : seen.joined(separator: "; ")
    }

    /// Each peer case's set-up: name, kernel, seconds, the library's answer to the hint and optimisation.
    static func peerSetupRows(_ medians: [BenchmarkEntry]) -> [[String]] {
        sorted(medians).compactMap { e in
            guard let t = e.peer_setup_seconds else { return nil }
            return [e.run_name, e.kernel, Fmt.time(t), e.peer_optimize ?? "–"]
        }
    }

    /// The thread-scaling table (one row per threaded case with a
    /// ``PartitionProfile``), shared by the Markdown and HTML reports.
    static let scalingIntro = "Each threaded case taken apart right after its timing, in rounds of (1-thread run, "
        + "threaded run, each partition alone) back to back. Paired speedup: median of the per-round ratios. "
        + "Partition bound: the speedup the partition allows if partitions ran side by side as fast as alone, "
        + "at most the thread count (imbalance shows here; balanced plans hand several chunks to each thread). Side-by-side slowdown: a partition's time in the threaded run over its time "
        + "alone (contention for the shared memory path, or a busy machine, shows here). FMA probe scaling: the "
        + "compute-only probe on the same threads over one thread, in the same rounds (below the thread count, "
        + "part of a core was taken by other work while the case ran)."
    static let scalingHeader = ["case", "paired speedup", "partition bound", "side-by-side slowdown",
                                "FMA probe scaling", "partitions alone", "partitions side by side",
                                "latest thread start", "rounds with a thread running 2+ partitions"]

    static func scalingRows(_ medians: [BenchmarkEntry]) -> [[String]] {
        medians.compactMap { e in
            guard let p = e.partition_profile else { return nil }
            let list = { (xs: [Double]) in xs.map { Fmt.time($0) }.joined(separator: ", ") }
            return [e.run_name, Fmt.factor(p.paired_speedup), Fmt.factor(p.balanced_bound), Fmt.factor(p.contention),
                    p.probe_scaling.map(Fmt.factor) ?? "–", list(p.alone_seconds), list(p.together_seconds),
                    Fmt.time(p.latest_thread_start ?? p.start_seconds.max() ?? 0),
                    "\(p.rounds_with_shared_thread) of \(p.rounds)"]
        }
    }

    /// Escapes text for Markdown prose and table cells.
    static func mdEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: "\n", with: " ")
    }

    static func mdCell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
