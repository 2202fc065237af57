import Foundation
import BlockSparse

/// Where the sparse matrix of a benchmark group comes from.
public enum MatrixSource: Sendable, Equatable {
    /// A seeded random block-sparse matrix (one per block shape and sparsity).
    case generated(label: String, rows: Int, cols: Int, distribution: BlockDistribution)
    /// A fixed sparse matrix (Matrix Market file, or real weights already
    /// pruned), converted to each block shape with its fill-in reported;
    /// `only` restricts it to one block shape (weights pruned for that shape);
    /// `target` is the sparsity it was pruned to (nil: a file, whose own
    /// element sparsity is its cases' `sparsity`; each block shape's stored
    /// fraction is their `achieved_sparsity`).
    case fixed(label: String, matrix: CSRMatrix, only: BlockShape?, target: Double? = nil)

    public var label: String {
        switch self {
        case .generated(let label, _, _, _), .fixed(let label, _, _, _): return label
        }
    }
    /// Rows and columns of A.
    public var rows: Int { switch self { case .generated(_, let r, _, _): r; case .fixed(_, let m, _, _): m.rows } }
    public var cols: Int { switch self { case .generated(_, _, let c, _): c; case .fixed(_, let m, _, _): m.cols } }
    var onlyBlock: BlockShape? { if case .fixed(_, _, let only, _) = self { return only }; return nil }
    /// The sparsity a fixed matrix's cases are grouped by: its pruning target,
    /// else its own element sparsity; nil for generated matrices.
    var fixedSparsity: Double? {
        guard case let .fixed(_, m, _, target) = self else { return nil }
        return target ?? 1 - Double(m.nonzeros) / max(1, Double(m.rows) * Double(m.cols))
    }
}

/// What a format entry of the suite runs: KernelBench's BSR and CSR
/// kernels and dense OpenBLAS, or a peer library's routine on the same
/// storage (``Peer``; `mkl-bsr` only for square blocks dividing both sides of A).
public enum CaseFormat: String, CaseIterable, Sendable, Codable {
    case bsr, csr, dense
    case mklBSR = "mkl-bsr", mklCSR = "mkl-csr", mklDense = "mkl-dense"
}

/// One suite: the cross product of its axes, BSR vs CSR vs dense on the
/// same matrices in the same run.
public struct SuiteConfig: Sendable {
    public var sources: [MatrixSource]
    /// Block shapes; a 1x1 block means unstructured sparsity (CSR and dense only).
    public var blocks: [BlockShape]
    /// Target block sparsities of generated matrices (ignored for fixed ones).
    public var sparsities: [Double]
    public var ns: [Int]
    /// Thread counts (each >= 1).
    public var threads: [Int]
    public var formats: [CaseFormat]
    public var timing: TimingPolicy
    public var seed: UInt64
    /// Regular expression on case names; nil runs everything.
    public var filter: String?
    /// Partitioning strategies; multi-threaded sparse cases run once per
    /// strategy (names of non-balanced runs end in `/equal-rows`).
    public var strategies: [PartitionStrategy]
    /// Threading runtimes; multi-threaded sparse cases run once per runtime
    /// (names of `dispatch` runs end in `/dispatch`).
    public var runtimes: [ThreadingRuntime]
    /// Seconds a team's idle worker polls before it sleeps.
    public var spinWindow: Double
    public var bPlacement: BPlacement?
    /// After the grid, search the break-even sparsity of every generated
    /// matrix, sparse format and block shape, N and thread count of the plan
    /// (``SuiteRunner/breakEvenTargets(_:)``); nil: no search.
    public var breakEven: BreakEvenSearch?

    public init(sources: [MatrixSource], blocks: [BlockShape], sparsities: [Double], ns: [Int], threads: [Int],
                formats: [CaseFormat] = CaseFormat.builtIn, timing: TimingPolicy = TimingPolicy(), seed: UInt64 = 42,
                filter: String? = nil, strategies: [PartitionStrategy] = [.balanced],
                runtimes: [ThreadingRuntime] = [.team], spinWindow: Double = WorkerTeam.defaultSpinWindow,
                bPlacement: BPlacement? = nil, breakEven: BreakEvenSearch? = nil) {
        self.sources = sources
        self.blocks = blocks
        self.sparsities = sparsities
        self.ns = ns
        self.threads = threads
        self.formats = formats
        self.timing = timing
        self.seed = seed
        self.filter = filter
        self.strategies = strategies
        self.runtimes = runtimes
        self.spinWindow = spinWindow
        self.bPlacement = bPlacement
        self.breakEven = breakEven
    }

    /// Name of a case: stable across kernel changes, so runs can be compared.
    /// `bsr/4096x4096/b8x8/s90/n64/threads:1`; a threaded case of another
    /// partition strategy or runtime than the defaults ends in
    /// `/equal-rows`, `/dispatch` or both (its variant).
    public static func caseName(format: CaseFormat, source: String, block: BlockShape, sparsity: Double?, n: Int,
                                threads: Int, strategy: PartitionStrategy = .balanced,
                                runtime: ThreadingRuntime = .team) -> String {
        let s = sparsity.map { "s" + percentLabel($0) } ?? "real"
        let suffix = (strategy == .balanced ? "" : "/" + strategy.rawValue) + (runtime == .team ? "" : "/" + runtime.rawValue)
        return "\(format.rawValue)/\(source)/b\(block)/\(s)/n\(n)/threads:\(threads)" + suffix
    }

    /// What follows `threads:N` in a case name: its partition strategy and
    /// runtime where they are not the defaults ("" otherwise).
    static func variant(ofCase name: String, threads: Int) -> String {
        guard let range = name.range(of: "/threads:\(threads)") else { return "" }
        return String(name[range.upperBound...])
    }

    /// A sparsity as a percentage for names and tables: 90, 99.5, 99.91
    /// (up to four decimals, trailing zeros dropped).
    public static func percentLabel(_ s: Double) -> String {
        var text = String(format: "%.4f", s * 100)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }
}

/// One planned case (before it runs).
public struct PlannedCase: Sendable {
    public let name: String
    public let format: CaseFormat
    public let source: Int
    public let block: BlockShape
    public let sparsity: Double?
    public let n: Int
    public let threads: Int
    public let strategy: PartitionStrategy
    public let runtime: ThreadingRuntime
    /// Planned seconds (``CostModel``): the case's timing, verification and
    /// profile, plus its share of its comparison set's set-up. The ETA
    /// scales these by the time measured so far.
    public internal(set) var weight: Double
}

/// Progress of a running suite, reported after each case.
public struct SuiteProgress: Sendable {
    public let done: Int
    public let total: Int
    public let elapsed: Double
    /// Seconds left, estimated from the cost of the cases done so far.
    public let eta: Double?
    public let current: String
}
