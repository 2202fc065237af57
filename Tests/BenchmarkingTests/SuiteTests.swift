import Foundation
import Testing
@testable import BlockSparse
@testable import Benchmarking
import TestSupport

@Suite struct SuiteTests {
    func config(_ formats: [CaseFormat] = CaseFormat.builtIn, threads: [Int] = [1, 2]) -> SuiteConfig {
        SuiteConfig(sources: [.generated(label: "33x40", rows: 33, cols: 40, distribution: .uniform)],
                    blocks: [shape(1, 1), shape(4, 4)], sparsities: [0.5, 0.9], ns: [1, 5], threads: threads,
                    formats: formats, timing: TimingPolicy(minRepetitions: 3, minTime: 0, warmup: 0))
    }

    @Test func planCoversTheCrossProductAndSkipsOneByOneBSR() throws {
        let runner = SuiteRunner(config: config(), context: MachineContext.current(), peak: nil)
        let cases = try runner.plan()
        // block 1x1: csr + dense; block 4x4: bsr + csr + dense; x 2 sparsities x 2 N x 2 threads.
        #expect(cases.count == (2 + 3) * 2 * 2 * 2)
        #expect(!cases.contains { $0.format == .bsr && $0.block.area == 1 })
        #expect(cases.contains { $0.name == "bsr/33x40/b4x4/s90/n5/threads:2" })
    }

    @Test func filterSelectsCasesAndBadRegexIsAnError() throws {
        var c = config()
        c.filter = "^bsr/.*/n5/"
        #expect(try SuiteRunner(config: c, context: MachineContext.current(), peak: nil).plan().count == 4)
        c.filter = "("
        #expect(throws: MatrixError.self) { try SuiteRunner(config: c, context: MachineContext.current(), peak: nil).plan() }
    }

