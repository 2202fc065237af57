import Foundation
import BlockSparse

/// One entry of a result file, in Google Benchmark's JSON schema (so its
/// `tools/compare.py` reads it) with KernelBench's fields as extra top-level
/// keys. Per-repetition entries have `run_type == "iteration"`; aggregates
/// (`median`, `mean`, `stddev`, `min`, `max`, `mad`) have `run_type ==
/// "aggregate"` and `name == run_name + "_" + aggregate_name`.
public struct BenchmarkEntry: Codable, Sendable, Equatable {
    // Google Benchmark fields.
    public var name: String
    public var run_name: String
    public var run_type: String
    public var aggregate_name: String?
    public var repetitions: Int
    public var repetition_index: Int?
    public var threads: Int
    public var iterations: Int
    public var real_time: Double
    public var cpu_time: Double
    public var time_unit: String
    // KernelBench fields.
    public var format: String
    public var kernel: String
    public var block_rows: Int
    public var block_cols: Int
    public var m: Int
    public var k: Int
    public var n: Int
    /// Target block sparsity (or the pruning target for real weights).
    public var sparsity: Double
    /// Achieved element sparsity of the matrix actually multiplied.
    public var achieved_sparsity: Double
    public var distribution: String
    public var matrix: String
    public var partition: String
    public var useful_gflops: Double
    public var effective_gflops: Double
    public var gbytes_per_second: Double
    public var percent_of_peak: Double?
    public var speedup_vs_dense: Double?
    public var speedup_vs_csr: Double?
    public var verified: Bool
    public var max_abs_error: Double
    public var max_rel_error: Double
    /// Stored logical elements per source non-zero when a real matrix was
    /// converted to BSR (1 = no fill-in); nil for generated matrices.
    public var fill_ratio: Double?
    /// Google Benchmark's error fields: set when the case failed (e.g. its
    /// result did not verify); such an entry carries no timing.
    public var error_occurred: Bool?
    public var error_message: String?
    /// Where a threaded case's time goes (median entry of threaded driver cases only).
    public var partition_profile: PartitionProfile? = nil
    /// This case's repetitions that were timed and dropped because the quiet
    /// check failed around them, each timed again in a later round of its
    /// comparison set (nil: no quiet check).
    public var retimed_rounds: Int? = nil
    /// This case's repetitions kept although the quiet check failed around
    /// them (its limit of dropped repetitions or the run's retime budget was
    /// spent; nil: no quiet check).
    public var disturbed_rounds: Int? = nil
    /// Median time of the MKL case on the same storage and threads (mkl-bsr
    /// for bsr, mkl-csr for csr, mkl-dense for dense) over this case's; nil
    /// without `--peers mkl`.
    public var speedup_vs_mkl: Double? = nil
    /// A peer case's library version string (`run --peers`).
    public var peer_library: String? = nil
    /// Seconds a peer case's set-up took, outside the timed region: creating
    /// the library's matrix handle, its hint and `mkl_sparse_optimize`.
    public var peer_setup_seconds: Double? = nil
    /// What the peer answered to the hint and the optimisation (statuses).
    public var peer_optimize: String? = nil
}

/// A threaded case taken apart, measured right after its timing: rounds of
/// (the 1-thread driver, the threaded driver traced, each partition alone on
/// the calling thread), back to back so that a noisy phase of a shared
/// machine hits both sides of each ratio.
public struct PartitionProfile: Codable, Sendable, Equatable {
    public var rounds: Int
    /// Median over rounds of (1-thread time / threaded time) within a round.
    public var paired_speedup: Double
    /// Per partition, seconds: median time alone (nothing else running).
    public var alone_seconds: [Double]
    /// Per partition, seconds: median time inside the threaded run.
    public var together_seconds: [Double]
    /// Per partition, seconds from the start of the threaded run to the partition's start.
    public var start_seconds: [Double]
    /// Rounds in which one thread ran more than one partition.
    public var rounds_with_shared_thread: Int
    /// Median over the same rounds of the FMA probe's speedup on the case's
    /// threads over one thread (ideally the thread count; each probe runs
    /// about 3 ms so that waking the workers costs little): how much of the
    /// cores this VM really had while the case ran. Nil in older files.
    public var probe_scaling: Double?

    /// Threads the partitions ran on (nil in older files: one per partition).
    public var threads: Int?
    /// Median over rounds of when the last thread to join started its first
    /// partition (seconds from the start of the run): the pool's wake-up cost.
    /// Nil in older files, where the latest partition start stands in (the
    /// same thing with one partition per thread).
    public var latest_thread_start: Double?

