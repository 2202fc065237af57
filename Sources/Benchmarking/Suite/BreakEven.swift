import Foundation
import BlockSparse

// The measured break-even sparsity: where a sparse format takes as long as
// dense BLAS. The search (``BreakEvenSearch``) is pure and takes its timer as
// a closure, so it is tested against a stand-in with a known crossing; the
// suite (``SuiteRunner``) gives it a timer that builds, verifies and times
// each probed matrix through the same path as every other case. Results go to
// the `break_even` section of a result file (``BreakEvenResult``).

/// Finds, by measurement, the block sparsity at which a sparse product takes
/// as long as dense, to within ``tolerance`` (as a fraction: 0.02 is 2
/// percentage points).
///
/// Dense time does not depend on the sparsity: it is measured once and
/// passed in. The sparse time is assumed to fall as the sparsity grows
/// (fewer stored blocks), so the crossing is bracketed between the highest
/// sparsity measured slower than dense and the lowest measured at least as
/// fast, and the bracket is narrowed until it is at most 2 x tolerance wide;
/// its middle is then within the tolerance of the crossing.
///
/// Each step probes on either side of the linear fit through the bracket's
/// ends (sparse time is close to linear in the density), 0.95 x tolerance
/// away, so that when the fit is good two probes close the bracket; a step
/// that did not halve the bracket is followed by a bisection. Without a
/// bracket yet, it probes just above an estimate (the suite's fit over its
/// grid), then once just beyond where time proportional to the density would
/// meet dense (at least 2 x tolerance on; the other side of the estimate when
/// it was right), and only then the ``highest`` sparsity ("never" when that is
/// still slower) or the ``lowest`` ("always" when that already wins); without
/// an estimate, the ends first.
public struct BreakEvenSearch: Sendable, Equatable {
    /// Lowest and highest sparsity tried.
    public var lowest: Double
    public var highest: Double
    /// Half the width of the final bracket, as a fraction (0.02 = ±2 points).
    public var tolerance: Double
    /// Most sparse measurements of one search (it ends `undecided` past them).
    public var maxProbes: Int

    public init(lowest: Double = 0, highest: Double = 0.99, tolerance: Double = 0.02, maxProbes: Int = 12) {
        self.lowest = lowest
        self.highest = highest
        self.tolerance = tolerance
        self.maxProbes = maxProbes
    }

    /// What a search found.
    public enum Outcome: Sendable, Equatable {
        /// Slower than dense at `slowerAt`, at least as fast at `fasterAt`
        /// (at most 2 x tolerance apart); `at` is the middle.
        case crosses(at: Double, slowerAt: Double, fasterAt: Double)
        /// At least as fast as dense already at the lowest sparsity.
        case always(from: Double)
        /// Slower than dense even at the highest sparsity.
        case never(upTo: Double)
        /// A probe's result did not match the reference: the search stopped there.
        case unverified(at: Double)
        /// The probe budget ran out (measurements too noisy to bracket).
        case undecided(slowerAt: Double?, fasterAt: Double?)
    }

    /// One sparse measurement: seconds per product, nil when it did not verify.
    public struct Probe: Sendable, Equatable {
        public var sparsity: Double
        public var seconds: Double?
    }