    @Test func threadedCasesAreTakenApartByPartition() throws {
        let a = try BSRMatrix.random(GeneratorSpec(rows: 256, cols: 128, block: shape(4, 4), sparsity: 0.5,
                                                   distribution: .powerlaw, seed: 3))
        let b = try DenseMatrix.random(rows: 128, cols: 16, seed: 4)
        let kernel = try Kernel.select(.bsr, block: a.block, n: 16)
        let driver = try ParallelSpMM(.bsr(a), b, kernel: kernel, options: DriverOptions(threads: 3))
        let serial = try ParallelSpMM(.bsr(a), b, kernel: kernel, options: DriverOptions(threads: 1))
        let p = SuiteRunner.profile(driver, serial: serial, rounds: 3)
        #expect(p.rounds == 3)
        for list in [p.alone_seconds, p.together_seconds, p.start_seconds] { #expect(list.count == driver.partitionCount) }
        #expect(p.alone_seconds.allSatisfy { $0 > 0 } && p.together_seconds.allSatisfy { $0 > 0 })
        #expect(p.paired_speedup > 0 && p.contention > 0)
        #expect(p.balanced_bound >= 1 && p.balanced_bound <= Double(driver.partitionCount) + 1e-9)
        #expect((0...3).contains(p.rounds_with_shared_thread))
        #expect((p.probe_scaling ?? 0) > 0)  // measured in the same rounds
        #expect(p.threads == 3)
        // Seconds from the start of a run of this tiny product to the last thread's first partition.
        let joined = try #require(p.latest_thread_start)
        #expect(joined >= 0 && joined < 1)
        // The profiled product is still the verified one.
        let ref = try Reference(a, b)
        #expect(driver.result().values.withUnsafeBufferPointer { ref.verify($0, ld: 16) }.passed)

        // Reports show the table only when a case has a profile, in both markups.
        var report = syntheticReport(unverifiedKernel: false)
        #expect(!ReportRenderer.markdown(report).contains("taken apart"))
        let i = try #require(report.benchmarks.firstIndex { $0.aggregate_name == "median" && $0.threads == 2 })
        report.benchmarks[i].partition_profile = p
        #expect(ReportRenderer.markdown(report).contains("## Thread scaling, taken apart"))
        #expect(ReportRenderer.markdown(report).contains("| FMA probe scaling |"))
        var older = p
        older.probe_scaling = nil  // files from before the probe column: a dash, and they still decode
        report.benchmarks[i].partition_profile = older
        #expect(ReportRenderer.markdown(report).contains("| – |"))
        #expect(try JSONDecoder().decode(BenchmarkReport.self, from: report.jsonData()).benchmarks[i].partition_profile == older)
        report.benchmarks[i].partition_profile = p
        #expect(ReportRenderer.html(report).contains("<h2>Thread scaling, taken apart</h2>"))
        let decoded = try JSONDecoder().decode(BenchmarkReport.self, from: report.jsonData())
        #expect(decoded.benchmarks[i].partition_profile == p)
    }

    @Test func runVerifiesTimesAndComparesInOneRun() throws {
        let runner = SuiteRunner(config: config(), context: MachineContext.current(), peak: nil)
        var finished = 0
        runner.onCaseFinished = { _, _ in finished += 1 }
        let cases = try runner.plan()
        try runner.run(cases)
        #expect(finished == cases.count)
        #expect(runner.failures.isEmpty)
        let medians = runner.report.aggregates("median")
        #expect(medians.count == cases.count)
        for e in medians {
            #expect(e.verified && e.real_time > 0 && e.useful_gflops > 0, "\(e.name)")
            #expect(e.effective_gflops >= e.useful_gflops * 0.999)
            if e.format != "dense" { #expect(e.speedup_vs_dense != nil, "\(e.name)") }
            if e.format == "bsr" { #expect(e.speedup_vs_csr != nil, "\(e.name)") }
            // Dense is what a user would call: sgemv for one column of B, at every thread count.
            if e.format == "dense" {
                #expect(e.kernel == (e.n == 1 ? "dense_f32_gemv__openblas" : "dense_f32_gemm__openblas"), "\(e.name)")
            }
        }
        #expect(Set(medians.filter { $0.format == "dense" && $0.n == 1 }.map(\.threads)) == [1, 2])
        let iterations = runner.report.benchmarks.filter { $0.run_type == "iteration" }
        #expect(iterations.count >= 3 * cases.count)
        // The JSON round-trips through the schema.
        let data = try runner.report.jsonData()
        let decoded = try JSONDecoder().decode(BenchmarkReport.self, from: data)
        #expect(decoded.benchmarks.count == runner.report.benchmarks.count)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let first = (object["benchmarks"] as! [[String: Any]])[0]
        for key in ["name", "run_type", "real_time", "time_unit", "format", "kernel", "block_rows", "block_cols", "m", "k",
                    "n", "sparsity", "threads", "useful_gflops", "effective_gflops", "verified", "repetitions"] {
            #expect(first[key] != nil, "missing \(key)")
        }
    }

    @Test func speedupsUseEachCasesOwnTimeAndStrategy() throws {
        var c = config(threads: [2])
        c.blocks = [shape(4, 4)]
        c.sparsities = [0.5]
        c.ns = [5]
        c.strategies = [.balanced, .equalRows]
        let runner = SuiteRunner(config: c, context: MachineContext.current(), peak: nil)
        let cases = try runner.plan()
        // Dense has no strategy: one case, named without one.
        #expect(cases.map(\.name).sorted() == ["bsr/33x40/b4x4/s50/n5/threads:2", "bsr/33x40/b4x4/s50/n5/threads:2/equal-rows",
                                                 "csr/33x40/b4x4/s50/n5/threads:2", "csr/33x40/b4x4/s50/n5/threads:2/equal-rows",
                                                 "dense/33x40/b4x4/s50/n5/threads:2"])
        try runner.run(cases)
        let medians = Dictionary(uniqueKeysWithValues: runner.report.aggregates("median").map { ($0.run_name, $0) })
        let dense = try #require(medians["dense/33x40/b4x4/s50/n5/threads:2"]).real_time
        for suffix in ["", "/equal-rows"] {
            let bsr = try #require(medians["bsr/33x40/b4x4/s50/n5/threads:2" + suffix])
            let csr = try #require(medians["csr/33x40/b4x4/s50/n5/threads:2" + suffix])
            // Each against its own median, and against the CSR of the same strategy.
            #expect(bsr.speedup_vs_dense == dense / bsr.real_time, "\(suffix)")
            #expect(csr.speedup_vs_dense == dense / csr.real_time, "\(suffix)")
            #expect(bsr.speedup_vs_csr == csr.real_time / bsr.real_time, "\(suffix)")
        }
    }

    @Test func runtimesAreAnAxisOfThreadedSparseCases() throws {
        var c = config(threads: [1, 2])
        c.blocks = [shape(4, 4)]
        c.sparsities = [0.5]
        c.ns = [64]
        c.sources = [.generated(label: "256x256", rows: 256, cols: 256, distribution: .uniform)]
        c.runtimes = [.team, .dispatch]
        c.strategies = [.balanced, .equalRows]
        // No fork/join cost: every threaded product really runs on its runtime.
        let peak = MachinePeak(gflopsOneCore: 100, gflopsAllCores: 200, threads: 2, triadGBps: 10, dispatchOverhead: 0,
                               forkJoin: ["team": ForkJoinCost(empty: 0, beyondIdeal: 0),
                                          "dispatch": ForkJoinCost(empty: 0, beyondIdeal: 0)])
        let runner = SuiteRunner(config: c, context: MachineContext.current(), peak: peak)
        let cases = try runner.plan()
        let threaded = cases.filter { $0.threads == 2 && $0.format != .dense }.map(\.name).sorted()
        #expect(threaded == ["bsr", "csr"].flatMap { f in
            ["", "/dispatch", "/equal-rows", "/equal-rows/dispatch"].map { "\(f)/256x256/b4x4/s50/n64/threads:2" + $0 }
        })
        #expect(cases.filter { $0.threads == 1 || $0.format == .dense }.allSatisfy { !$0.name.contains("dispatch") })
        try runner.run(cases)
        let medians = Dictionary(uniqueKeysWithValues: runner.report.aggregates("median").map { ($0.run_name, $0) })
        for variant in ["", "/dispatch", "/equal-rows", "/equal-rows/dispatch"] {
            let bsr = try #require(medians["bsr/256x256/b4x4/s50/n64/threads:2" + variant])
            let csr = try #require(medians["csr/256x256/b4x4/s50/n64/threads:2" + variant])
            #expect(bsr.verified && csr.verified)
            #expect(bsr.speedup_vs_csr == csr.real_time / bsr.real_time, "\(variant)")
            let runtime = variant.hasSuffix("dispatch") ? "dispatch" : "team"
            #expect(bsr.partition.hasSuffix(", " + runtime) && csr.partition.hasSuffix(", " + runtime), "\(bsr.partition)")
        }
        #expect(SuiteConfig.variant(ofCase: "bsr/a/b4x4/s50/n64/threads:2/equal-rows/dispatch", threads: 2)
                == "/equal-rows/dispatch")
        #expect(SuiteConfig.variant(ofCase: "dense/a/b4x4/s50/n64/threads:2", threads: 2) == "")
    }

    @Test func aStrategyAloneNamesOnlyThreadedSparseCases() throws {
        var c = config(threads: [1, 2])
        c.strategies = [.equalRows]
        let cases = try SuiteRunner(config: c, context: MachineContext.current(), peak: nil).plan()
        for p in cases {
            #expect(p.name.hasSuffix("/equal-rows") == (p.threads > 1 && p.format != .dense), "\(p.name)")
        }
    }

    @Test func aThreadedCaseRunSeriallyIsMeasuredAgainstOneCore() throws {
        var c = config([.bsr, .csr], threads: [2])
        c.blocks = [shape(4, 4)]
        c.sparsities = [0.5]
        c.ns = [5]
        // A fork/join cost of a second: every product here is below the work threshold.
        let peak = MachinePeak(gflopsOneCore: 100, gflopsAllCores: 200, threads: 2, triadGBps: 10, dispatchOverhead: 1)
        let runner = SuiteRunner(config: c, context: MachineContext.current(), peak: peak)
        var notices: [String] = []
        runner.onNotice = { notices.append($0) }
        try runner.run(try runner.plan())
        let medians = runner.report.aggregates("median")
        #expect(medians.count == 2)
        // The run's probe samples may raise the peak above the 100 GFLOP/s given here.
        let one = try #require(runner.peak).gflopsOneCore
        for e in medians {
            #expect(e.threads == 2 && e.partition.hasPrefix("serial"), "\(e.partition)")
            let percent = try #require(e.percent_of_peak)
            #expect(abs(percent - e.useful_gflops / one * 100) < 1e-9 * max(1, percent),
                    "\(e.name): \(percent)% of one \(one) GFLOP/s core")
        }
        #expect(notices.filter { $0.contains("runs on 1 thread") }.count == 2, "\(notices)")
    }

    /// A start-up peak read in a busy second is raised by the samples taken
    /// during the run, and every percentage is recomputed against it.
    @Test func aPeakMeasuredLowIsRaisedAndPercentagesFollow() throws {
        var c = config([.bsr, .csr], threads: [1])
        c.blocks = [shape(4, 4)]
        c.sparsities = [0.5]
        c.ns = [5, 8]
        // No machine this runs on does only 0.01 GFLOP/s: the probe samples must raise it.
        let low = MachinePeak(gflopsOneCore: 0.01, gflopsAllCores: 0.02, threads: 2, triadGBps: 10, dispatchOverhead: 1e-5)
        let runner = SuiteRunner(config: c, context: MachineContext.current(), peak: low)
        var notices: [String] = []
        runner.onNotice = { notices.append($0) }
        try runner.run(try runner.plan())
        let peak = try #require(runner.peak)
        #expect(peak.gflopsOneCore > 0.01 && peak.gflopsAllCores > 0.02)
        #expect(runner.report.context.peak == peak)
        #expect(notices.filter { $0.contains("the FMA probe read") && $0.contains("above the 0.0 measured at the start") }.count == 1,
                "\(notices)")
        let timed = runner.report.benchmarks.filter { $0.percent_of_peak != nil }
        #expect(timed.count >= 4 * 5)  // 4 cases, iterations and 4 rate-bearing aggregates each
        for e in timed {
            let percent = try #require(e.percent_of_peak)
            #expect(abs(percent - e.useful_gflops / peak.gflopsOneCore * 100) < 1e-9 * max(1, percent), "\(e.name)")
        }
    }

    @Test func sparsityLabelsKeepTheirDecimals() {
        #expect(SuiteConfig.percentLabel(0.9) == "90")
        #expect(SuiteConfig.percentLabel(0) == "0" && SuiteConfig.percentLabel(1) == "100")
        #expect(SuiteConfig.percentLabel(0.995) == "99.5")
        #expect(SuiteConfig.percentLabel(0.9991) == "99.91" && SuiteConfig.percentLabel(0.9994) == "99.94")
        #expect(SuiteConfig.percentLabel(0.123456) == "12.3456")
    }

    @Test func anUnreachableSparsityIsAnnounced() throws {
        var c = config([.bsr], threads: [1])
        c.blocks = [shape(64, 64)]  // one block covers the 33x40 matrix
        c.sparsities = [0.5, 0.9]
        c.ns = [1]
        let runner = SuiteRunner(config: c, context: MachineContext.current(), peak: nil)
        var notices: [String] = []
        runner.onNotice = { notices.append($0) }
        try runner.run(try runner.plan())
        #expect(notices.count == 2, "\(notices)")
        #expect(notices.allSatisfy { $0.contains("33x40 (33x40) has only 1 block of 64x64") && $0.contains("warning: block sparsity achieved") },
                "\(notices)")
        c.blocks = [shape(4, 4)]
        let fine = SuiteRunner(config: c, context: MachineContext.current(), peak: nil)
        var none: [String] = []
        fine.onNotice = { none.append($0) }
        try fine.run(try fine.plan())
        #expect(none.isEmpty, "\(none)")
    }

    @Test func aMismatchIsRecordedAndNeverTimed() throws {
        let runner = SuiteRunner(config: config([.bsr], threads: [1]), context: MachineContext.current(), peak: nil)
        runner.corruptResultForTesting = true
        try runner.run(try runner.plan())
        #expect(runner.failures.count == 4)
        #expect(runner.report.benchmarks.allSatisfy { $0.error_occurred == true && !$0.verified && $0.real_time == 0 })
        #expect(runner.report.benchmarks.allSatisfy { $0.error_message?.contains("verification failed") == true })
    }

    @Test func fixedMatricesReportFillIn() throws {
        let csr = try CSRMatrix(rows: 4, cols: 4, rowPointers: [0, 1, 1, 2, 2], columnIndices: [0, 3], values: [1, 2])
        let c = SuiteConfig(sources: [.fixed(label: "tiny", matrix: csr, only: nil)], blocks: [shape(4, 4)],
                            sparsities: [0.5], ns: [3], threads: [1], formats: [.bsr],
                            timing: TimingPolicy(minRepetitions: 1, minTime: 0, warmup: 0))
        let runner = SuiteRunner(config: c, context: MachineContext.current(), peak: nil)
        var notices: [String] = []
        runner.onNotice = { notices.append($0) }
        try runner.run(try runner.plan())
        let e = try #require(runner.report.aggregates().first)
        #expect(e.fill_ratio == 8)
        #expect(e.run_name == "bsr/tiny/b4x4/real/n3/threads:1")
        #expect(notices.contains { $0.contains("fill-in 14") })
    }

    @Test func interleavedRoundsAlternateAndMeetEveryBodysTarget() {
        var order: [Int] = []
        let policy = TimingPolicy(minRepetitions: 3, minTime: 0, warmup: 0, minRepetitionTime: 0)
        let ms = measureInterleaved(policy, [{ order.append(0) }, { order.append(1) }, { order.append(2) }])
        #expect(ms.map(\.perCall.count) == [3, 3, 3])
        // One warm-up call each, then rounds forward, backward, forward, each
        // timed call after an untimed call of the same body.
        #expect(order == [0, 1, 2] + [0, 0, 1, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 2, 2])
        var single = 0
        #expect(measureInterleaved(policy, [{ single += 1 }])[0].perCall.count == 3)
        #expect(single == 4)  // a single body needs no re-warming call
        #expect(measureInterleaved(policy, []).isEmpty)
        // The minimum time holds for every body: the fast one sets the number of rounds.
        var slowCalls = 0
        let timed = measureInterleaved(TimingPolicy(minRepetitions: 2, minTime: 0.004, maxRepetitions: 50, warmup: 0,
                                                    minRepetitionTime: 0),
                                       [{ slowCalls += 1; usleep(2000) }, {}])
        #expect(timed[0].perCall.count == timed[1].perCall.count)
        for m in timed {  // each body's timed seconds reach the minimum (a repetition is callsPerRepetition calls)
            #expect(m.perCall.reduce(0, +) * Double(m.callsPerRepetition) >= 0.004 || m.perCall.count == 50)
        }
        // Repetitions last at least minTime / minRepetitions = 2 ms: the 2 ms body runs one call per
        // repetition (plus one untimed call before each, and one warm-up), the empty body many. (A body
        // of usleep(200) once took 2 ms beside other tests, and ran one call per repetition.)
        #expect(timed[0].callsPerRepetition == 1 && timed[1].callsPerRepetition > 1)
        #expect(slowCalls == 2 * timed[0].perCall.count + 1)
    }

    /// A repetition with a failed quiet check on either side is dropped and
    /// its round timed again (order still alternating), at most
    /// max(3, minRepetitions) times per body; the other bodies keep theirs.
    @Test func disturbedRoundsAreTimedAgain() {
        var order: [Int] = []
        let policy = TimingPolicy(minRepetitions: 3, minTime: 0, warmup: 0, minRepetitionTime: 0)
        // Checks: before the first round and after each of its two bodies pass; in the
        // second (backward) round the check after body 1 passes and the one after body 0 fails.
        var answers = [true, true, true, true, false], waits = 0
        let gate = QuietGate(maxWait: 1, isQuiet: { answers.isEmpty ? true : answers.removeFirst() },
                             waitStep: { waits += 1; return true })
        let ms = measureInterleaved(policy, [{ order.append(0) }, { order.append(1) }], quiet: gate)
        // Body 0 lost its second repetition; body 1 kept every one, and one more from the retimed round.
        #expect(ms.map(\.perCall.count) == [3, 4])
        #expect(ms.map(\.retimedRounds) == [1, 0] && ms.map(\.disturbedRounds) == [0, 0])
        #expect(waits == 1)
        // Four rounds: the second (backward) was timed again backward.
        #expect(order == [0, 1] + [0, 0, 1, 1] + [1, 1, 0, 0] + [1, 1, 0, 0] + [0, 0, 1, 1])
        // A machine that never looks quiet: 3 rounds dropped, then the rounds are kept.
        let never = QuietGate(maxWait: 0, isQuiet: { false }, waitStep: { Issue.record("no waiting budget"); return false })
        let kept = measureInterleaved(policy, [{}, {}], quiet: never)
        #expect(kept.map(\.perCall.count) == [3, 3] && kept.map(\.retimedRounds) == [3, 3])
        #expect(kept.map(\.disturbedRounds) == [3, 3])
        // Waiting stops when this call's budget (50 ms here, 10 ms steps) is spent.
        var steps = 0
        let slow = QuietGate(maxWait: 0.05, isQuiet: { false }, waitStep: { usleep(10_000); steps += 1; return false })
        _ = measureInterleaved(policy, [{}], quiet: slow)
        #expect(steps >= 1 && steps <= 6)
        // Without a gate nothing is counted.
        #expect(measureInterleaved(policy, [{}]).first?.retimedRounds == nil)
        #expect(measureInterleaved(policy, [{}]).first?.disturbedRounds == nil)
    }

    /// A threaded body needs every core quiet, a one-thread body only the
    /// timing thread's: with the second core always taken, the one-thread
    /// body keeps every repetition while the threaded one drops its allowed
    /// three and then keeps its repetitions as disturbed.
    @Test func eachBodyIsJudgedByTheCoresItRunsOn() {
        var order: [Int] = []
        let policy = TimingPolicy(minRepetitions: 3, minTime: 0, warmup: 0, minRepetitionTime: 0)
        let secondCoreTaken = QuietVerdict(timingCore: true, everyCore: false)
        var waits = 0
        let gate = QuietGate(maxWait: 0, check: { secondCoreTaken }, waitStep: { waits += 1; return secondCoreTaken })
        let ms = measureInterleaved(policy, [{ order.append(0) }, { order.append(1) }], threads: [1, 2], quiet: gate)
        #expect(ms.map(\.retimedRounds) == [0, 3] && ms.map(\.disturbedRounds) == [0, 3])
        // Three rounds timed again in the same order, then three that alternate.
        #expect(ms.map(\.perCall.count) == [6, 3])
        #expect(order == [0, 1] + Array(repeating: [0, 0, 1, 1], count: 4).joined() + [1, 1, 0, 0, 0, 0, 1, 1])
        #expect(waits == 0)
        // With both bodies on one thread nothing is dropped.
        let oneThread = measureInterleaved(policy, [{}, {}], quiet: gate)
        #expect(oneThread.map(\.retimedRounds) == [0, 0] && oneThread.map(\.perCall.count) == [3, 3])
        #expect(secondCoreTaken.allows(threads: 1) && !secondCoreTaken.allows(threads: 2))
    }

    /// The run-wide retime budget bounds waits and dropped rounds across
    /// calls: once it is spent, rounds are kept and counted as disturbed.
    @Test func retimeBudgetIsSharedAndBoundsRetiming() {
        let policy = TimingPolicy(minRepetitions: 3, minTime: 0, warmup: 0, minRepetitionTime: 0)
        // 30 ms for the run; each wait step takes 10 ms and the machine never gets quiet.
        let budget = RetimeBudget(seconds: 0.03)
        var steps = 0
        let gate = QuietGate(maxWait: 10, budget: budget, isQuiet: { false },
                             waitStep: { usleep(10_000); steps += 1; return false })
        let first = measureInterleaved(policy, [{}, {}], quiet: gate)
        #expect(steps == 3)  // not the call's 10 s: the run's 30 ms
        #expect(budget.left == 0 && budget.spent >= 0.03)
        #expect(first.map(\.perCall.count) == [3, 3])
        #expect(first.map(\.retimedRounds) == [0, 0] && first.map(\.disturbedRounds) == [3, 3])
        // The next call finds the budget spent: no wait, no dropped round, every round kept as disturbed.
        steps = 0
        let second = measureInterleaved(policy, [{}], quiet: gate)
        #expect(steps == 0 && second[0].retimedRounds == 0 && second[0].disturbedRounds == 3)
        // A dropped round's time is charged too: with no waiting allowed, the first dropped
        // round (a re-warming call and a timed one, 10 ms each) spends the 15 ms.
        let drops = RetimeBudget(seconds: 0.015)
        let slowRounds = QuietGate(maxWait: 0, budget: drops, isQuiet: { false }, waitStep: { false })
        let ms = measureInterleaved(policy, [{ usleep(10_000) }], quiet: slowRounds)
        #expect(ms[0].retimedRounds == 1 && ms[0].disturbedRounds == 3 && drops.left == 0)
        // A zero budget keeps every round.
        let none = QuietGate(maxWait: 3, budget: RetimeBudget(seconds: 0), isQuiet: { false },
                             waitStep: { Issue.record("no waiting budget"); return false })
        let kept = measureInterleaved(policy, [{}], quiet: none)
        #expect(kept[0].retimedRounds == 0 && kept[0].disturbedRounds == 3)
    }

    /// The ETA starts from the plan, moves to the measured rate, and
    /// extrapolates the retime budget's spending on its own, capped by what is left of it.
    @Test func etaSeparatesRetimingFromThePlan() {
        // Nothing measured yet: the plan (10 modelled seconds).
        #expect(SuiteRunner.eta(elapsed: 0, doneWeight: 0, totalWeight: 10, budget: nil) == 10)
        // 1 of 10 done in 5 s, the plan counting as 1 more done in 1 s: 3 s per unit, 9 units left.
        #expect(SuiteRunner.eta(elapsed: 5, doneWeight: 1, totalWeight: 10, budget: nil) == 27)
        #expect(SuiteRunner.eta(elapsed: 5, doneWeight: 1, totalWeight: 0, budget: nil) == nil)
        // Of 11 s, 6 went to retiming: the same 3 s per unit, plus retiming at 6 s per unit capped by the 4 s left.
        let budget = RetimeBudget(seconds: 10)
        budget.charge(6)
        #expect(SuiteRunner.eta(elapsed: 11, doneWeight: 1, totalWeight: 10, budget: budget) == 31)
        let early = RetimeBudget(seconds: 100)
        early.charge(1)  // 1 s per unit: 9 more
        #expect(SuiteRunner.eta(elapsed: 6, doneWeight: 1, totalWeight: 10, budget: early) == 36)
        // The rate measured dominates once much is done: 50 of 100 units in 100 s.
        #expect(SuiteRunner.eta(elapsed: 100, doneWeight: 50, totalWeight: 100, budget: nil)! > 90)
    }

    @Test func quietCheckComparesAgainstItsBestSample() {
        let strict = QuietCheck(tolerance: -1)  // needs twice its best: never quiet
        #expect(strict.best > 0 && strict.sample() > 0)
        #expect(strict.check() == .disturbed)
        #expect(QuietCheck(tolerance: 1).check() == .quiet)
    }

    @Test func quietCheckProbesEveryCoreOfAThreadedSet() throws {
        let lenient = QuietCheck(tolerance: 1)  // any sample passes: only a thread that never started fails
        lenient.cores = 1000
        #expect(lenient.cores == ProcessInfo.processInfo.activeProcessorCount)
        let strict = QuietCheck(tolerance: -1)
        strict.cores = 2
        #expect(strict.check() == .disturbed)
        if ProcessInfo.processInfo.activeProcessorCount >= 2 {
            // Both threads must start within the window: 5 ms in a run, 2 s here, where the
            // tests beside this one may hold Dispatch's threads for a while (as WorkerTeamTests
            // waits up to 60 s for its worker).
            let patient = QuietCheck(tolerance: 1, startWithin: 2)
            patient.cores = 2
            let deadline = Date().addingTimeInterval(120)
            var passed = false
            while !passed && Date() < deadline { passed = patient.check() == .quiet }
            #expect(passed, "no check of 2 cores got both threads started within 2 s in 120 s")
            // A partner that does not start at once fails every core, but the timing thread
            // probes its own core alone: no window at all, so the first thread in gives up.
            let impatient = QuietCheck(tolerance: 1, startWithin: 0)
            impatient.cores = 2
            var verdicts: [QuietVerdict] = []
            while verdicts.count < 200 && !verdicts.contains(QuietVerdict(timingCore: true, everyCore: false)) {
                verdicts.append(impatient.check())
            }
            #expect(verdicts.contains(QuietVerdict(timingCore: true, everyCore: false)),
                    "no check with a late partner in 200: \(Set(verdicts.map { "\($0)" }))")
        }
        // The suite tells the check the most threads of each comparison set.
        var c = config([.bsr], threads: [1, 2])
        c.blocks = [shape(4, 4)]
        c.sparsities = [0.5]
        c.ns = [5]
        let runner = SuiteRunner(config: c, context: MachineContext.current(), peak: nil)
        nonisolated(unsafe) var told: [Int] = []
        runner.quietGate = QuietGate(maxWait: 0, isQuiet: { true }, waitStep: { true })
        runner.quietGate?.setCores = { told.append($0) }
        try runner.run(try runner.plan())
        #expect(told == [2], "one comparison set, threads 1 and 2")
    }

    @Test func suiteRecordsRetimedRounds() throws {
        var c = config([.bsr, .csr], threads: [1])
        c.blocks = [shape(4, 4)]
        c.sparsities = [0.5]
        c.ns = [5]
        let runner = SuiteRunner(config: c, context: MachineContext.current(), peak: nil)
        var answers = [true, false]  // the first round is dropped
        runner.quietGate = QuietGate(maxWait: 1, isQuiet: { answers.isEmpty ? true : answers.removeFirst() },
                                     waitStep: { true })
        try runner.run(try runner.plan())
        let medians = runner.report.aggregates("median")
        #expect(medians.count == 2 && medians.allSatisfy { $0.retimed_rounds == 1 && $0.repetitions == 3 })
        #expect(runner.retimed.timedSets == 1 && runner.retimed.sets == 1 && runner.retimed.rounds == 1)
        #expect(ReportRenderer.markdown(runner.report).contains("quiet check"))
        #expect(medians.allSatisfy { $0.disturbed_rounds == 0 } && !ReportRenderer.markdown(runner.report).contains("disturbed_rounds"))
        // With the run's retime budget spent, rounds are kept, counted, and the reports say so.
        let busy = SuiteRunner(config: c, context: MachineContext.current(), peak: nil)
        busy.quietGate = QuietGate(maxWait: 1, budget: RetimeBudget(seconds: 0), isQuiet: { false }, waitStep: { false })
        try busy.run(try busy.plan())
        #expect(busy.report.aggregates("median").allSatisfy { $0.retimed_rounds == 0 && $0.disturbed_rounds == 3 })
        #expect(busy.retimed.disturbed == 3 && busy.retimed.rounds == 0)
        #expect(ReportRenderer.markdown(busy.report).contains("disturbed_rounds")
                && ReportRenderer.html(busy.report).contains("disturbed_rounds"))
    }

    /// The cases of one comparison are consecutive, timed in the same rounds;
    /// threaded dense comes last in its comparison, timed on its own.
    @Test func comparisonsAreTimedTogether() throws {
        var c = config(threads: [1, 2])
        c.strategies = [.balanced, .equalRows]
        c.timing = TimingPolicy(minRepetitions: 4, minTime: 0, warmup: 0)
        let runner = SuiteRunner(config: c, context: MachineContext.current(), peak: nil)
        let cases = try runner.plan()
        var seen: [String] = []
        for planned in cases {
            let key = SuiteRunner.comparisonKey(planned)
            if seen.last != key {
                #expect(!seen.contains(key), "comparison \(key) is split")
                seen.append(key)
            }
        }
        var finished: [String] = []
        runner.onCaseFinished = { _, e in finished.append(e.run_name) }
        try runner.run(cases)
        #expect(runner.failures.isEmpty)
        #expect(Set(finished) == Set(cases.map(\.name)) && finished.count == cases.count)
        // Each comparison's cases but threaded dense were timed in one set of rounds.
        #expect(runner.timedTogether.count == seen.count)
        for (set, key) in zip(runner.timedTogether, seen) {
            let expected = cases.filter { SuiteRunner.comparisonKey($0) == key && !($0.format == .dense && $0.threads > 1) }
            #expect(set == expected.map(\.name))
            #expect(set.count >= 2)
        }
        let medians = runner.report.aggregates("median")
        for key in seen {
            let members = medians.filter { e in cases.contains { $0.name == e.run_name && SuiteRunner.comparisonKey($0) == key } }
            let together = members.filter { !($0.format == "dense" && $0.threads > 1) }
            #expect(Set(together.map(\.repetitions)).count == 1, "\(key): \(together.map(\.repetitions))")
            if let dense = members.first(where: { $0.format == "dense" && $0.threads > 1 }) {
                #expect(finished.firstIndex(of: dense.run_name)! > together.compactMap { finished.firstIndex(of: $0.run_name) }.max()!)
            }
        }
    }

    @Test func timingPolicyMeetsCountAndTime() {
        var calls = 0
        let m = measure(TimingPolicy(minRepetitions: 4, minTime: 0, warmup: 0, minRepetitionTime: 0)) { calls += 1 }
        #expect(m.perCall.count == 4)
        #expect(calls >= 5)  // at least one warm-up call
        let s = Summary([3, 1, 2, 10])
        #expect(s.median == 2.5 && s.min == 1 && s.max == 10)
        #expect(s.mad == 1)  // |x - 2.5| = 0.5, 0.5, 1.5, 7.5 → median 1
    }
}

