import Foundation
import BlockSparse

// The CSV form of a run: one row per median, for spreadsheets and scripts.

extension ReportRenderer {
    /// The CSV columns of a report of times, in order.
    public static let csvColumns = csvColumns(for: .seconds)

    /// The CSV columns, in order: the median, min, max and MAD columns are
    /// `_seconds` for times and `_instructions` for instruction counts.
    public static func csvColumns(for unit: ResultUnit) -> [String] {
        let suffix = unit == .instructions ? "_instructions" : "_seconds"
        return ["name", "run_name", "matrix", "distribution", "format", "kernel", "block_rows", "block_cols", "m", "k", "n",
                "sparsity", "achieved_sparsity", "partition", "threads", "repetitions"]
            + ["median", "min", "max", "mad"].map { $0 + suffix }
            + ["useful_gflops", "effective_gflops", "gbytes_per_second", "percent_of_peak",
               "speedup_vs_dense", "speedup_vs_csr", "verified", "max_abs_error", "max_rel_error", "speedup_vs_mkl"]
    }

    /// One row per median entry with every KernelBench field and the
    /// median, min, max and MAD in seconds (or instructions, for a report of
    /// instruction counts; see ``csvColumns(for:)``), RFC 4180 quoting, empty
    /// cells for missing values. The min/max/MAD come from the run's
    /// aggregates, or from its repetitions when those are missing.
    public static func csv(_ r: BenchmarkReport) -> String {
        let aggregates = aggregatesByRun(r)
        let iterations = iterationSeconds(r)
        var o = csvColumns(for: unit(r)).joined(separator: ",") + "\n"
        func num(_ x: Double?) -> String { x.map { $0.isFinite ? "\($0)" : "" } ?? "" }
        for e in sorted(medianEntries(r)) {
            // An aggregate in a unit that is not a measure (a CV in percent) is not used.
            let agg = (aggregates[e.run_name] ?? [:]).filter { ResultUnit.parse(timeUnit: $0.value.time_unit) != nil }
            let reps = iterations[e.run_name] ?? []
            let summary = reps.isEmpty ? nil : Summary(reps)
            let fields: [String] = [
                e.name, e.run_name, e.matrix, e.distribution, e.format, e.kernel, "\(e.block_rows)", "\(e.block_cols)",
                "\(e.m)", "\(e.k)", "\(e.n)", num(e.sparsity), num(e.achieved_sparsity), e.partition, "\(e.threads)",
                "\(e.repetitions)", num(seconds(e)),
                num(agg["min"].map(seconds) ?? summary?.min), num(agg["max"].map(seconds) ?? summary?.max),
                num(agg["mad"].map(seconds) ?? summary?.mad),
                num(e.useful_gflops), num(e.effective_gflops), num(e.gbytes_per_second), num(e.percent_of_peak),
                num(e.speedup_vs_dense), num(e.speedup_vs_csr), e.verified ? "true" : "false",
                num(e.max_abs_error), num(e.max_rel_error), num(e.speedup_vs_mkl),
            ]
            o += fields.map(csvField).joined(separator: ",") + "\n"
        }
        return o
    }

    /// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
