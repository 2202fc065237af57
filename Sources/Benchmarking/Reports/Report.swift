import Foundation
import BlockSparse

// Renders a result file (``BenchmarkReport``) as Markdown, CSV or a
// self-contained HTML page with inline SVG charts, and finds the sparsity at
// which the sparse formats overtake dense BLAS.

// MARK: - Output formats

/// A file format `kernelbench report` can write.
public enum ReportFormat: String, CaseIterable, Sendable {
    case markdown = "md"
    case html
    case csv

    /// The file extension (without the dot).
    public var fileExtension: String { rawValue }

    /// Parses a comma-separated list such as `"md,html"` (also accepting
    /// `markdown`); duplicates are dropped, order is kept.
    /// - Throws: ``InputError`` naming the unknown format.
    public static func parseList(_ list: String) throws -> [ReportFormat] {
        var formats: [ReportFormat] = []
        for raw in list.split(separator: ",") {
            let name = raw.trimmingCharacters(in: .whitespaces).lowercased()
            guard let format = name == "markdown" ? .markdown : ReportFormat(rawValue: name) else {
                throw InputError(source: "--format", "unknown report format '\(name)' (expected md, html or csv)")
            }
            if !formats.contains(format) { formats.append(format) }
        }
        guard !formats.isEmpty else { throw InputError(source: "--format", "no report format given (expected md, html or csv)") }
        return formats
    }
}

// MARK: - Break-even

/// Where one sparse format and block shape overtakes dense BLAS for one
/// matrix source, N and thread count: the sparsity at which the median
/// `speedup_vs_dense` reaches 1, linearly interpolated between the two
/// measured sparsities around the crossing.
///
/// At each measured sparsity the best kernel for the block shape (highest
/// speed-up) is used. The crossing is the last one from below: above the
/// reported sparsity, every measured point beats dense.
public struct BreakEven: Sendable, Equatable {
    /// A measured point: target sparsity and the best speed-up over dense there.
    public struct Point: Sendable, Equatable {
        public var sparsity: Double
        public var speedup: Double
        public var kernel: String
    }

    /// What the measurements say.
    public enum Outcome: Sendable, Equatable {
        /// Slower than dense below `sparsity`, faster from it on (interpolated).
        case crosses(at: Double)
        /// Faster than dense at every measured sparsity; `from` is the lowest measured.
        case alwaysFaster(from: Double)
        /// Slower than dense at every measured sparsity; `upTo` is the highest measured.
        case neverFaster(upTo: Double)
        /// Faster at some sparsities (`fasterAt`) but slower at the highest measured one.
        case notAtHighest(fasterAt: [Double], upTo: Double)
    }

    /// Matrix source as shown in the report (the `matrix` label, plus the
    /// distribution when the report holds several for that label).
    public var source: String
    public var matrix: String
    public var distribution: String
    /// "bsr" or "csr".
    public var format: String
    public var blockRows: Int
    public var blockCols: Int
    public var n: Int
    public var threads: Int
    /// The measured points, by increasing sparsity.
    public var points: [Point]
    public var outcome: Outcome

    /// The break-even sparsity when the measurements cross 1, else nil.
    public var sparsity: Double? {
        if case .crosses(let s) = outcome { return s }
        return nil
    }

    /// "8x8 BSR", "CSR" (on the unstructured matrix) or "CSR on the 4x4-block matrix".
    public var subject: String {
        guard format == "csr" else { return "\(blockRows)x\(blockCols) \(format.uppercased())" }
        return blockRows * blockCols == 1 ? "CSR" : "CSR on the \(blockRows)x\(blockCols)-block matrix"
    }

    /// Where it was measured: "4096x4096, N = 256, 1 thread".
    public var setting: String {
        "\(source), N = \(n), \(threads) thread\(threads == 1 ? "" : "s")"
    }