    /// Runs the search.
    /// - Parameters:
    ///   - denseSeconds: the dense product's time (measured once).
    ///   - estimate: where the crossing is expected (a fit), or nil.
    ///   - measure: seconds of the sparse product at a sparsity; nil when its
    ///     result did not verify (the search stops: ``Outcome/unverified(at:)``).
    /// - Returns: The outcome and every probe, in the order measured.
    public func run(denseSeconds: Double, estimate: Double? = nil,
                    measure: (Double) throws -> Double?) rethrows -> (outcome: Outcome, probes: [Probe]) {
        let tol = tolerance
        var probes: [Probe] = []
        var slower: (s: Double, t: Double)?  // highest sparsity measured slower than dense
        var faster: (s: Double, t: Double)?  // lowest sparsity measured at least as fast
        var usedEstimateAbove = estimate == nil
        var steppedAbove = estimate == nil, steppedBelow = estimate == nil
        var bisectNext = false
        func clamp(_ x: Double) -> Double { min(max(x, lowest), highest) }
        func probed(_ s: Double) -> Bool { probes.contains { abs($0.sparsity - s) < 1e-12 } }

        while probes.count < maxProbes {
            if let lo = slower, let hi = faster, hi.s - lo.s <= 2 * tol + 1e-12 {
                return (.crosses(at: (lo.s + hi.s) / 2, slowerAt: lo.s, fasterAt: hi.s), probes)
            }
            let p: Double
            var width: Double?
            if let lo = slower, let hi = faster {
                width = hi.s - lo.s
                var x: Double
                if bisectNext {
                    x = (lo.s + hi.s) / 2
                } else {
                    // lo.t > dense >= hi.t: the fit crosses dense inside the bracket.
                    let e = lo.s + (lo.t - denseSeconds) / (lo.t - hi.t) * (hi.s - lo.s)
                    x = e - lo.s < hi.s - e ? e + 0.95 * tol : e - 0.95 * tol
                }
                p = min(max(x, lo.s + 0.1 * tol), hi.s - 0.1 * tol)
            } else if faster == nil {
                if let lo = slower, lo.s >= highest - 1e-12 { return (.never(upTo: highest), probes) }
                var x = highest
                if !usedEstimateAbove, let e = estimate {
                    usedEstimateAbove = true
                    x = clamp(e + 0.95 * tol)
                    if let lo = slower, x <= lo.s { x = highest }
                } else if !steppedAbove, let lo = slower {
                    steppedAbove = true
                    // Slower just above the estimate: the time is about proportional to the
                    // density, so dense is reached near 1 - (1 - s) x dense / t; at least 2 x tolerance on.
                    x = clamp(max(1 - (1 - lo.s) * denseSeconds / lo.t + 0.95 * tol, lo.s + 2 * tol))
                }
                p = probed(x) ? highest : x
            } else {
                if let hi = faster, hi.s <= lowest + 1e-12 { return (.always(from: lowest), probes) }
                var x = lowest
                if !steppedBelow, let hi = faster {
                    // Faster above the estimate: just below where time proportional to the
                    // density meets dense (the estimate itself when it was right).
                    steppedBelow = true
                    x = clamp(min(1 - (1 - hi.s) * denseSeconds / hi.t - 0.95 * tol, hi.s - 2 * tol))
                }
                p = probed(x) ? lowest : x
            }
            if probed(p) {  // only after noise contradicted an end already measured
                return (.undecided(slowerAt: slower?.s, fasterAt: faster?.s), probes)
            }
            guard let t = try measure(p) else {
                probes.append(Probe(sparsity: p, seconds: nil))
                return (.unverified(at: p), probes)
            }
            probes.append(Probe(sparsity: p, seconds: t))
            // The newest measurement wins where noise contradicts an older one.
            let timed = probes.compactMap { q in q.seconds.map { (s: q.sparsity, t: $0) } }
            if t > denseSeconds {
                slower = (p, t)
                faster = timed.filter { $0.t <= denseSeconds && $0.s > p }.min { $0.s < $1.s }
            } else {
                faster = (p, t)
                slower = timed.filter { $0.t > denseSeconds && $0.s < p }.max { $0.s < $1.s }
            }
            if let before = width, let lo = slower, let hi = faster {
                bisectNext = !bisectNext && hi.s - lo.s > 0.5 * before
            } else {
                bisectNext = false
            }
        }
        if let lo = slower, let hi = faster, hi.s - lo.s <= 2 * tol + 1e-12 {
            return (.crosses(at: (lo.s + hi.s) / 2, slowerAt: lo.s, fasterAt: hi.s), probes)
        }
        return (.undecided(slowerAt: slower?.s, fasterAt: faster?.s), probes)
    }

    /// The sparsity at which a least-squares line through (sparsity, sparse
    /// time / dense time) reaches 1, or nil with fewer than two sparsities or
    /// a line that does not fall. Used to start a search near its answer.
    public static func estimate(_ points: [(sparsity: Double, ratio: Double)]) -> Double? {
        let p = points.filter { $0.sparsity.isFinite && $0.ratio.isFinite && $0.ratio > 0 }
        guard Set(p.map(\.sparsity)).count >= 2 else { return nil }
        let n = Double(p.count)
        let mx = p.reduce(0) { $0 + $1.sparsity } / n, my = p.reduce(0) { $0 + $1.ratio } / n
        let sxy = p.reduce(0) { $0 + ($1.sparsity - mx) * ($1.ratio - my) }
        let sxx = p.reduce(0) { $0 + ($1.sparsity - mx) * ($1.sparsity - mx) }
        guard sxx > 0 else { return nil }
        let slope = sxy / sxx
        guard slope < 0 else { return nil }
        let s = mx + (1 - my) / slope
        return s.isFinite ? s : nil
    }
}

