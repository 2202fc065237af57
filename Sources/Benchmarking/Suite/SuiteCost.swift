import Foundation
import BlockSparse

// What a planned run will cost, in seconds, from the plan alone: the ETA's
// weights (so the ETA is right from the first sets, not only once the
// expensive part is over) and the default suite's budget test. Rates are
// those of the 2-core Zen machines in reports/ (one core: dense sgemm about
// 70 GFLOP/s, sgemv about 20 GB/s, BSR 50-90 GFLOP/s useful at N = 64, CSR
// about 30 at N = 64 and 5 at N = 1); what matters most is that the costs
// keep their proportions, since the ETA scales them by the time measured.

/// A model of the seconds a planned case, a comparison set and a break-even
/// search take (timing, set-up, verification, partition profile).
public struct CostModel: Sendable {
    /// One core's rates.
    public var denseGFLOPS = 65.0
    public var gemvGBps = 20.0
    public var bsrGFLOPS = 60.0
    public var bsrVectorGFLOPS = 12.0
    public var csrGFLOPS = 30.0
    public var csrVectorGFLOPS = 5.0
    /// Speed-up of a product on several threads, per extra thread.
    public var threadGain = 0.8
    /// Below this one-thread time a threaded sparse case runs serially (10 x a dispatch overhead).
    public var serialBelow = 50e-6
    /// Swift-side set-up, fitted to default runs on a quiet 2-core Zen 3
    /// (reports/break-even.md). Per stored element: generation, the CSR form
    /// (a BSR probe has none), the driver's node-local copies, the verification
    /// product (break-even probes at 4096x4096 took about 0.35 s per stored
    /// matrix at N = 1, 0.76-0.82 s before generation drew values on every core).
    public var buildPerElement = 3.0e-8
    /// Per element of a new group's dense form, with its copies and first
    /// calls: each such 4096x4096 set took about 1.2 s beyond the model
    /// without this term, in each of three runs.
    public var densePerElement = 7e-8
    /// The Double reference (on every core) per multiply-add: about 0.2 s for
    /// a 4096x4096 probe at 70% density and N = 64.
    public var referencePerProduct = 0.3e-9
    /// The quiet check (two 70 us probes around a repetition, best of three), per repetition.
    public var quietPerRepetition = 0.0005
    /// Per comparison set: the FMA probe sample after it, building the drivers
    /// (node-local copies of A and B), and rounds added when a body's calls
    /// were sized from a cold warm-up.
    public var perSet = 0.05
    /// Per case: verification, entries, bookkeeping and the results rewritten
    /// every few seconds. Fitted with the rates above to five default runs on
    /// a quiet 2-core Zen 3 (reports/break-even.md), on LeNet's layers, where
    /// this term dominates the grid.
    public var perCase = 0.03
    /// Per break-even probe: its verification and point, no result entry.
    public var perProbe = 0.01
    /// Start-up: the FMA, bandwidth and dispatch probes, and the quiet check's calibration.
    public var startup = 3.0

    public init() {}

    /// Seconds of one product on one thread of `format` for an m x k matrix with
    /// `density` of its elements stored and N = n.
    public func callSeconds(_ format: CaseFormat, m: Int, k: Int, n: Int, density: Double) -> Double {
        let mk = Double(m) * Double(k), stored = mk * density
        switch format.base {  // a peer's routine is modelled as KernelBench's on the same storage
        case .dense, .mklBSR, .mklCSR, .mklDense:  // (base is bsr, csr or dense)
            // A is read once whatever N: sgemv and small-N sgemm are bound by its bytes.
            return max(4 * mk / (gemvGBps * 1e9), n == 1 ? 0 : 2 * mk * Double(n) / (denseGFLOPS * 1e9))
        case .bsr:
            return 1e-6 + 2 * stored * Double(n) / ((n == 1 ? bsrVectorGFLOPS : bsrGFLOPS) * 1e9)
        case .csr:
            return 1e-6 + 2 * stored * Double(n) / ((n == 1 ? csrVectorGFLOPS : csrGFLOPS) * 1e9)
        }
    }

    /// The same on `threads` threads (sparse products below ``serialBelow`` stay on one).
    public func callSeconds(_ format: CaseFormat, m: Int, k: Int, n: Int, density: Double, threads: Int) -> Double {
        let one = callSeconds(format, m: m, k: k, n: n, density: density)
        guard threads > 1, format.base == .dense || format.peer != nil || one >= serialBelow else { return one }
        return one / (1 + threadGain * Double(threads - 1))
    }

    /// Seconds ``measureInterleaved(_:_:sessions:threads:quiet:)`` spends on one body of call
    /// time `t` timed with others (or behind the quiet check): the warm-up,
    /// then per repetition a re-warm and the timed calls.
    public func timingSeconds(_ t: Double, policy: TimingPolicy, quiet: Bool) -> Double {
        let repetition = max(policy.minRepetitionTime, policy.minTime / Double(max(1, policy.minRepetitions)), t)
        let rounds = Double(max(policy.minRepetitions, Int((policy.minTime / repetition).rounded(.up))))
        let warm = max(policy.warmup, t)
        return warm + rounds * (warm + repetition + (quiet ? quietPerRepetition : 0))
    }