    /// One honest sentence, e.g. "8x8 BSR beats dense from 31% sparsity",
    /// "CSR beats dense at every measured sparsity (>= 50%)" or
    /// "4x4 BSR never beats dense up to 95%".
    public var sentence: String {
        switch outcome {
        case .crosses(let s):
            var text = "\(subject) beats dense from \(BreakEven.percent(s, points: points)) sparsity"
            let below = points.filter { $0.sparsity < s && $0.speedup >= 1 }.map(\.sparsity)
            if !below.isEmpty {
                text += " (also at \(below.map(Fmt.percent).joined(separator: ", ")); the measured speed-ups are not monotone)"
            }
            return text
        case .alwaysFaster(let from):
            return "\(subject) beats dense at every measured sparsity (>= \(Fmt.percent(from)))"
        case .neverFaster(let upTo):
            return "\(subject) never beats dense up to \(Fmt.percent(upTo))"
        case .notAtHighest(let at, let upTo):
            return "\(subject) beats dense only at \(at.map(Fmt.percent).joined(separator: ", ")), "
                + "not at higher measured sparsities (up to \(Fmt.percent(upTo)))"
        }
    }

    /// An interpolated crossing as a percentage: whole percent unless the
    /// measured points are closer than two percentage points. Rounded up, so
    /// the figure never falls on or below a measured point that loses to
    /// dense (a crossing just above 50% reads 51%, not 50%).
    static func percent(_ s: Double, points: [Point]) -> String {
        let xs = points.map(\.sparsity)
        let closest = zip(xs, xs.dropFirst()).map { $1 - $0 }.min() ?? 1
        let scale = closest < 0.02 ? 10.0 : 1.0
        let up = ((s * 100 * scale) - 1e-9).rounded(.up) / scale  // 1e-9: 0.6 * 100 is 60.000000000000007
        return scale > 1 ? String(format: "%.1f%%", up) : String(format: "%.0f%%", up)
    }

    /// Classifies measured points (any order; sparsities distinct).
    static func outcome(of points: [Point]) -> Outcome? {
        let p = points.sorted { $0.sparsity < $1.sparsity }
        guard let last = p.last else { return nil }
        if p.allSatisfy({ $0.speedup >= 1 }) { return .alwaysFaster(from: p[0].sparsity) }
        if last.speedup < 1 {
            let faster = p.filter { $0.speedup >= 1 }.map(\.sparsity)
            return faster.isEmpty ? .neverFaster(upTo: last.sparsity) : .notAtHighest(fasterAt: faster, upTo: last.sparsity)
        }
        // The first index from which every point is >= 1; the one before it is < 1.
        var j = p.count - 1
        while j > 0 && p[j - 1].speedup >= 1 { j -= 1 }
        let (a, b) = (p[j - 1], p[j])
        let t = (1 - a.speedup) / (b.speedup - a.speedup)
        return .crosses(at: a.sparsity + t * (b.sparsity - a.sparsity))
    }
}

// MARK: - Renderer

/// Renders a ``BenchmarkReport`` for people (Markdown, HTML) and
/// spreadsheets (CSV). All functions are pure: they read only the report.
public enum ReportRenderer {

    /// The median entry of every run: the `median` aggregates, plus, for a
    /// run with repetitions but no median aggregate, its middle repetition.
    public static func medianEntries(_ r: BenchmarkReport) -> [BenchmarkEntry] {
        var medians = r.aggregates("median")
        let have = Set(medians.map(\.run_name))
        var iterations: [String: [BenchmarkEntry]] = [:]
        var order: [String] = []
        for e in r.benchmarks where e.run_type == "iteration" && !have.contains(e.run_name) {
            if iterations[e.run_name] == nil { order.append(e.run_name) }
            iterations[e.run_name, default: []].append(e)
        }
        for name in order {
            let runs = iterations[name]!.sorted { seconds($0) < seconds($1) }
            medians.append(runs[(runs.count - 1) / 2])
        }
        return medians
    }

    /// `entry.real_time` in the report's base unit: seconds for a time
    /// (Google Benchmark's `time_unit`: ns, us, ms or s), the count itself for
    /// instructions (see ``ResultUnit/parse(timeUnit:)``).
    public static func seconds(_ e: BenchmarkEntry) -> Double {
        e.real_time * (ResultUnit.parse(timeUnit: e.time_unit)?.scale ?? 1)
    }

    /// What the report measures: times unless its entries hold instruction
    /// counts. A report whose units cannot be read counts as times here;
    /// ``write(_:stem:directory:formats:force:input:)`` refuses it first.
    static func unit(_ r: BenchmarkReport) -> ResultUnit {
        (try? r.unit(source: "")) ?? .seconds
    }