// MARK: - Result schema

/// How a break-even search ended (the `outcome` field of ``BreakEvenResult``).
public enum BreakEvenOutcome: String, Codable, Sendable {
    /// `sparsity` is the break-even, within `tolerance`.
    case crosses
    /// At least as fast as dense at the lowest sparsity tried (`lowest`).
    case always
    /// Slower than dense even at the highest sparsity tried (`highest`).
    case never
    /// A probe did not verify (its point says so); the search stopped.
    case unverified
    /// Too noisy to bracket within the probe budget.
    case undecided
}

/// One sparsity a break-even search measured.
public struct BreakEvenPoint: Codable, Sendable, Equatable {
    /// Target block sparsity of the generated matrix.
    public var sparsity: Double
    /// Element sparsity of the matrix actually multiplied.
    public var achieved_sparsity: Double
    /// Median seconds per product (nil when the result did not verify: never timed).
    public var seconds: Double?
    /// Dense seconds over this time.
    public var speedup_vs_dense: Double?
    public var kernel: String
    public var verified: Bool
    public var max_rel_error: Double
}

/// The `break_even` section of a result file: one entry per matrix source,
/// sparse format and block shape, N and thread count that was searched.
public struct BreakEvenResult: Codable, Sendable, Equatable {
    public var matrix: String
    public var distribution: String
    public var m: Int
    public var k: Int
    /// "bsr", or "csr" (on the unstructured 1x1-block matrix).
    public var format: String
    public var block_rows: Int
    public var block_cols: Int
    public var n: Int
    public var threads: Int
    public var outcome: BreakEvenOutcome
    /// The break-even block sparsity (the middle of the final bracket) when `outcome` is `crosses`.
    public var sparsity: Double?
    /// The highest sparsity measured slower than dense, and the lowest measured at least as fast.
    public var slower_at: Double?
    public var faster_at: Double?
    /// ± this fraction (0.02 = 2 points) around `sparsity`.
    public var tolerance: Double
    /// The range searched.
    public var lowest: Double
    public var highest: Double
    /// Where the fit over the run's grid put the crossing (the search's start), if anywhere.
    public var estimate: Double?
    /// The dense baseline's kernel and median seconds (measured once per matrix, N and thread count).
    public var dense_kernel: String
    public var dense_seconds: Double
    /// How many dense medians `dense_seconds` is the median of: the run's grid
    /// has one per sparsity and block shape; 1 when the search timed dense itself.
    public var dense_measurements: Int
    /// Every probe, in the order measured.
    public var points: [BreakEvenPoint]
    /// Wall seconds the search took (dense, every probe's set-up, verification
    /// and timing), and what the cost model planned for it; nil in files
    /// written before they were recorded.
    public var seconds: Double? = nil
    public var planned_seconds: Double? = nil

    /// "8x8 BSR" or "CSR".
    public var subject: String {
        format == "csr" ? (block_rows == 1 && block_cols == 1 ? "CSR" : "CSR \(block_rows)x\(block_cols)")
            : "\(block_rows)x\(block_cols) \(format.uppercased())"
    }

    /// The table cell: "31%", "always (≥ 0%)", "never (≤ 99%)", "FAILED", "undecided".
    public var cell: String {
        switch outcome {
        case .crosses: return sparsity.map { String(format: "%.0f%%", $0 * 100) } ?? "?"
        case .always: return "always (≥ \(Fmt.percent(lowest)))"
        case .never: return "never (≤ \(Fmt.percent(highest)))"
        case .unverified: return "FAILED verification"
        case .undecided: return "undecided"
        }
    }
}

// MARK: - The search in a suite run