/// The default suite (`make run`) is planned, from its plan alone and the
/// cost model, to fit its 3-minute budget on a 2-core machine, with the
/// paper's story intact; no clock is read.
@Suite struct DefaultSuitePlanTests {
    @Test func theDefaultPlanFitsItsBudget() throws {
        let config = try SuiteRequest().config(cpus: 2)  // what `make run` plans
        let runner = SuiteRunner(config: config, context: MachineContext.current(), peak: nil)
        let cases = try runner.plan()
        // A large layer and LeNet-300-100's two layers, blocks 1 to 32, N 1 and 64, 1 and all threads.
        #expect(Set(cases.map { config.sources[$0.source].label }) == ["4096x4096", "lenet-fc1-300x784", "lenet-fc2-100x300"])
        #expect(Set(cases.map(\.block.rows)) == [1, 2, 4, 8, 16, 32])
        #expect(Set(cases.map(\.n)) == [1, 64] && Set(cases.map(\.threads)) == [1, 2])
        // Per shape, sparsity, N and thread count: CSR and dense on the 1x1 matrix, BSR, CSR and dense on 5 others.
        #expect(cases.count == 3 * 2 * 2 * 2 * (2 + 5 * 3))
        #expect(config.timing.minRepetitions == 5 && config.timing.minTime <= 0.02)
        let searches = runner.breakEvenTargets(cases)
        #expect(searches.count == 3 * 6 * 2 * 2)
        let planned = runner.plannedSeconds(cases)
        #expect(planned <= 180, "the default suite is planned at \(planned) s")
        #expect(abs(planned - (CostModel().startup + cases.reduce(0) { $0 + $1.weight }
                               + searches.reduce(0) { $0 + $1.weight })) < 1e-6)
        // Every weight is a time: no case or search is free, none costs more than a few seconds.
        #expect(cases.allSatisfy { $0.weight > 0 && $0.weight < 5 } && searches.allSatisfy { $0.weight > 0 && $0.weight < 10 })
    }

    /// The cost model's timing term follows measureInterleaved: a warm-up,
    /// then per repetition a re-warm and at least the repetition time.
    @Test func timingCostFollowsThePolicy() {
        let model = CostModel()
        let policy = TimingPolicy(minRepetitions: 5, minTime: 0.02, warmup: 0.002)
        // A fast body: 5 repetitions of 4 ms after a 2 ms re-warm each, plus the first warm-up.
        #expect(abs(model.timingSeconds(1e-6, policy: policy, quiet: false) - (0.002 + 5 * 0.006)) < 1e-9)
        // A slow body: one call to warm, then per repetition a re-warm call and a timed call.
        #expect(abs(model.timingSeconds(0.1, policy: policy, quiet: false) - 1.1) < 1e-9)
        #expect(model.timingSeconds(0.1, policy: policy, quiet: true) > 1.1)
        // Dense reads A once at any N: N = 1 (sgemv) costs A's bytes, N = 64 (sgemm) its FLOPs.
        let gemv = model.callSeconds(.dense, m: 4096, k: 4096, n: 1, density: 1)
        #expect(gemv == model.callSeconds(.dense, m: 4096, k: 4096, n: 2, density: 1))
        #expect(gemv < model.callSeconds(.dense, m: 4096, k: 4096, n: 64, density: 1))
    }
}

