import Foundation
import BlockSparse

// A case from its plan to its result entries: the matrices of its comparison
// set, its driver and verification, its partition profile, its rates and
// speed-ups.

extension SuiteRunner {
    /// Cases with the same key compare with each other and are timed together.
    static func comparisonKey(_ c: PlannedCase) -> String {
        "\(c.source)/\(c.block)/\(c.sparsity ?? -1)/\(c.n)"
    }

    /// The matrices of one (source, block, sparsity): BSR, CSR and dense forms
    /// of the same logical matrix.
    struct MatrixGroup {
        let bsr: BSRMatrix
        /// The CSR form; nil when no case of the group runs it (a BSR break-even probe).
        let csr: CSRMatrix?
        var dense: DenseMatrix?
        let distribution: String
        let fillRatio: Double?
    }

    /// - Parameters:
    ///   - withDense: build the dense form (default: when the suite runs dense).
    ///   - withCSR: build the CSR form.
    func makeGroup(_ c: PlannedCase, withDense: Bool? = nil, withCSR: Bool = true) throws -> MatrixGroup {
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
        let csr = withCSR ? CSRMatrix(bsr: bsr) : nil
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
            let operand: SparseOperand = c.format == .bsr ? .bsr(a) : .csr(group.csr!)
            var threads = c.threads
            var t1 = 0.0  // the one-thread time of a threaded case
            if threads > 1 {
                // Below a work threshold derived from the fork/join cost of the
                // case's runtime, run serially. The single-thread time is a short
                // measurement here: the 1-thread case of this matrix is timed
                // later, in the same rounds. One cold call settles it when it is
                // 100x past the threshold (a large product, whose short measurement
                // took a few tenths of a second per case).
                let serial = try ParallelSpMM(operand, b, kernel: kernel, options: DriverOptions(threads: 1))
                let overhead = peak?.forkJoinOverhead(c.runtime)
                    ?? ForkJoinCost.measure(c.runtime, threads: threads).beyondIdeal
                let start = monotonicNanoseconds()
                serial.run()
                t1 = Double(monotonicNanoseconds() - start) * 1e-9
                if t1 < 1000 * overhead {
                    t1 = Benchmarking.measure(TimingPolicy(minRepetitions: 3, minTime: 0.005, warmup: 0.002)) { serial.run() }
                        .summary.median
                }
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
                let rounds = Self.profileRounds(serialSeconds: t1)
                profile = { try Self.profile(driver, serial: ParallelSpMM(operand, b, kernel: kernel,
                                                                          options: DriverOptions(threads: 1)),
                                             rounds: rounds) }
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
    func finishCase(_ p: PreparedCase, measurement: Measurement?) throws -> [BenchmarkEntry] {
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

    /// Rounds of a partition profile: 9, or 5 for products of 10 ms and more
    /// on one thread, whose rounds cost a tenth of a second each (the profile
    /// of one 4096x4096 case at N = 64 took about a second); the profile records its rounds.
    static func profileRounds(serialSeconds: Double) -> Int { serialSeconds >= 0.01 ? 5 : 9 }

    /// Rounds of (1-thread run, traced threaded run, each partition alone,
    /// FMA probe on one thread and on the driver's threads), back to back,
    /// each run timed after an untimed one; see ``PartitionProfile``.
    public static func profile(_ driver: ParallelSpMM, serial: ParallelSpMM, rounds: Int = 9) -> PartitionProfile {
        let count = driver.partitionCount
        let threads = max(1, min(driver.options.threads, count))
        var ratios: [Double] = [], probeRatios: [Double] = [], threadStarts: [Double] = [], shared = 0
        var alone = Array(repeating: [Double](), count: count)
        var together = alone, starts = alone
        serial.run(); driver.run()  // warm: buffers in cache
        for _ in 0..<rounds {
            // Each side's timed call follows an untimed one, as the case is timed: a single
            // call right after the FMA probes ran 1.5-2x slow on fc1 (300x784, 37 us), and
            // paired speedups of 2 threads read up to 3.1x.
            serial.run()
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
                driver.runPartitionAlone(p)
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
        case .csr: aBytes = Double(group.csr!.values.count * 8 + group.csr!.rowPointers.count * 4)
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
