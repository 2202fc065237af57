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

/// Runs a suite: for each matrix group, builds the matrices, computes the
/// Swift reference once, then for each case verifies the kernel's result
/// before timing it. Failed verifications are recorded (never timed) and
/// make ``SuiteOutcome/failures`` non-empty.
public final class SuiteRunner {
    public let config: SuiteConfig
    /// The FMA peak that percentages are of: the start-up measurement, raised
    /// by the probe samples taken between comparison sets (see ``samplePeak()``).
    public private(set) var peak: MachinePeak?
    /// The peak as measured at start-up.
    private let startPeak: MachinePeak?
    /// Threads each case's product really used (its percent of peak is of that many cores).
    private var threadsOfCase: [String: Int] = [:]
    public private(set) var report: BenchmarkReport
    public private(set) var failures: [String] = []
    /// Called before a case runs and after it finishes.
    public var onProgress: ((SuiteProgress) -> Void)?
    /// Called after each case with the report so far (write it out here).
    public var onCaseFinished: ((BenchmarkReport, BenchmarkEntry) throws -> Void)?
    /// Called after each break-even search with the report so far (its `break_even` section holds the result).
    public var onBreakEvenFinished: ((BenchmarkReport, BreakEvenResult) throws -> Void)?
    /// Called for one-line notices (fill-in, serial fallback, placement).
    public var onNotice: ((String) -> Void)?
    /// Asked before every round of a comparison set and after every timed
    /// repetition whether the machine is undisturbed (``QuietCheck/gate(maxWait:)``);
    /// disturbed rounds are timed again and counted in `retimed_rounds`, or,
    /// once the gate's budget is spent, kept and counted in `disturbed_rounds`.
    /// Nil: every round is kept.
    public var quietGate: QuietGate?
    /// Comparison sets timed behind the quiet gate, those with retimed rounds,
    /// the rounds dropped in all, and the rounds kept although the check failed.
    public private(set) var retimed: (timedSets: Int, sets: Int, rounds: Int, disturbed: Int) = (0, 0, 0, 0)
    /// Tests only: perturb one output element before verification, to prove
    /// that a mismatch is recorded and never timed.
    var corruptResultForTesting = false
    /// The names of the cases timed in each run of interleaved rounds, in order.
    private(set) var timedTogether: [[String]] = []
    /// Break-even searches: dense (kernel, median seconds, nil when it did not
    /// verify; how many medians it is the median of) per source, N and thread count.
    var searchDense: [String: (kernel: String, seconds: Double?, measurements: Int)] = [:]

    public init(config: SuiteConfig, context: MachineContext, peak: MachinePeak?) {
        self.config = config
        self.peak = peak
        startPeak = peak
        var context = context
        context.peak = peak
        report = BenchmarkReport(context: context)
    }