/// A request's axes: the suite's where none is given, the break-even search
/// only for the plain default suite, each peer beside each of KernelBench's formats.
@Suite struct SuiteRequestTests {
    @Test func axesDefaultToTheSuite() throws {
        let quick = try SuiteRequest.with { $0.suite = .quick }.config(cpus: 4)
        #expect(quick.sources.map(\.label) == SuitePreset.quick.shapes.map(\.0))
        #expect(quick.blocks.map(\.description) == ["1x1", "4x4", "8x8"] && quick.sparsities == [0.5, 0.9])
        #expect(quick.ns == [1, 16] && quick.threads == [1, 4] && quick.breakEven == nil)
        #expect(try SuiteRequest().config(cpus: 1).threads == [1], "1 and all on one CPU: one thread count")
        let own = try SuiteRequest.with {
            $0.shapes = [(300, 784)]
            $0.blocks = [shape(4, 1)]
            $0.threads = [3]
        }.config(cpus: 2)
        #expect(own.sources.map(\.label) == ["300x784"] && own.blocks == [shape(4, 1)] && own.threads == [3])
        #expect(own.sparsities == SuitePreset.default.sparsities)
    }

    @Test func breakEvenIsOnForThePlainDefaultSuiteOnly() throws {
        #expect(SuiteRequest().isPlainDefaultSuite)
        #expect(try SuiteRequest().config(cpus: 2).breakEven != nil)
        #expect(try SuiteRequest.with { $0.ns = [64] }.config(cpus: 2).breakEven == nil)
        #expect(try SuiteRequest.with { $0.formats = [.bsr, .csr] }.config(cpus: 2).breakEven == nil, "no dense, no search")
        #expect(try SuiteRequest.with { $0.ns = [64]; $0.breakEven = true }.config(cpus: 2).breakEven != nil)
    }

    @Test func peersJoinEachOwnFormat() throws {
        let config = try SuiteRequest.with { $0.formats = [.bsr, .dense]; $0.peers = [.mkl] }.config(cpus: 2)
        #expect(config.formats == [.bsr, .dense, .mklBSR, .mklDense])
    }
}

extension SuiteRequest {
    /// A request changed by `change`.
    static func with(_ change: (inout SuiteRequest) -> Void) -> SuiteRequest {
        var request = SuiteRequest()
        change(&request)
        return request
    }
}