    /// A median (or min, max, MAD) value for people: a time, or a grouped
    /// instruction count.
    static func measure(_ value: Double, _ unit: ResultUnit) -> String {
        switch unit {
        case .seconds: return Fmt.time(value)
        case .instructions: return value.isFinite && abs(value) < 1e18 ? Comparison.groupedInteger(value) : "n/a"
        }
    }

    /// The results tables' heading for the median column.
    static func medianHeading(_ unit: ResultUnit) -> String {
        unit == .instructions ? "median instructions per call" : "median time"
    }

    /// The sentence that says what the figures are.
    static func figuresSentence(_ unit: ResultUnit) -> String {
        unit == .instructions
            ? "All figures are instruction counts per kernel call (time_unit \"instructions\"), not times."
            : "All figures are medians over repetitions."
    }

    /// Every median entry whose output did not match the reference.
    public static func unverified(_ r: BenchmarkReport) -> [BenchmarkEntry] {
        sorted(medianEntries(r)).filter { !$0.verified }
    }

    /// The break-even sparsity of every sparse format and block shape, per
    /// matrix source, N and thread count. CSR is judged on the unstructured
    /// (1x1-block) matrix when the report has it; otherwise on each block
    /// size's matrix, said in its subject (CSR runs faster on blockier
    /// matrices, so mixing them would flatter it). Groups without any
    /// `speedup_vs_dense` are left out.
    public static func breakEvens(_ r: BenchmarkReport) -> [BreakEven] {
        let medians = medianEntries(r)
        let sources = sourceLabels(medians)
        struct Key: Hashable { var source, matrix, distribution, format: String; var br, bc, n, threads: Int }
        var groups: [Key: [Double: BreakEven.Point]] = [:]
        for e in medians where e.format == "bsr" || e.format == "csr" {  // (peers are compared in their own column)
            guard let s = e.speedup_vs_dense, s.isFinite, e.sparsity.isFinite else { continue }
            let key = Key(source: sources[sourceKey(e)] ?? e.matrix, matrix: e.matrix, distribution: e.distribution,
                          format: e.format, br: e.block_rows, bc: e.block_cols, n: e.n, threads: e.threads)
            let point = BreakEven.Point(sparsity: e.sparsity, speedup: s, kernel: e.kernel)
            if let old = groups[key]?[e.sparsity], old.speedup >= s { continue }
            groups[key, default: [:]][e.sparsity] = point
        }
        // CSR on block-pruned matrices only where the unstructured one is missing.
        for key in groups.keys where key.format == "csr" && key.br * key.bc > 1 {
            var plain = key
            (plain.br, plain.bc) = (1, 1)
            if groups[plain] != nil { groups[key] = nil }
        }
        var result: [BreakEven] = []
        for (key, byS) in groups {
            let points = byS.values.sorted { $0.sparsity < $1.sparsity }
            guard let outcome = BreakEven.outcome(of: points) else { continue }
            result.append(BreakEven(source: key.source, matrix: key.matrix, distribution: key.distribution,
                                    format: key.format, blockRows: key.br, blockCols: key.bc, n: key.n,
                                    threads: key.threads, points: points, outcome: outcome))
        }
        return result.sorted {
            ($0.source, $0.n, $0.threads, formatRank($0.format), $0.blockRows * $0.blockCols, $0.blockRows)
                < ($1.source, $1.n, $1.threads, formatRank($1.format), $1.blockRows * $1.blockCols, $1.blockRows)
        }
    }

    /// The measured break-evens of a report (its `break_even` section) as
    /// one table per matrix source: a row per format and block shape (CSR,
    /// then BSR by block size), a column per (N, threads), each cell
    /// ``BreakEvenResult/cell``. Shared by Markdown, HTML and the terminal summary.
    public struct BreakEvenTable: Sendable {
        public var source: String
        public var m: Int, k: Int
        public var columns: [(n: Int, threads: Int)]
        public var rows: [(subject: String, cells: [String])]
        /// The results behind each row, by column (nil where that setting was not searched).
        public var results: [[BreakEvenResult?]]
    }