    /// The speedup the partition allows if partitions ran side by side as fast as alone:
    /// sum of the alone times over the largest, and at most the thread count.
    public var balanced_bound: Double {
        guard let worst = alone_seconds.max(), worst > 0 else { return 1 }
        return min(alone_seconds.reduce(0, +) / worst, Double(threads ?? alone_seconds.count))
    }

    /// Median slowdown of a partition beside the others (together / alone).
    public var contention: Double {
        let ratios = zip(together_seconds, alone_seconds).compactMap { $1 > 0 ? $0 / $1 : nil }.sorted()
        return ratios.isEmpty ? 1 : ratios[ratios.count / 2]
    }
}

/// A whole result file: `{"context": {...}, "benchmarks": [...]}`, plus
/// `"break_even": [...]` when the run searched for break-even sparsities
/// (Google Benchmark's tools ignore the extra key).
public struct BenchmarkReport: Codable, Sendable {
    public var context: MachineContext
    public var benchmarks: [BenchmarkEntry]
    /// The measured break-even sparsities (``BreakEvenResult``); nil when
    /// the run did not search (and in files written before the search existed).
    public var break_even: [BreakEvenResult]?

    public init(context: MachineContext, benchmarks: [BenchmarkEntry] = [], breakEven: [BreakEvenResult]? = nil) {
        self.context = context
        self.benchmarks = benchmarks
        self.break_even = breakEven
    }

    /// The aggregate entries named `aggregate` (e.g. "median").
    public func aggregates(_ aggregate: String = "median") -> [BenchmarkEntry] {
        benchmarks.filter { $0.run_type == "aggregate" && $0.aggregate_name == aggregate }
    }

    /// What the file measures: times (any of ns, us, ms, s) or instruction
    /// counts, read as `kernelbench compare` reads them (an aggregate other
    /// than the median in another unit, such as a CV in percent, is ignored).
    /// - Throws: ``InputError`` naming `source` and the entry for an unknown
    ///   `time_unit`, or for a file that mixes times and instruction counts.
    public func unit(source: String) throws -> ResultUnit {
        var units = Set<ResultUnit>()
        for e in benchmarks {
            if let (unit, _) = try ResultUnit.read(timeUnit: e.time_unit, runType: e.run_type,
                                                   aggregateName: e.aggregate_name, source: source, entry: e.name) {
                units.insert(unit)
            }
        }
        if units.count > 1 { throw ResultUnit.mixedUnitsError(source: source) }
        return units.first ?? .seconds
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Reads a result file.
    /// - Throws: ``InputError`` naming the file and what is wrong.
    public static func load(path: String) throws -> BenchmarkReport {
        let data = try readInputFile(path, expected: "a kernelbench result file")
        do { return try JSONDecoder().decode(BenchmarkReport.self, from: data) } catch let error as DecodingError {
            throw InputError(source: path, "not a kernelbench result file: \(describe(error))")
        }
    }
}

package func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return p.isEmpty ? "top level" : String(p.drop { $0 == "." })
    }
    switch error {
    case .keyNotFound(let key, let c): return "missing key '\(key.stringValue)' at \(path(c))"
    case .typeMismatch(_, let c): return "wrong type at \(path(c)): \(c.debugDescription)"
    case .valueNotFound(_, let c): return "missing value at \(path(c))"
    case .dataCorrupted(let c): return "malformed JSON at \(path(c)): \(c.debugDescription)"
    @unknown default: return "\(error)"
    }
}

extension BenchmarkEntry {
    /// The entry of a deterministic count (e.g. instructions per kernel call
    /// from the instruction gate): one aggregate "median" entry, `real_time`
    /// = `cpu_time` = the count, `time_unit` = `unit`, no timing figures.
    public static func deterministicCount(
        name: String, count: Double, unit: String = "instructions", calls: Int, kernel: String, format: SparseFormat,
        block: BlockShape?, m: Int, k: Int, n: Int, sparsity: Double, achievedSparsity: Double,
        distribution: String, matrix: String, maxAbsError: Double = 0, maxRelError: Double = 0
    ) -> BenchmarkEntry {
        BenchmarkEntry(
            name: name + "_median", run_name: name, run_type: "aggregate", aggregate_name: "median",
            repetitions: 1, repetition_index: nil, threads: 1, iterations: calls,
            real_time: count, cpu_time: count, time_unit: unit,
            format: format.rawValue, kernel: kernel, block_rows: block?.rows ?? 1, block_cols: block?.cols ?? 1,
            m: m, k: k, n: n, sparsity: sparsity, achieved_sparsity: achievedSparsity, distribution: distribution,
            matrix: matrix, partition: "none", useful_gflops: 0, effective_gflops: 0, gbytes_per_second: 0,
            percent_of_peak: nil, speedup_vs_dense: nil, speedup_vs_csr: nil,
            verified: true, max_abs_error: maxAbsError, max_rel_error: maxRelError)
    }
}