    /// The cases the suite will run, after the filter.
    public func plan() throws -> [PlannedCase] {
        let regex: NSRegularExpression?
        if let f = config.filter {
            do { regex = try NSRegularExpression(pattern: f) } catch {
                throw MatrixError.shapeMismatch("--filter '\(f)' is not a valid regular expression")
            }
        } else {
            regex = nil
        }
        var cases: [PlannedCase] = []
        for (si, source) in config.sources.enumerated() {
            let sparsities: [Double?] = source.fixedSparsity.map { [$0] } ?? config.sparsities.map { $0 }
            for block in config.blocks where source.onlyBlock == nil || source.onlyBlock == block {
                for s in sparsities {
                    for n in config.ns {
                        // One comparison (same matrix and N) after another: run() times each together.
                        for t in config.threads {
                            for format in config.formats {
                              if format.base == .bsr && block.area == 1 { continue }  // 1x1 BSR is CSR
                              // MKL's BSR takes square blocks whose side divides both sides of A.
                              if format == .mklBSR && (block.rows != block.cols || source.rows % block.rows != 0
                                                       || source.cols % block.cols != 0) { continue }
                              // Strategies and runtimes only differ for threaded sparse
                              // cases of KernelBench; the others run once, named without them.
                              let threaded = t > 1 && (format == .bsr || format == .csr)
                              let variants = (threaded ? config.strategies : [.balanced]).flatMap { strategy in
                                  (threaded ? config.runtimes : [.team]).map { (strategy, $0) }
                              }
                              for (strategy, runtime) in variants {
                                // (a fixed matrix's cases are named "real", whatever their sparsity)
                                let name = SuiteConfig.caseName(format: format, source: source.label, block: block,
                                                                sparsity: source.fixedSparsity == nil ? s : nil, n: n,
                                                                threads: t, strategy: strategy, runtime: runtime)
                                if let regex, regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) == nil {
                                    continue
                                }
                                let weight = caseSeconds(format: format, source: source, block: block, sparsity: s,
                                                         n: n, threads: t)
                                cases.append(PlannedCase(name: name, format: format, source: si, block: block,
                                                         sparsity: s, n: n, threads: t, strategy: strategy,
                                                         runtime: runtime, weight: weight))
                              }
                            }
                        }
                    }
                }
            }
        }
        // Each comparison set's set-up (its matrices when they are new, its
        // reference), shared among its cases.
        var first = 0
        var lastGroup: String?
        while first < cases.count {
            var end = first + 1
            while end < cases.count && Self.comparisonKey(cases[end]) == Self.comparisonKey(cases[first]) { end += 1 }
            let c = cases[first]
            let group = "\(c.source)/\(c.block)/\(c.sparsity ?? -1)"
            let share = setSeconds(c, newGroup: group != lastGroup) / Double(end - first)
            for i in first..<end { cases[i].weight += share }
            lastGroup = group
            first = end
        }
        return cases
    }

    /// Bytes the largest comparison (or break-even probe) needs (A in three formats, B, C, the
    /// reference, and the driver copies of every sparse case timed together),
    /// checked against available memory before anything is allocated. A
    /// generated matrix counts at the generator's peak when that is higher
    /// (per-block-row lists: tall, narrow shapes need far more than their
    /// non-zeros), and the CSR forms count their row pointers.
    public func checkMemory(_ cases: [PlannedCase]) throws {
        var worst = 0.0  // Double: absurd shapes must not overflow before they are refused
        var all = cases
        if let search = config.breakEven {
            // A break-even search may probe down to its lowest sparsity.
            all += breakEvenTargets(cases).map {
                PlannedCase(name: $0.name, format: $0.format, source: $0.source, block: $0.block, sparsity: search.lowest,
                            n: $0.n, threads: $0.threads, strategy: .balanced, runtime: .team, weight: 0)
            }
        }
        for c in all {
            let source = config.sources[c.source]
            let rows = Double(source.rows), mk = rows * Double(source.cols)
            // Logical non-zeros: a file's own count (not rows x cols: a large sparse file must fit).
            var stored = mk * (1 - (c.sparsity ?? 0))
            if case let .fixed(_, matrix, _, _) = source { stored = Double(matrix.nonzeros) }
            let bBytes = Double(source.cols) * Double(c.n) * 4, cBytes = rows * Double(c.n) * 4
            // The group's BSR form (blocks stored whole, padding included), and what building it peaks at.
            let bsrBytes: Double
            var generatorPeak = 0.0
            switch source {
            case let .generated(_, r, k, distribution):
                let spec = GeneratorSpec(rows: r, cols: k, block: c.block, sparsity: c.sparsity ?? 0,
                                         distribution: distribution, seed: config.seed)
                bsrBytes = Double(spec.bsrBytes)
                generatorPeak = Double(spec.generatorPeakBytes)
            case let .fixed(_, matrix, _, _):
                // At most one block per non-zero, and no more than the grid holds.
                let grid = Double(c.block.blockRowCount(matrix.rows)) * Double(c.block.blockColCount(matrix.cols))
                let blocks = min(Double(matrix.nonzeros), grid)
                bsrBytes = BSRMatrix.storageBytes(blockRows: Double(c.block.blockRowCount(matrix.rows)), blocks: blocks,
                                                  block: c.block)
            }
            let csrBytes = 4 * (rows + 1) + 8 * stored
            let csrBuild = Double(CSRMatrix.conversionPeakBytes(rows: source.rows, nonzeros: saturated(stored)))
            var bytes = max(generatorPeak, bsrBytes + csrBuild)
            if config.formats.contains(.dense) || config.formats.contains(.mklDense) { bytes += mk * 4 + cBytes }
            // A peer's sparse handle holds its own copy of A's arrays (and MKL's optimised form).
            if config.formats.contains(.mklBSR) { bytes += 2 * bsrBytes + bBytes + cBytes }
            if config.formats.contains(.mklCSR) { bytes += 2 * csrBytes + bBytes + cBytes }
            if config.formats.contains(.mklDense) { bytes += bBytes + cBytes }
            bytes += bBytes + cBytes * 4 + rows * 8  // B and the reference (Double sums and magnitudes, terms per row)
            // Sparse cases of one comparison are alive together, each with its own A, B and C.
            let variants = Double(c.threads > 1 ? config.strategies.count * config.runtimes.count : 1)
            if config.formats.contains(.bsr) && c.block.area > 1 { bytes += variants * (bsrBytes + bBytes + cBytes) }
            if config.formats.contains(.csr) { bytes += variants * (csrBytes + bBytes + cBytes) }
            worst = max(worst, bytes)
        }
        try BlockSparse.checkMemory(saturated(worst), what: "the largest benchmark case")
    }

    /// Runs every planned case in order. The cases of one comparison (same
    /// matrix and N: BSR, CSR, dense, each thread count and partition strategy)
    /// are verified one by one and then timed together in interleaved rounds
    /// (``measureInterleaved(_:_:quiet:)``), so a slow stretch of a shared machine
    /// falls on all of them and their speedups stay honest. Dense with more
    /// than one OpenBLAS thread is verified and timed on its own after the
    /// sparse cases: OpenBLAS's idle workers spin for about 0.1 s after each
    /// threaded call, and two threads of other work then ran 10-50% slower.
    /// A peer library's threaded cases are timed on their own likewise (MKL's
    /// OpenMP workers spin for 200 ms after each call), followed by a pause
    /// of 0.3 s so that their spinning workers are asleep before the next set.
    public func run(_ cases: [PlannedCase]) throws {
        let start = monotonicNanoseconds()
        let searches = breakEvenTargets(cases)
        let total = cases.count + searches.count
        let totalWeight = cases.reduce(0) { $0 + $1.weight } + searches.reduce(0) { $0 + $1.weight }
        var doneWeight = 0.0
        var groupCache: (key: String, group: MatrixGroup)?
        var referenceCache: (key: String, b: DenseMatrix, reference: Reference)?
        func progress(_ done: Int, _ current: String) {
            let elapsed = Double(monotonicNanoseconds() - start) * 1e-9
            onProgress?(SuiteProgress(done: done, total: total, elapsed: elapsed,
                                      eta: Self.eta(elapsed: elapsed, doneWeight: doneWeight, totalWeight: totalWeight,
                                                    budget: quietGate?.budget),
                                      current: current))
        }
        var first = 0
        while first < cases.count {
            var end = first + 1
            while end < cases.count && Self.comparisonKey(cases[end]) == Self.comparisonKey(cases[first]) { end += 1 }
            let set = cases[first..<end]
            progress(first, set.count == 1 ? set[first].name
                     : "\(set[first].name) and \(set.count - 1) more, timed together")

            let planned = set[first]
            let groupKey = "\(planned.source)/\(planned.block)/\(planned.sparsity ?? -1)"
            if groupCache?.key != groupKey {
                groupCache = (groupKey, try makeGroup(planned))
                referenceCache = nil
            }
            let group = groupCache!.group
            let refKey = "\(groupKey)/\(planned.n)"
            if referenceCache?.key != refKey {
                let b = try DenseMatrix.random(rows: group.bsr.cols, cols: planned.n, seed: config.seed &+ UInt64(planned.n))
                referenceCache = (refKey, b, try Reference(group.bsr, b))
            }
            // Threaded dense and threaded peer cases run after the sparse cases
            // (and their partition profiles), verified and timed each on its own.
            func timedAlone(_ c: PlannedCase) -> Bool { (c.format == .dense || c.format.peer != nil) && c.threads > 1 }
            let prepared = try set.filter { !timedAlone($0) }.map {
                try prepareCase($0, group: group, b: referenceCache!.b, reference: referenceCache!.reference)
            }
            let timed = prepared.indices.filter { prepared[$0].call != nil }
            var measurements = [Measurement?](repeating: nil, count: prepared.count)
            timedTogether.append(timed.map { prepared[$0].planned.name })
            let measured = timeTogether(timed.map { prepared[$0].call! }, sessions: timed.map { prepared[$0].session })
            for (i, m) in zip(timed, measured) { measurements[i] = m }
            var done = first
            func emit(_ p: PreparedCase, _ m: Measurement?) throws {
                progress(done, p.planned.name)
                let entries = try finishCase(p, measurement: m)
                report.benchmarks.append(contentsOf: entries)
                if let last = entries.last { try onCaseFinished?(report, last) }
                doneWeight += p.planned.weight
                done += 1
            }
            samplePeak()
            for (p, m) in zip(prepared, measurements) { try emit(p, m) }
            for c in set where timedAlone(c) {
                let p = try prepareCase(c, group: group, b: referenceCache!.b, reference: referenceCache!.reference)
                // (no quiet check: OpenBLAS's workers spin for 0.1 s after each call)
                try emit(p, p.call.map { Benchmarking.measure(config.timing, $0) })
                if c.format.peer != nil { Thread.sleep(forTimeInterval: 0.3) }  // MKL's OpenMP workers go to sleep
            }
            first = end
        }
        if let search = config.breakEven, !searches.isEmpty {
            groupCache = nil
            referenceCache = nil
            if report.break_even == nil { report.break_even = [] }
            for (i, target) in searches.enumerated() {
                progress(cases.count + i, "break-even search: " + target.name)
                let searchStart = monotonicNanoseconds()
                var result = try searchBreakEven(target, search: search)
                result.seconds = Double(monotonicNanoseconds() - searchStart) * 1e-9
                result.planned_seconds = target.weight
                report.break_even!.append(result)
                try onBreakEvenFinished?(report, result)
                doneWeight += target.weight
            }
        }
        let elapsed = Double(monotonicNanoseconds() - start) * 1e-9
        onProgress?(SuiteProgress(done: total, total: total, elapsed: elapsed, eta: 0, current: ""))
    }

    /// Seconds left: the planned weight left at the rate measured so far,
    /// with the plan itself counted as ``planPrior`` of the run measured at
    /// its own rate (the first case alone, 4096x4096 right after start-up,
    /// extrapolated to an hour); and apart from it the time spent on waits
    /// and dropped rounds, extrapolated on its own and capped by what is left
    /// of its budget (on a busy host it is spent early and then stops).
    static func eta(elapsed: Double, doneWeight: Double, totalWeight: Double, budget: RetimeBudget?) -> Double? {
        guard totalWeight > 0 else { return nil }
        let left = max(0, totalWeight - doneWeight), prior = planPrior * totalWeight
        let rate = (max(0, elapsed - (budget?.spent ?? 0)) + prior) / (doneWeight + prior)
        let retiming = budget.map { doneWeight > 0 ? min($0.left, $0.spent * left / doneWeight) : 0 } ?? 0
        return rate * left + retiming
    }
    static let planPrior = 0.1

    /// Times the bodies in interleaved rounds behind the quiet gate, counting dropped rounds.
    func timeTogether(_ bodies: [() -> Void], sessions: [Session?]) -> [Measurement] {
        let ms = measureInterleaved(config.timing, bodies, sessions: sessions, quiet: quietGate)
        if let dropped = ms.first?.retimedRounds {
            retimed.timedSets += 1
            if dropped > 0 {
                retimed.sets += 1
                retimed.rounds += dropped
            }
            retimed.disturbed += ms.first?.disturbedRounds ?? 0
        }
        return ms
    }

    /// One more FMA probe sample, one core and all cores (about 7 ms), after
    /// each comparison set. The start-up probes take about a second: on a
    /// shared VM that second can fall in a stretch where another workload
    /// holds part of the core, and kernels then showed 112% of a 77 GFLOP/s
    /// "peak" on a machine that does 118. The probes only ever read low, so
    /// the fastest sample of the run is the peak; when a sample raises it,
    /// every percentage so far is recomputed (the files are rewritten as
    /// cases finish) and a notice says so once.
    private func samplePeak() {
        guard var p = peak else { return }
        let one = MachinePeak.probeGFLOPS(threads: 1, iterations: 2_000_000)
        let all = p.threads > 1 ? MachinePeak.probeGFLOPS(threads: p.threads, iterations: 2_000_000) : one
        let raised = MachinePeak.peaks(oneCore: [p.gflopsOneCore, one], allCores: [p.gflopsAllCores, all],
                                       threads: p.threads)
        guard raised.one > p.gflopsOneCore || raised.all > p.gflopsAllCores else { return }
        let announced = startPeak.map { p.gflopsOneCore > 1.03 * $0.gflopsOneCore } ?? true
        p.gflopsOneCore = raised.one
        p.gflopsAllCores = raised.all
        peak = p
        report.context.peak = p
        for i in report.benchmarks.indices where report.benchmarks[i].percent_of_peak != nil {
            let e = report.benchmarks[i]
            let threads = threadsOfCase[e.run_name] ?? e.threads
            report.benchmarks[i].percent_of_peak = e.useful_gflops / peakGFLOPS(p, threads: threads) * 100
        }
        if let start = startPeak, !announced, p.gflopsOneCore > 1.03 * start.gflopsOneCore {
            onNotice?(String(format: "the FMA probe read %.1f GFLOP/s on one core during the run, above the %.1f "
                             + "measured at the start (the machine was busy then): percentages of peak use the "
                             + "fastest sample", p.gflopsOneCore, start.gflopsOneCore))
        }
    }

    /// Peak for this many threads: the measured one-core figure, or the
    /// measured all-core figure once every probed core is in use.
    private func peakGFLOPS(_ peak: MachinePeak, threads: Int) -> Double {
        threads >= peak.threads ? peak.gflopsAllCores : peak.gflopsOneCore * Double(threads)
    }

    /// Cases with the same key compare with each other and are timed together.
    static func comparisonKey(_ c: PlannedCase) -> String {
        "\(c.source)/\(c.block)/\(c.sparsity ?? -1)/\(c.n)"
    }

    /// The matrices of one (source, block, sparsity): BSR, CSR and dense forms
    /// of the same logical matrix.
    struct MatrixGroup {
        let bsr: BSRMatrix
        let csr: CSRMatrix
        var dense: DenseMatrix?
        let distribution: String
        let fillRatio: Double?
    }

    /// - Parameter withDense: build the dense form (default: when the suite runs dense).
    func makeGroup(_ c: PlannedCase, withDense: Bool? = nil) throws -> MatrixGroup {
        let source = config.sources[c.source]
        let bsr: BSRMatrix
        let fill: Double?
        let distribution: String
        switch source {
        case let .generated(_, rows, cols, dist):
            bsr = try BSRMatrix.random(GeneratorSpec(rows: rows, cols: cols, block: c.block, sparsity: c.sparsity ?? 0,
                                                     distribution: dist, seed: config.seed))
            fill = nil
            distribution = dist.rawValue
            let target = c.sparsity ?? 0
            if let warning = blockSparsityWarning(target: target, achieved: bsr.blockSparsity,
                                                  blocks: bsr.blockRowCount * bsr.blockColCount,
                                                  matrix: "\(source.label) (\(rows)x\(cols))", block: c.block) {
                onNotice?(warning + " (cases named s\(SuiteConfig.percentLabel(target)); achieved_sparsity in the results)")
            }
        case let .fixed(label, csr, _, _):
            let conversion = BSRMatrix.converting(csr, block: c.block)
            bsr = conversion.matrix
            fill = conversion.fillRatio
            distribution = "file"
            if c.block.area > 1 {
                onNotice?(String(format: "%@ as %@ BSR: %d blocks, fill-in %d explicit zeros (%.2fx the %d non-zeros)",
                                 label, c.block.description, bsr.blockCount, conversion.fillIn, conversion.fillRatio,
                                 csr.nonzeros))
            }
        }
        let csr = CSRMatrix(bsr: bsr)
        let dense = (withDense ?? (config.formats.contains(.dense) || config.formats.contains(.mklDense)))
            ? DenseMatrix(bsr: bsr) : nil
        return MatrixGroup(bsr: bsr, csr: csr, dense: dense, distribution: distribution, fillRatio: fill)
    }

    /// A case built and verified, ready to be timed.
    struct PreparedCase {
        let planned: PlannedCase
        /// One product; nil when verification failed (the case is never timed).
        let call: (() -> Void)?
        /// What a round's calls of `call` run inside: the driver's worker team.
        var session: Session?
        /// The entry every repetition and aggregate starts from (kernel, partition, verification, ...).
        let base: BenchmarkEntry
        let profile: (() throws -> PartitionProfile)?
        let usefulFlops, effectiveFlops, bytes: Double
        /// Threads the product really uses (the percent of peak is of that many cores).
        let threads: Int
    }

    /// Builds the operands and driver of a case and verifies one product
    /// against the reference; a failure is recorded and the case gets no call.
    func prepareCase(_ c: PlannedCase, group: MatrixGroup, b: DenseMatrix, reference: Reference) throws -> PreparedCase {
        let a = group.bsr
        let m = a.rows, k = a.cols, n = c.n
        var kernelName: String
        var partition = "serial"
        var usedThreads = c.threads  // below the work threshold a threaded sparse case runs on one
        var profile: (() throws -> PartitionProfile)?
        var session: Session?
        var call: () -> Void
        var result: () -> DenseMatrix
        var peerSetup: (seconds: Double, optimize: String)?
        var peerFailure: String?
        switch c.format {
        case .mklBSR, .mklCSR, .mklDense:
            // (`run` loads it before anything is measured; a suite built in code loads it here.)
            if !Peer.mkl.isLoaded { try Peer.mkl.load() }
            let threads = c.threads
            kernelName = c.format.rawValue
            partition = "mkl \(threads) thread\(threads == 1 ? "" : "s")"
            nonisolated(unsafe) var out = try DenseMatrix(zeros: m, n)
            out.values = [Float](repeating: .nan, count: out.values.count)
            result = { out }
            call = {}
            let honoured = Peer.mkl.setThreads(threads)
            if honoured != threads {
                peerFailure = "Intel MKL reports \(honoured) thread(s) where the case asks \(threads) "
                    + "(is MKL_THREADING_LAYER=SEQUENTIAL set?)"
            } else {
                do {
                    let operand = try MKLOperand(c.format, bsr: a, csr: group.csr, dense: group.dense, n: n)
                    kernelName = operand.kernelName
                    peerSetup = (operand.setupSeconds, operand.optimizeStatus)
                    // MKL's thread count is set on every call, as OpenBLAS's (a few ns).
                    call = { operand.multiply(b, into: &out, threads: threads) }
                } catch {
                    peerFailure = "\(error)"
                }
            }
        case .dense:
            // What a user would call: sgemv for one column of B, sgemm otherwise.
            kernelName = DenseBaseline.routine(n: n).kernelName
            partition = "openblas \(c.threads) thread\(c.threads == 1 ? "" : "s")"
            let dense = group.dense!, threads = c.threads
            nonisolated(unsafe) var out = try DenseMatrix(zeros: m, n)
            out.values = [Float](repeating: .nan, count: out.values.count)
            // OpenBLAS's thread count is global: every call sets its own (a few ns).
            call = { DenseBaseline.setThreads(threads); try! DenseBaseline.multiply(dense, b, into: &out) }
            result = { out }
        case .bsr, .csr:
            let format: SparseFormat = c.format == .bsr ? .bsr : .csr
            let kernel = try Kernel.select(format, block: c.format == .bsr ? a.block : try BlockShape(square: 1), n: n)
            kernelName = kernel.name
            let operand: SparseOperand = c.format == .bsr ? .bsr(a) : .csr(group.csr)
            var threads = c.threads
            if threads > 1 {
                // Below a work threshold derived from the fork/join cost of the
                // case's runtime, run serially. The single-thread time is a short
                // measurement here: the 1-thread case of this matrix is timed
                // later, in the same rounds.
                let serial = try ParallelSpMM(operand, b, kernel: kernel, options: DriverOptions(threads: 1))
                let t1 = Benchmarking.measure(TimingPolicy(minRepetitions: 3, minTime: 0.005, warmup: 0.002)) { serial.run() }
                    .summary.median
                let overhead = peak?.forkJoinOverhead(c.runtime)
                    ?? ForkJoinCost.measure(c.runtime, threads: threads).beyondIdeal
                let choice = ParallelSpMM.threadsWorthUsing(threads, serialSeconds: t1, forkJoinOverhead: overhead,
                                                            runtime: c.runtime)
                threads = choice.threads
                if let reason = choice.serialReason {
                    partition = reason
                    onNotice?("\(c.name) runs on 1 thread: \(reason)")
                }
            }
            let driver = try ParallelSpMM(operand, b, kernel: kernel,
                                          options: DriverOptions(threads: threads, strategy: c.strategy,
                                                                 bPlacement: config.bPlacement, runtime: c.runtime,
                                                                 spinWindow: config.spinWindow))
            if threads > 1 {
                partition = "\(c.strategy.rawValue) \(driver.partitionCount) partitions"
                    + (driver.plan.columnSlices > 1 ? " (N split \(driver.plan.columnSlices))" : "")
                    + ", \(c.runtime.rawValue)"
                session = { calls in driver.withSession(calls) }
            }
            call = { driver.run() }
            result = { driver.result() }
            usedThreads = threads
            if threads > 1 && driver.partitionCount > 1 {
                profile = { try Self.profile(driver, serial: ParallelSpMM(operand, b, kernel: kernel,
                                                                          options: DriverOptions(threads: 1))) }
            }
        }

        // Verify first: a number is only reported after its result checks out.
        if peerFailure == nil { call() }
        var output = result()
        if corruptResultForTesting, !output.values.isEmpty { output.values[0] += 1 }
        let verification = output.values.withUnsafeBufferPointer { reference.verify($0, ld: n) }
        let usefulFlops = 2.0 * Double(a.storedLogicalElements) * Double(n)
        let effectiveFlops = 2.0 * Double(m) * Double(k) * Double(n)
        let bytes = movedBytes(c.format, group: group, n: n)
        var base = BenchmarkEntry(
            name: c.name, run_name: c.name, run_type: "aggregate", aggregate_name: "median", repetitions: 0,
            repetition_index: nil, threads: c.threads, iterations: 0, real_time: 0, cpu_time: 0, time_unit: "ns",
            format: c.format.rawValue, kernel: kernelName, block_rows: a.block.rows, block_cols: a.block.cols,
            m: m, k: k, n: n, sparsity: c.sparsity ?? (1 - Double(a.storedLogicalElements) / Double(max(1, m * k))),
            achieved_sparsity: 1 - Double(a.storedLogicalElements) / Double(max(1, m * k)),
            distribution: group.distribution, matrix: config.sources[c.source].label, partition: partition,
            useful_gflops: 0, effective_gflops: 0, gbytes_per_second: 0, percent_of_peak: nil, speedup_vs_dense: nil,
            speedup_vs_csr: nil, verified: verification.passed, max_abs_error: verification.maxAbsoluteError,
            max_rel_error: verification.maxRelativeError, fill_ratio: group.fillRatio,
            error_occurred: nil, error_message: nil)
        if let peerSetup {
            base.peer_library = Peer.mkl.version
            base.peer_setup_seconds = peerSetup.seconds
            base.peer_optimize = peerSetup.optimize.isEmpty ? nil : peerSetup.optimize
        }
        if let peerFailure {
            failures.append("\(c.name) [\(kernelName)]: \(peerFailure)")
            base.verified = false
            base.error_occurred = true
            base.error_message = peerFailure
            return PreparedCase(planned: c, call: nil, session: nil, base: base, profile: nil, usefulFlops: usefulFlops,
                                effectiveFlops: effectiveFlops, bytes: bytes, threads: usedThreads)
        }
        guard verification.passed else {
            failures.append("\(c.name) [\(kernelName)]: \(verification)")
            base.error_occurred = true
            base.error_message = "verification failed: \(verification)"
            return PreparedCase(planned: c, call: nil, session: nil, base: base, profile: nil, usefulFlops: usefulFlops,
                                effectiveFlops: effectiveFlops, bytes: bytes, threads: usedThreads)
        }
        return PreparedCase(planned: c, call: call, session: session, base: base, profile: profile,
                            usefulFlops: usefulFlops, effectiveFlops: effectiveFlops, bytes: bytes, threads: usedThreads)
    }

    /// The entries of a timed case (every repetition, then the aggregates,
    /// median last); a case that failed verification has only its error entry.
    private func finishCase(_ p: PreparedCase, measurement: Measurement?) throws -> [BenchmarkEntry] {
        let c = p.planned
        var base = p.base
        threadsOfCase[c.name] = p.threads
        guard let measurement else { return [base] }
        base.retimed_rounds = measurement.retimedRounds
        base.disturbed_rounds = measurement.disturbedRounds
        let summary = measurement.summary
        var entries: [BenchmarkEntry] = []
        for (i, t) in measurement.perCall.enumerated() {
            var e = base
            e.name = c.name
            e.run_type = "iteration"
            e.aggregate_name = nil
            e.repetitions = measurement.perCall.count
            e.repetition_index = i
            e.iterations = measurement.callsPerRepetition
            e.real_time = t * 1e9
            e.cpu_time = t * 1e9
            fillRates(&e, seconds: t, useful: p.usefulFlops, effective: p.effectiveFlops, bytes: p.bytes, threads: p.threads)
            entries.append(e)
        }
        let aggregates: [(String, Double)] = [("median", summary.median), ("mean", summary.mean), ("min", summary.min),
                                              ("max", summary.max), ("mad", summary.mad), ("stddev", summary.stddev)]
        for (label, t) in aggregates {
            var e = base
            e.name = c.name + "_" + label
            e.aggregate_name = label
            e.repetitions = measurement.perCall.count
            e.iterations = measurement.perCall.count
            e.real_time = t * 1e9
            e.cpu_time = t * 1e9
            if label != "mad" && label != "stddev" {
                fillRates(&e, seconds: t, useful: p.usefulFlops, effective: p.effectiveFlops, bytes: p.bytes, threads: p.threads)
            }
            entries.append(e)
        }
        // Median-last so onCaseFinished sees the median entry; speedups use
        // the same-run medians of the other formats on this matrix.
        var median = entries.first { $0.aggregate_name == "median" }!
        median.partition_profile = try p.profile?()
        entries.removeAll { $0.aggregate_name == "median" }
        entries.append(median)
        applySpeedups(to: &entries)
        return entries
    }

    /// Rounds of (1-thread run, traced threaded run, each partition alone,
    /// FMA probe on one thread and on the driver's threads), back to back;
    /// see ``PartitionProfile``.
    public static func profile(_ driver: ParallelSpMM, serial: ParallelSpMM, rounds: Int = 9) -> PartitionProfile {
        let count = driver.partitionCount
        let threads = max(1, min(driver.options.threads, count))
        var ratios: [Double] = [], probeRatios: [Double] = [], threadStarts: [Double] = [], shared = 0
        var alone = Array(repeating: [Double](), count: count)
        var together = alone, starts = alone
        serial.run(); driver.run()  // warm: buffers in cache
        for _ in 0..<rounds {
            let t0 = monotonicNanoseconds()
            serial.run()
            let one = Double(monotonicNanoseconds() - t0) * 1e-9
            // As the case is timed: a team's traced product follows one in the same session.
            let (seconds, traces) = driver.withSession { driver.run(); return driver.runTraced() }
            if seconds > 0 { ratios.append(one / seconds) }
            if Set(traces.map(\.thread)).count < traces.count { shared += 1 }
            for t in traces {
                together[t.partition].append(t.end - t.start)
                starts[t.partition].append(t.start)
            }
            // When the last thread to join began its first partition.
            let firstStarts = Dictionary(traces.map { ($0.thread, $0.start) }, uniquingKeysWith: min)
            if let latest = firstStarts.values.max() { threadStarts.append(latest) }
            for p in 0..<count {
                let s = monotonicNanoseconds()
                driver.runPartitionAlone(p)
                alone[p].append(Double(monotonicNanoseconds() - s) * 1e-9)
            }
            // The cores the machine gave this round: about 3 ms per probe, so that
            // waking the pool's workers (tens of us here) costs the ratio little.
            let single = MachinePeak.probeGFLOPS(threads: 1, iterations: 2_000_000)
            if single > 0 { probeRatios.append(MachinePeak.probeGFLOPS(threads: threads, iterations: 2_000_000) / single) }
        }
        func median(_ x: [Double]) -> Double { x.isEmpty ? 0 : x.sorted()[x.count / 2] }
        return PartitionProfile(rounds: rounds, paired_speedup: median(ratios), alone_seconds: alone.map(median),
                                together_seconds: together.map(median), start_seconds: starts.map(median),
                                rounds_with_shared_thread: shared, probe_scaling: probeRatios.isEmpty ? nil : median(probeRatios),
                                threads: threads, latest_thread_start: threadStarts.isEmpty ? nil : median(threadStarts))
    }

    private func fillRates(_ e: inout BenchmarkEntry, seconds: Double, useful: Double, effective: Double, bytes: Double,
                           threads: Int) {
        guard seconds > 0 else { return }
        e.useful_gflops = useful / seconds / 1e9
        e.effective_gflops = effective / seconds / 1e9
        e.gbytes_per_second = bytes / seconds / 1e9
        if let peak { e.percent_of_peak = e.useful_gflops / peakGFLOPS(peak, threads: threads) * 100 }
    }

    /// Compulsory traffic: A (values, indices, row pointers) once, B once, C written once.
    private func movedBytes(_ format: CaseFormat, group: MatrixGroup, n: Int) -> Double {
        let a = group.bsr
        let aBytes: Double
        switch format.base {
        case .bsr: aBytes = Double(a.values.count * 4 + a.columnIndices.count * 4 + a.rowPointers.count * 4)
        case .csr: aBytes = Double(group.csr.values.count * 8 + group.csr.rowPointers.count * 4)
        default: aBytes = Double(a.rows * a.cols * 4)
        }
        return aBytes + Double(a.cols * n * 4) + Double(a.rows * n * 4)
    }

    /// Fills speedup_vs_dense / speedup_vs_csr / speedup_vs_mkl on `new`
    /// entries (and on the earlier entries of the same matrix) from median
    /// times in this run: a sparse case against dense at its thread count and
    /// against CSR with the same partition strategy and runtime; a case of
    /// KernelBench's (BSR, CSR, dense OpenBLAS) against MKL's routine on the
    /// same storage at its thread count (mkl-bsr, mkl-csr, mkl-dense).
    private func applySpeedups(to new: inout [BenchmarkEntry]) {
        func variant(_ e: BenchmarkEntry) -> String { SuiteConfig.variant(ofCase: e.run_name, threads: e.threads) }
        func key(_ e: BenchmarkEntry, _ variant: String) -> String {
            "\(e.matrix)/\(e.block_rows)x\(e.block_cols)/\(e.sparsity)/\(e.n)/\(e.threads)/\(variant)"
        }
        let all = report.benchmarks + new
        var medians: [String: [String: Double]] = [:]
        for e in all where e.aggregate_name == "median" && e.error_occurred != true {
            medians[key(e, variant(e)), default: [:]][e.format] = e.real_time
        }
        func update(_ e: inout BenchmarkEntry) {
            guard e.real_time > 0, e.error_occurred != true else { return }
            if e.format != "dense", let d = medians[key(e, "")]?["dense"] { e.speedup_vs_dense = d / e.real_time }
            if e.format != "csr", let c = medians[key(e, variant(e))]?["csr"] { e.speedup_vs_csr = c / e.real_time }
            if let f = CaseFormat(rawValue: e.format), f.peer == nil,
               let p = medians[key(e, "")]?[Peer.mkl.format(for: f).rawValue] {
                e.speedup_vs_mkl = p / e.real_time
            }
        }
        for i in new.indices where new[i].run_type == "aggregate" && new[i].aggregate_name == "median" { update(&new[i]) }
        for i in report.benchmarks.indices
        where report.benchmarks[i].run_type == "aggregate" && report.benchmarks[i].aggregate_name == "median" {
            update(&report.benchmarks[i])
        }
    }
}