    /// Building a matrix group (BSR, CSR, dense forms) and its reference for one N.
    public func setUpSeconds(m: Int, k: Int, density: Double, n: Int, dense: Bool) -> Double {
        let mk = Double(m) * Double(k), stored = mk * density
        return buildPerElement * stored + (dense ? densePerElement * mk : 0) + referencePerProduct * stored * Double(n)
            + 1e-9 * Double(k * n + m * n) * 4
    }

    /// The serial measurement that decides whether a threaded sparse product's threads pay:
    /// one call when it is far past the threshold (a millisecond, about 1000 x a team's
    /// fork/join), else a short measurement.
    public func serialCheckSeconds(one: Double) -> Double { one >= 1e-3 ? one : 0.002 + max(0.005, 3 * one) }

    /// The partition profile of a threaded sparse case: rounds of (two calls
    /// on one thread, two threaded calls, every partition alone twice, two
    /// 3 ms FMA probes).
    public func profileSeconds(one: Double, threaded: Double) -> Double {
        Double(SuiteRunner.profileRounds(serialSeconds: one)) * (4 * one + 2 * threaded + 0.006)
    }
}

extension SuiteRunner {
    /// The model's seconds for a planned case (its ETA weight): timing, the
    /// verification call, the serial pre-measurement and partition profile
    /// of a threaded sparse case, and the per-case bookkeeping. Set-up is
    /// added per comparison set by ``plan()``.
    func caseSeconds(format: CaseFormat, source: MatrixSource, block: BlockShape, sparsity: Double?, n: Int,
                     threads: Int, model: CostModel = CostModel()) -> Double {
        let density = density(source, block: block, sparsity: sparsity)
        let one = model.callSeconds(format, m: source.rows, k: source.cols, n: n, density: density)
        let t = model.callSeconds(format, m: source.rows, k: source.cols, n: n, density: density, threads: threads)
        var s = model.timingSeconds(t, policy: config.timing, quiet: !((format == .dense || format.peer != nil) && threads > 1))
            + t + model.perCase
        if format.peer != nil {
            s += 20 * one + (threads > 1 ? 0.3 : 0)  // the handle, hint and optimisation; the pause after threaded calls
        } else if format != .dense && threads > 1 {
            s += model.serialCheckSeconds(one: one)
            if t < one { s += model.profileSeconds(one: one, threaded: t) }
        }
        return s
    }

    /// The stored fraction of a source's elements at a block sparsity (a file's own density).
    func density(_ source: MatrixSource, block: BlockShape, sparsity: Double?) -> Double {
        if case let .fixed(_, matrix, _, _) = source {
            return Double(matrix.nonzeros) / max(1, Double(matrix.rows) * Double(matrix.cols))
        }
        return 1 - (sparsity ?? 0)
    }

    /// The model's seconds for one comparison set's set-up (matrix group and
    /// reference; the group is built once per sparsity, the reference per N).
    func setSeconds(_ c: PlannedCase, newGroup: Bool, model: CostModel = CostModel()) -> Double {
        let source = config.sources[c.source]
        let density = density(source, block: c.block, sparsity: c.sparsity)
        let build = model.setUpSeconds(m: source.rows, k: source.cols, density: density, n: c.n,
                                       dense: config.formats.contains(.dense))
        let reference = model.referencePerProduct * Double(source.rows) * Double(source.cols) * density * Double(c.n)
        return (newGroup ? build : reference) + model.perSet
    }

    /// The model's seconds for one break-even search: ``plannedProbesPerSearch``
    /// probes at ``plannedProbeSparsity``, each built (with its reference),
    /// verified and timed alone; a probe has no partition profile and no
    /// comparison set of its own.
    func searchSeconds(format: CaseFormat, source: Int, block: BlockShape, n: Int, threads: Int,
                       model: CostModel = CostModel()) -> Double {
        guard config.breakEven != nil else { return 0 }
        let src = config.sources[source]
        let s = Self.plannedProbeSparsity
        let one = model.callSeconds(format, m: src.rows, k: src.cols, n: n, density: 1 - s)
        let t = model.callSeconds(format, m: src.rows, k: src.cols, n: n, density: 1 - s, threads: threads)
        let probe = model.timingSeconds(t, policy: config.timing, quiet: true) + t + model.perProbe
            + (threads > 1 ? model.serialCheckSeconds(one: one) : 0)
            + model.setUpSeconds(m: src.rows, k: src.cols, density: 1 - s, n: n, dense: false)
        return Self.plannedProbesPerSearch * probe
    }

    /// What the run of `cases` is planned to take, in seconds: start-up
    /// probes, every case with its set's set-up, and every break-even search.
    public func plannedSeconds(_ cases: [PlannedCase], model: CostModel = CostModel()) -> Double {
        model.startup + cases.reduce(0) { $0 + $1.weight } + breakEvenTargets(cases).reduce(0) { $0 + $1.weight }
    }
}
