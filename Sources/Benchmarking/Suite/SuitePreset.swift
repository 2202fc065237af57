import Foundation
import BlockSparse

/// Named suites: the axes `kernelbench run` uses unless options override them.
public enum SuitePreset: String, CaseIterable, Sendable {
    /// The paper's story on this machine: a 4096x4096 layer and LeNet-300-100's
    /// layers, blocks 1 to 32, N 1 and 64, 1 and all threads, with the
    /// break-even search. Planned (``SuiteRunner/plannedSeconds(_:model:)``)
    /// to fit in 180 s on a 2-core machine, start-up probes and search included:
    /// the grid has two sparsities (70 and 90%), the search finds the rest.
    case `default`
    /// A small suite for smoke tests (seconds).
    case quick
    /// The fixed timing suite of `make perf-check` (single-thread, 9 repetitions).
    case ci

    /// (label, rows, cols) of the generated matrices.
    public var shapes: [(String, Int, Int)] {
        switch self {
        case .default: return [("4096x4096", 4096, 4096), ("lenet-fc1-300x784", 300, 784), ("lenet-fc2-100x300", 100, 300)]
        case .quick: return [("512x512", 512, 512), ("lenet-fc2-100x300", 100, 300)]
        case .ci: return [("1024x1024", 1024, 1024), ("lenet-fc1-300x784", 300, 784)]
        }
    }
    public var blocks: [String] {
        switch self {
        case .default: return ["1", "2", "4", "8", "16", "32"]
        case .quick: return ["1", "4", "8"]
        case .ci: return ["1", "4", "8", "16"]
        }
    }
    public var sparsities: [Double] {
        switch self {
        case .default: return [0.7, 0.9]
        case .quick: return [0.5, 0.9]
        case .ci: return [0.9]
        }
    }
    public var ns: [Int] {
        switch self {
        case .default: return [1, 64]
        case .quick: return [1, 16]
        case .ci: return [1, 64]
        }
    }
    /// Thread counts; "all" = the CPUs this process may use.
    public var threads: [String] { self == .ci ? ["1"] : ["1", "all"] }
    public var timing: TimingPolicy {
        switch self {
        // A 2 ms re-warm before each repetition: hundreds of calls of a LeNet
        // product, and at least one call of a large one.
        case .default: return TimingPolicy(minRepetitions: 5, minTime: 0.02, warmup: 0.002)
        case .quick: return TimingPolicy(minRepetitions: 3, minTime: 0.005, warmup: 0.002)
        case .ci: return TimingPolicy(minRepetitions: 9, minTime: 0.05, warmup: 0.01)
        }
    }
    /// Whether the suite searches break-evens when run without axis options.
    public var breakEven: Bool { self == .default }
}
