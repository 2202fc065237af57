import Foundation
import Benchmarking
import BlockSparse

// What the test targets share: small matrices, a pinning checksum, and the
// runner of the built `kernelbench` executable.

/// FNV-1a over the bit patterns of a matrix's arrays: a checksum that pins
/// generator output across machines.
public func checksum(_ m: BSRMatrix) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ x: UInt64) { h = (h ^ x) &* 0x100_0000_01b3 }
    for p in m.rowPointers { mix(UInt64(UInt32(bitPattern: p))) }
    for c in m.columnIndices { mix(UInt64(UInt32(bitPattern: c))) }
    for v in m.values { mix(UInt64(v.bitPattern)) }
    return h
}

public func shape(_ r: Int, _ c: Int) -> BlockShape { try! BlockShape(rows: r, cols: c) }

public func randomBSR(_ rows: Int, _ cols: Int, _ r: Int, _ c: Int, sparsity: Double,
                      _ distribution: BlockDistribution = .uniform, seed: UInt64 = 7) -> BSRMatrix {
    try! BSRMatrix.random(GeneratorSpec(rows: rows, cols: cols, block: shape(r, c), sparsity: sparsity,
                                        distribution: distribution, seed: seed))
}

/// A fresh folder under the system's temporary directory, removed with
/// everything in it when the last reference goes (a suite instance lives for
/// one test), so test runs leave nothing behind.
public final class TemporaryFolder: Sendable {
    public let path: String

    public init(prefix: String) {
        path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs the built `kernelbench` executable in a fresh temporary folder, the
/// way a user types it: the process helper of the end-to-end CLI suites.
public struct CLIRunner {
    public struct Result { public let code: Int32; public let out: String; public let err: String }

    public struct NotBuilt: Error, CustomStringConvertible {
        public var description: String { "kernelbench executable not found next to the test bundle (swift build first)" }
    }

    public static let binary: String? = {
        // The test bundle sits in the same build folder as the executable.
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("kernelbench").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    private let folder: TemporaryFolder
    /// The working folder of every command this runner starts.
    public var dir: String { folder.path }

    public init(prefix: String) { folder = TemporaryFolder(prefix: prefix) }

    /// Runs the executable with `args` in `dir`; with `shell`, runs /bin/sh
    /// with `args` instead (to set a ulimit first).
    public func run(_ args: [String], env: [String: String] = [:], shell: Bool = false) throws -> Result {
        guard let path = CLIRunner.binary else { throw NotBuilt() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: shell ? "/bin/sh" : path)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(code: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }
}

/// Result files for the compare and report tests: Google Benchmark JSON with
/// repetitions, and kernelbench files of deterministic counts.
public enum ResultFixtures {
    /// Fixed relative noise of about ±1% (no ties).
    public static let noise = [0.004, -0.007, 0.001, 0.009, -0.003, -0.008, 0.006, -0.001, 0.002, -0.005]
    /// About ±3%.
    public static let wideNoise = [0.03, -0.025, 0.01, 0.028, -0.02, -0.03, 0.015, -0.01, 0.022, -0.018]

    /// Google Benchmark 1.7.1-style JSON with per-repetition entries (times in `unit`).
    public static func googleBenchmark(_ cases: [(String, [Double])], unit: String = "ns",
                                context: [String: Any] = [:], aggregatesOnly: Bool = false,
                                errors: [String] = []) -> Data {
        var benchmarks: [[String: Any]] = []
        for (index, (name, samples)) in cases.enumerated() {
            if !aggregatesOnly {
                for (rep, value) in samples.enumerated() {
                    benchmarks.append([
                        "name": name, "family_index": index, "per_family_instance_index": 0, "run_name": name,
                        "run_type": "iteration", "repetitions": samples.count, "repetition_index": rep,
                        "threads": 1, "iterations": 1000, "real_time": value, "cpu_time": value, "time_unit": unit,
                        "useful_flops": 1.0e9,
                    ])
                }
            }
            let median = Summary(samples).median
            for (agg, value) in [("mean", samples.reduce(0, +) / Double(samples.count)), ("median", median),
                                 ("stddev", 0.01 * median)] {
                benchmarks.append([
                    "name": "\(name)_\(agg)", "family_index": index, "per_family_instance_index": 0, "run_name": name,
                    "run_type": "aggregate", "repetitions": samples.count, "threads": 1, "aggregate_name": agg,
                    "aggregate_unit": "time", "iterations": samples.count, "real_time": value, "cpu_time": value,
                    "time_unit": unit,
                ])
            }
            benchmarks.append([
                "name": "\(name)_cv", "run_name": name, "run_type": "aggregate", "aggregate_name": "cv",
                "aggregate_unit": "percentage", "iterations": samples.count, "real_time": 0.01, "cpu_time": 0.01,
                "time_unit": unit,
            ])
        }
        for name in errors {
            benchmarks.append(["name": name, "run_name": name, "run_type": "iteration", "error_occurred": true,
                               "error_message": "ISA avx512 not supported on this CPU", "iterations": 0,
                               "real_time": 0, "cpu_time": 0, "time_unit": unit])
        }
        var ctx: [String: Any] = [
            "date": "2025-01-01T00:00:00+00:00", "host_name": "bench", "executable": "microbench", "num_cpus": 2,
            "mhz_per_cpu": 3400, "cpu_scaling_enabled": false, "library_build_type": "release",
            "caches": [["type": "Data", "level": 1, "size": 32768, "num_sharing": 1]],
            "load_avg": [0.5, 0.4, 0.3], "cpu_model": "AMD EPYC 7B13", "compiler": "15.2.0",
        ]
        for (k, v) in context { ctx[k] = v }
        return try! JSONSerialization.data(withJSONObject: ["context": ctx, "benchmarks": benchmarks])
    }

    public static func scaled(_ factor: Double, _ noise: [Double] = noise, ms: Double = 1) -> [Double] {
        noise.map { ms * 1e6 * factor * (1 + $0) }  // ns
    }

    public static func kernelbenchReport(_ counts: [(String, Double)], unit: String = "instructions") throws -> Data {
        var report = BenchmarkReport(context: MachineContext.current())
        for (name, count) in counts {
            report.benchmarks.append(BenchmarkEntry.deterministicCount(
                name: name, count: count, unit: unit, calls: 11, kernel: "bsr_f32_spmm_generic__scalar", format: .bsr,
                block: try BlockShape(square: 4), m: 128, k: 128, n: 32, sparsity: 0.75, achievedSparsity: 0.75,
                distribution: "uniform", matrix: "random"))
        }
        return try report.jsonData()
    }
}