    public static func breakEvenTables(_ results: [BreakEvenResult]) -> [BreakEvenTable] {
        var sources: [String] = []
        for r in results where !sources.contains(r.matrix) { sources.append(r.matrix) }
        return sources.map { source in
            let mine = results.filter { $0.matrix == source }
            var columns: [(n: Int, threads: Int)] = []
            for r in mine.sorted(by: { ($0.n, $0.threads) < ($1.n, $1.threads) })
            where !columns.contains(where: { $0 == (r.n, r.threads) }) { columns.append((r.n, r.threads)) }
            struct Row: Hashable { var format: String; var br: Int; var bc: Int }
            // (Double areas: a result file's sides are not trusted to multiply without overflow)
            func order(_ r: Row) -> (Int, Double, Int) { (formatRank(r.format), Double(r.br) * Double(r.bc), r.br) }
            let rows = Set(mine.map { Row(format: $0.format, br: $0.block_rows, bc: $0.block_cols) }).sorted {
                order($0) < order($1)
            }
            var table = BreakEvenTable(source: source, m: mine[0].m, k: mine[0].k, columns: columns, rows: [], results: [])
            for row in rows {
                let found = columns.map { col in
                    mine.first { $0.format == row.format && $0.block_rows == row.br && $0.block_cols == row.bc
                        && $0.n == col.n && $0.threads == col.threads }
                }
                let subject = found.compactMap { $0 }.first!.subject
                table.rows.append((subject, found.map { $0?.cell ?? "–" }))
                table.results.append(found)
            }
            return table
        }
    }

    /// What the measured break-even table means (Markdown and HTML).
    static func breakEvenIntro(_ results: [BreakEvenResult]) -> String {
        let tol = results.first.map { String(format: "%.0f", $0.tolerance * 100) } ?? "2"
        let highest = results.first.map { Fmt.percent($0.highest) } ?? "99%"
        let lowest = results.first.map { Fmt.percent($0.lowest) } ?? "0%"
        return "Measured, not interpolated: the block sparsity at which each format takes as long as dense OpenBLAS "
            + "(sgemv at N = 1, sgemm otherwise, on the same threads), bracketed to ±\(tol) points between a sparsity "
            + "measured slower than dense and one measured at least as fast (a search per cell; dense, whose time does "
            + "not depend on the sparsity, is the median of the run's dense medians for that matrix, N and thread count; "
            + "every probed matrix is verified against the reference first). "
            + "\"never\": slower than dense even at \(highest); \"always\": at least as fast already at \(lowest). "
            + "CSR is on the unstructured (1x1) matrix. Every probe is in the JSON's break_even section."
    }

    static func settingText(n: Int, threads: Int) -> String { "N = \(n), \(threads) thread\(threads == 1 ? "" : "s")" }

    // MARK: Grouping helpers

    /// Orders dense, CSR, BSR, then the peers' (MKL dense, CSR, BSR), then anything else.
    static func formatRank(_ f: String) -> Int {
        switch f {
        case "dense": return 0; case "csr": return 1; case "bsr": return 2
        case "mkl-dense": return 3; case "mkl-csr": return 4; case "mkl-bsr": return 5
        default: return 6
        }
    }

    static func sourceKey(_ e: BenchmarkEntry) -> String { e.matrix + "\u{1}" + e.distribution }

    /// The label of each (matrix, distribution): the matrix label, with the
    /// distribution appended when one label has several.
    static func sourceLabels(_ entries: [BenchmarkEntry]) -> [String: String] {
        var distributions: [String: Set<String>] = [:]
        for e in entries { distributions[e.matrix, default: []].insert(e.distribution) }
        var labels: [String: String] = [:]
        for e in entries {
            labels[sourceKey(e)] = (distributions[e.matrix]?.count ?? 0) > 1 ? "\(e.matrix) (\(e.distribution))" : e.matrix
        }
        return labels
    }

    /// Median entries grouped by matrix source, sources in first-seen order.
    static func bySource(_ entries: [BenchmarkEntry]) -> [(source: String, entries: [BenchmarkEntry])] {
        let labels = sourceLabels(entries)
        var order: [String] = []
        var groups: [String: [BenchmarkEntry]] = [:]
        for e in entries {
            let label = labels[sourceKey(e)] ?? e.matrix
            if groups[label] == nil { order.append(label) }
            groups[label, default: []].append(e)
        }
        return order.map { ($0, sorted(groups[$0]!)) }
    }

