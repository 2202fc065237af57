import Foundation
import BlockSparse

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
    var threadsOfCase: [String: Int] = [:]
    public internal(set) var report: BenchmarkReport
    public internal(set) var failures: [String] = []
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
    /// disturbed repetitions are timed again and counted in `retimed_rounds`,
    /// or, once the gate's budget is spent, kept and counted in
    /// `disturbed_rounds`. Nil: every repetition is kept.
    public var quietGate: QuietGate?
    /// Comparison sets timed behind the quiet gate, those with dropped
    /// repetitions, and the repetitions dropped and kept although the check
    /// failed (each set's most of one case, summed over sets).
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
    /// (``measureInterleaved(_:_:sessions:threads:quiet:)``), so a slow stretch of a shared machine
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
            let measured = timeTogether(timed.map { prepared[$0].call! }, sessions: timed.map { prepared[$0].session },
                                        threads: timed.map { prepared[$0].planned.threads })
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

    /// Times the bodies, running on `threads` threads each, in interleaved
    /// rounds behind the quiet gate, which checks as many cores as the most
    /// threads a body uses, counting each set's most dropped and most
    /// disturbed repetitions of one case.
    func timeTogether(_ bodies: [() -> Void], sessions: [Session?], threads: [Int]) -> [Measurement] {
        quietGate?.setCores(threads.max() ?? 1)
        let ms = measureInterleaved(config.timing, bodies, sessions: sessions, threads: threads, quiet: quietGate)
        if let dropped = ms.compactMap(\.retimedRounds).max() {
            retimed.timedSets += 1
            if dropped > 0 {
                retimed.sets += 1
                retimed.rounds += dropped
            }
            retimed.disturbed += ms.compactMap(\.disturbedRounds).max() ?? 0
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
    func peakGFLOPS(_ peak: MachinePeak, threads: Int) -> Double {
        threads >= peak.threads ? peak.gflopsAllCores : peak.gflopsOneCore * Double(threads)
    }
}