/// One break-even search of a run: a generated matrix source, a sparse
/// format and block shape (CSR on the unstructured 1x1 matrix), N and thread count.
public struct BreakEvenTarget: Sendable, Equatable {
    public let source: Int
    public let format: CaseFormat
    public let block: BlockShape
    public let n: Int
    public let threads: Int
    /// Planned seconds (``CostModel``), like ``PlannedCase/weight``.
    public let weight: Double
    /// "bsr/4096x4096/b8x8/n64/threads:1"
    public let name: String
}

extension SuiteRunner {
    /// Probes a search is planned to take, and the block sparsity they are
    /// planned at: the default run's 72 searches, in two runs on a 2-core
    /// machine, took 3.5 probes each on average, storing 2.3 matrices' worth
    /// of blocks (searches that end at "always" probe 0%, dense in full).
    static let plannedProbesPerSearch = 3.5
    static let plannedProbeSparsity = 1 - 2.3 / 3.5
    /// The sparsity of the matrix dense is timed on (its time does not depend on it).
    static let denseProbeSparsity = 0.9

    /// The searches of a run, in plan order: one per generated source, sparse
    /// format and block shape, N and thread count among the planned sparse
    /// cases (balanced partitions; CSR only on the 1x1 matrix). Empty without
    /// ``SuiteConfig/breakEven`` or without dense among the formats.
    public func breakEvenTargets(_ cases: [PlannedCase]) -> [BreakEvenTarget] {
        guard config.breakEven != nil, config.formats.contains(.dense) else { return [] }
        var seen = Set<String>()
        var targets: [BreakEvenTarget] = []
        for c in cases where (c.format == .bsr || c.format == .csr) && c.strategy == .balanced {
            guard case .generated = config.sources[c.source] else { continue }
            if c.format == .csr && c.block.area > 1 { continue }
            let name = "\(c.format.rawValue)/\(config.sources[c.source].label)/b\(c.block)/n\(c.n)/threads:\(c.threads)"
            guard seen.insert(name).inserted else { continue }
            targets.append(BreakEvenTarget(source: c.source, format: c.format, block: c.block, n: c.n, threads: c.threads,
                                           weight: searchSeconds(format: c.format, source: c.source, block: c.block,
                                                                 n: c.n, threads: c.threads),
                                           name: name))
        }
        return targets
    }