    /// Table order: N, threads, sparsity, then dense, CSR, BSR by block size, then kernel.
    static func sorted(_ entries: [BenchmarkEntry]) -> [BenchmarkEntry] {
        entries.sorted { a, b in
            if a.matrix != b.matrix { return a.matrix < b.matrix }
            if a.distribution != b.distribution { return a.distribution < b.distribution }
            if a.n != b.n { return a.n < b.n }
            if a.threads != b.threads { return a.threads < b.threads }
            if a.sparsity != b.sparsity { return a.sparsity < b.sparsity }
            if formatRank(a.format) != formatRank(b.format) { return formatRank(a.format) < formatRank(b.format) }
            if a.block_rows * a.block_cols != b.block_rows * b.block_cols { return a.block_rows * a.block_cols < b.block_rows * b.block_cols }
            if a.block_rows != b.block_rows { return a.block_rows < b.block_rows }
            if a.kernel != b.kernel { return a.kernel < b.kernel }
            return a.partition < b.partition
        }
    }

    /// The block shape of the matrix a case ran on, whatever its format:
    /// CSR and dense rows of a block-pruned matrix tell their comparison apart.
    static func matrixBlocks(_ e: BenchmarkEntry) -> String { "\(e.block_rows)x\(e.block_cols)" }

    static let matrixBlocksNote = "*Matrix blocks*: the block size the matrix was generated or pruned with "
        + "(CSR and dense run the same matrix as the BSR cases of that size; 1x1 is unstructured). *Partition*: "
        + "how a threaded case split its work, or why it ran serially."

    /// "8x8", "1x1" for CSR, "–" for dense.
    static func blockLabel(_ e: BenchmarkEntry) -> String {
        switch e.format {
        case "dense", "mkl-dense": return "–"
        case "csr", "mkl-csr": return "1x1"
        default: return "\(e.block_rows)x\(e.block_cols)"
        }
    }

    /// The other aggregates of a run, by aggregate name.
    static func aggregatesByRun(_ r: BenchmarkReport) -> [String: [String: BenchmarkEntry]] {
        var map: [String: [String: BenchmarkEntry]] = [:]
        for e in r.benchmarks where e.run_type == "aggregate" {
            if let name = e.aggregate_name { map[e.run_name, default: [:]][name] = e }
        }
        return map
    }

    /// Seconds of every repetition of each run.
    static func iterationSeconds(_ r: BenchmarkReport) -> [String: [Double]] {
        var map: [String: [Double]] = [:]
        for e in r.benchmarks where e.run_type == "iteration" { map[e.run_name, default: []].append(seconds(e)) }
        return map
    }

    /// Context lines shared by Markdown and HTML: (label, value).
    static func contextRows(_ c: MachineContext) -> [(String, String)] {
        var rows: [(String, String)] = [
            ("CPU", c.cpu_model + (c.mhz_per_cpu > 0 ? " (\(c.mhz_per_cpu) MHz)" : "")
                + (c.cpu_id.map { "; \($0)" } ?? "") + (c.machine_class.map { "; class \($0)" } ?? "")),
            ("ISA", "dispatch \(c.dispatch_isa); features: \(c.isa_features.isEmpty ? "none reported" : c.isa_features.joined(separator: " "))"),
            ("Cores", "\(c.cores_available) usable of \(c.num_cpus) online, SMT \(c.smt)"
                + (c.cache_sizes.map { "; caches \($0)" } ?? "")),
            ("NUMA", "\(c.numa_nodes) node\(c.numa_nodes == 1 ? "" : "s"), placement: \(c.numa_placement)"),
            ("Frequency governor", c.frequency_governor + (c.cpu_scaling_enabled ? " (frequency scaling enabled)" : "")),
            ("Build", "\(c.build_configuration); Swift \(c.swift_version); kernels: \(c.compiler)"),
            ("OpenBLAS", "\(c.openblas_config) (\(c.openblas_threads) thread\(c.openblas_threads == 1 ? "" : "s"))"),
        ]
        if let p = c.peak {
            rows.append(("FMA peak", "\(Fmt.sig(p.gflopsOneCore)) GFLOP/s on 1 core\(p.isa.map { " (\($0))" } ?? ""), \(Fmt.sig(p.gflopsAllCores)) GFLOP/s on \(p.threads) thread\(p.threads == 1 ? "" : "s")"
                         + (p.threads > 1 ? " (\(String(format: "%.2f", p.computeScaling))x)" : "")))
            rows.append(("Bandwidth", "\(Fmt.sig(p.triadGBps)) GB/s STREAM triad (\(p.threads) thread\(p.threads == 1 ? "" : "s"))"))
            rows.append(("Fork/join", p.forkJoinDescription))
        } else {
            rows.append(("Peak", "not measured"))
        }
        rows.append(("Git revision", c.git_revision))
        rows.append(("Date", c.date))
        rows.append(("Host", c.host_name))
        return rows
    }