    /// Runs one search: dense from the grid (or timed once per source, N and thread count), then
    /// every probe built, verified and timed through ``prepareCase(_:group:b:reference:)``
    /// and ``timeTogether(_:sessions:threads:)`` like the grid's cases. One-line notices
    /// (unreachable sparsities, serial fallbacks) are not repeated for probes.
    func searchBreakEven(_ t: BreakEvenTarget, search: BreakEvenSearch) throws -> BreakEvenResult {
        let source = config.sources[t.source]
        let notices = onNotice
        onNotice = nil
        defer { onNotice = notices }
        func planned(_ format: CaseFormat, _ block: BlockShape, _ s: Double) -> PlannedCase {
            PlannedCase(name: SuiteConfig.caseName(format: format, source: source.label, block: block, sparsity: s,
                                                   n: t.n, threads: t.threads),
                        format: format, source: t.source, block: block, sparsity: s, n: t.n, threads: t.threads,
                        strategy: .balanced, runtime: .team, weight: 0)
        }
        func operands(_ c: PlannedCase, dense: Bool) throws -> (MatrixGroup, DenseMatrix, Reference) {
            let group = try makeGroup(c, withDense: dense, withCSR: c.format == .csr)
            let b = try DenseMatrix.random(rows: group.bsr.cols, cols: t.n, seed: config.seed &+ UInt64(t.n))
            return (group, b, try Reference(group.bsr, b))
        }

        // Dense does not depend on the sparsity: the median of the grid's dense
        // medians for this source, N and thread count (each timed in its own
        // comparison set, so one disturbed set does not move it), else timed
        // once here for all the searches that need it.
        let denseKey = "\(t.source)/\(t.n)/\(t.threads)"
        let gridDense = report.aggregates("median").filter {
            $0.format == CaseFormat.dense.rawValue && $0.matrix == source.label && $0.n == t.n && $0.threads == t.threads
                && $0.error_occurred != true && $0.real_time > 0
        }
        if !gridDense.isEmpty {
            let times = gridDense.map { $0.real_time * 1e-9 }.sorted()
            let mid = times.count / 2
            let median = times.count % 2 == 1 ? times[mid] : (times[mid - 1] + times[mid]) / 2
            searchDense[denseKey] = (gridDense[0].kernel, median, gridDense.count)
        } else if searchDense[denseKey] == nil {
            let c = planned(.dense, t.block, Self.denseProbeSparsity)
            let (group, b, reference) = try operands(c, dense: true)
            let p = try prepareCase(c, group: group, b: b, reference: reference)
            var seconds: Double?
            if let call = p.call {
                if t.threads > 1 {
                    // Timed alone, as in the grid; then OpenBLAS's idle workers
                    // (they spin about 0.1 s after a call) must stop before the probes.
                    seconds = Benchmarking.measure(config.timing, call).summary.median
                    Thread.sleep(forTimeInterval: 0.2)
                } else {
                    seconds = timeTogether([call], sessions: [p.session], threads: [1])[0].summary.median
                }
            }
            searchDense[denseKey] = (p.base.kernel, seconds, 1)
        }
        let (denseKernel, denseSeconds, denseCount) = searchDense[denseKey]!

        // Start near the crossing the grid's medians point to.
        let ratios = report.aggregates("median").filter {
            $0.matrix == source.label && $0.format == t.format.rawValue && $0.block_rows == t.block.rows
                && $0.block_cols == t.block.cols && $0.n == t.n && $0.threads == t.threads
                && $0.run_name == SuiteConfig.caseName(format: t.format, source: source.label, block: t.block,
                                                       sparsity: $0.sparsity, n: t.n, threads: t.threads)
        }.compactMap { e in e.speedup_vs_dense.map { (sparsity: e.sparsity, ratio: 1 / $0) } }
        let estimate = BreakEvenSearch.estimate(ratios)

        var points: [BreakEvenPoint] = []
        let found: (outcome: BreakEvenSearch.Outcome, probes: [BreakEvenSearch.Probe])
        if let denseSeconds {
            found = try search.run(denseSeconds: denseSeconds, estimate: estimate) { s in
                let c = planned(t.format, t.block, s)
                let (group, b, reference) = try operands(c, dense: false)
                let p = try prepareCase(c, group: group, b: b, reference: reference)
                var point = BreakEvenPoint(sparsity: s, achieved_sparsity: p.base.achieved_sparsity, seconds: nil,
                                           speedup_vs_dense: nil, kernel: p.base.kernel, verified: p.base.verified,
                                           max_rel_error: p.base.max_rel_error)
                defer { points.append(point) }
                guard let call = p.call else { return nil }
                let median = timeTogether([call], sessions: [p.session], threads: [c.threads])[0].summary.median
                point.seconds = median
                point.speedup_vs_dense = median > 0 ? denseSeconds / median : nil
                return median
            }
        } else {
            found = (.unverified(at: Self.denseProbeSparsity), [])  // dense itself did not verify
        }
        var result = BreakEvenResult(
            matrix: source.label, distribution: distributionName(source), m: source.rows, k: source.cols,
            format: t.format.rawValue, block_rows: t.block.rows, block_cols: t.block.cols, n: t.n, threads: t.threads,
            outcome: .undecided, sparsity: nil, slower_at: nil, faster_at: nil, tolerance: search.tolerance,
            lowest: search.lowest, highest: search.highest, estimate: estimate, dense_kernel: denseKernel,
            dense_seconds: denseSeconds ?? 0, dense_measurements: denseCount, points: points)
        switch found.outcome {
        case let .crosses(at, lo, hi): (result.outcome, result.sparsity, result.slower_at, result.faster_at) = (.crosses, at, lo, hi)
        case let .always(from): (result.outcome, result.faster_at) = (.always, from)
        case let .never(upTo): (result.outcome, result.slower_at) = (.never, upTo)
        case .unverified: result.outcome = .unverified
        case let .undecided(lo, hi): (result.outcome, result.slower_at, result.faster_at) = (.undecided, lo, hi)
        }
        return result
    }

    private func distributionName(_ source: MatrixSource) -> String {
        if case let .generated(_, _, _, distribution) = source { return distribution.rawValue }
        return "file"
    }
}