    /// Warnings about how the numbers were taken.
    static func contextWarnings(_ c: MachineContext) -> [String] {
        var w: [String] = []
        if c.build_configuration != "release" {
            w.append("Built in \(c.build_configuration) configuration: the Swift driver was not optimised; timings may be inflated.")
        }
        if c.git_revision.hasSuffix("-dirty") { w.append("Measured from a checkout with uncommitted changes (\(c.git_revision)).") }
        if let scaling = c.peak?.scalingWarning { w.append(scaling) }
        return w
    }

    /// Cases whose medians include rounds timed while the quiet check failed.
    static func disturbedWarnings(_ r: BenchmarkReport) -> [String] {
        let disturbed = medianEntries(r).compactMap(\.disturbed_rounds).filter { $0 > 0 }
        guard let most = disturbed.max() else { return [] }
        return ["\(disturbed.count) case\(disturbed.count == 1 ? "" : "s") kept up to \(most) repetition\(most == 1 ? "" : "s") "
                + "timed while the quiet check failed around them (the case's limit of dropped repetitions or the run's "
                + "retime budget was spent): another workload shared a core they ran on, and their medians may read slow "
                + "(disturbed_rounds in the JSON)."]
    }

    /// A row's sparsity: the target (a file's own, or its pruning target),
    /// and for a file's rows the achieved sparsity of the matrix multiplied
    /// beside it when it differs (block shapes store explicit zeros).
    static func sparsityText(_ e: BenchmarkEntry) -> String {
        guard e.distribution == "file", abs(e.achieved_sparsity - e.sparsity) >= 5e-7 else { return Fmt.percent(e.sparsity) }
        return "\(Fmt.percent(e.sparsity)) (achieved \(SuiteConfig.percentLabel(e.achieved_sparsity))%)"
    }

    static func describe(_ e: BenchmarkEntry) -> String {
        "\(e.matrix) \(e.format) \(blockLabel(e)) `\(e.kernel)` sparsity \(Fmt.percent(e.sparsity)) N=\(e.n) threads=\(e.threads)"
            + " (max abs error \(String(format: "%.3g", e.max_abs_error)), max rel error \(String(format: "%.3g", e.max_rel_error)))"
    }

    /// The report in one of the file formats.
    public static func render(_ r: BenchmarkReport, as format: ReportFormat) -> String {
        switch format {
        case .markdown: markdown(r)
        case .html: html(r)
        case .csv: csv(r)
        }
    }

    // MARK: Files

    /// Writes `stem.md`, `stem.html` and/or `stem.csv` into `directory`
    /// ("" for the current folder), each atomically. Checks every target
    /// before writing any, so a refusal leaves nothing half-done.
    /// - Returns: The written paths, in `formats` order.
    /// - Throws: ``InputError`` naming a file that exists when `force` is
    ///   false (or the input itself, `input`, which is never overwritten),
    ///   or one that cannot be written; naming `input` for an unknown
    ///   `time_unit` or a mix of times and instruction counts.
    public static func write(_ r: BenchmarkReport, stem: String, directory: String, formats: [ReportFormat],
                             force: Bool, input: String? = nil) throws -> [String] {
        let paths = formats.map { format -> (ReportFormat, String) in
            let name = "\(stem).\(format.fileExtension)"
            if directory.isEmpty { return (format, name) }
            return (format, directory.hasSuffix("/") ? directory + name : directory + "/" + name)
        }
        for (_, path) in paths {
            if let input, URL(fileURLWithPath: path).standardizedFileURL == URL(fileURLWithPath: input).standardizedFileURL {
                throw InputError(source: path, "is the input result file; choose another --output folder")
            }
        }
        _ = try r.unit(source: input ?? stem)
        try refuseToOverwrite(paths.map(\.1), force: force)
        for (format, path) in paths {
            try writeAtomically(Data(render(r, as: format).utf8), to: path)
        }
        return paths.map(\.1)
    }
}
