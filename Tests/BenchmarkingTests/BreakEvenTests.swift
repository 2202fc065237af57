import Foundation
import Testing
@testable import BlockSparse
@testable import Benchmarking
import TestSupport

/// The break-even search against stand-in timers with known crossings, and
/// the suite's searches end to end on tiny matrices.
@Suite struct BreakEvenSearchTests {
    let search = BreakEvenSearch()

    /// Sparse time models with a known crossing of dense = 1: linear in the
    /// density (what kernels do), and curved (what they do at small sizes).
    func models(crossing c: Double) -> [(String, (Double) -> Double)] {
        [("linear", { s in 0.1 + 0.9 * (1 - s) / (1 - c) }),
         ("curved", { s in 0.05 + 0.95 * ((1 - s) / (1 - c)) * ((1 - s) / (1 - c)) }),
         ("flat", { s in 1 + 0.2 * (c - s) })]  // barely depends on the sparsity
    }

    @Test func findsAKnownCrossingWithinTheTolerance() throws {
        for c in stride(from: 0.03, through: 0.97, by: 0.047) {
            for (label, model) in models(crossing: c) {
                for estimate in [nil, c, c - 0.2, c + 0.1, 1.4] as [Double?] {
                    var calls = 0
                    let (outcome, probes) = search.run(denseSeconds: 1, estimate: estimate) { s in
                        calls += 1
                        return model(s)
                    }
                    guard case let .crosses(at, lo, hi) = outcome else {
                        Issue.record("\(label) crossing \(c), estimate \(String(describing: estimate)): \(outcome)")
                        continue
                    }
                    #expect(abs(at - c) <= search.tolerance + 1e-9, "\(label) \(c): found \(at)")
                    #expect(lo <= c + 1e-9 && c <= hi + 1e-9 && hi - lo <= 2 * search.tolerance + 1e-9)
                    #expect(probes.count == calls && calls <= search.maxProbes)
                    // Measured, not extrapolated: both ends of the bracket were probed.
                    #expect(probes.contains { $0.sparsity == lo } && probes.contains { $0.sparsity == hi })
                }
            }
        }
    }

    @Test func aGoodEstimateIsConfirmedWithTwoProbes() {
        let (outcome, probes) = search.run(denseSeconds: 1, estimate: 0.62) { s in 0.1 + 0.9 * (1 - s) / 0.38 }
        #expect(probes.count == 2, "\(probes)")
        guard case let .crosses(at, _, _) = outcome else { Issue.record("\(outcome)"); return }
        #expect(abs(at - 0.62) <= 0.02)
        // Without an estimate it brackets from the ends, still in a few probes.
        #expect(search.run(denseSeconds: 1) { s in 0.1 + 0.9 * (1 - s) / 0.38 }.probes.count <= 7)
    }

    /// An estimate off by 15 points, time proportional to the density: one
    /// probe at the estimate, one where proportionality crosses, one to close.
    @Test func aPoorEstimateIsCorrectedByProportionality() {
        for (c, e) in [(0.6, 0.45), (0.6, 0.75), (0.3, 0.1), (0.9, 0.8)] {
            let r = search.run(denseSeconds: 1, estimate: e) { s in (1 - s) / (1 - c) }
            guard case let .crosses(at, _, _) = r.outcome else { Issue.record("\(r.outcome)"); continue }
            #expect(abs(at - c) <= 0.02 && r.probes.count <= 3, "\(c) from \(e): \(r.probes)")
        }
    }

    @Test func neverAndAlways() {
        for estimate in [nil, 0.5, 1.3] as [Double?] {
            let never = search.run(denseSeconds: 1, estimate: estimate) { _ in 1.5 }
            #expect(never.outcome == .never(upTo: 0.99))
            // The estimate's probe, one step where time proportional to density would cross, the end.
            #expect(never.probes.last?.sparsity == 0.99 && never.probes.count <= 3)
            let always = search.run(denseSeconds: 1, estimate: estimate) { _ in 0.5 }
            #expect(always.outcome == .always(from: 0))
            #expect(always.probes.last?.sparsity == 0 && always.probes.count <= 4)
        }
        // A narrower range reports its own ends.
        let range = BreakEvenSearch(lowest: 0.3, highest: 0.9)
        #expect(range.run(denseSeconds: 1) { _ in 2 }.outcome == .never(upTo: 0.9))
        #expect(range.run(denseSeconds: 1) { _ in 0.1 }.outcome == .always(from: 0.3))
    }

    @Test func aProbeThatDoesNotVerifyStopsTheSearch() {
        var calls = 0
        let r = search.run(denseSeconds: 1) { s -> Double? in
            calls += 1
            return calls == 2 ? nil : 0.2 + (1 - s)
        }
        #expect(calls == 2)
        guard case .unverified = r.outcome else { Issue.record("\(r.outcome)"); return }
        #expect(r.probes.last?.seconds == nil)
    }

    @Test func noisyTimesEndWithinTheProbeBudget() {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<200 {
            let r = search.run(denseSeconds: 1, estimate: 0.5) { s in
                (0.2 + 1.6 * (1 - s)) * (0.85 + 0.3 * Double(rng.next() % 1000) / 1000)
            }
            #expect(r.probes.count <= search.maxProbes)
            switch r.outcome {
            case let .crosses(at, lo, hi): #expect(hi - lo <= 0.04 + 1e-9 && lo <= at && at <= hi)
            case .undecided: break
            default: Issue.record("\(r.outcome)")
            }
        }
    }

    @Test func theGridFitStartsTheSearch() throws {
        // Ratios 1.6, 1.2, 0.8, 0.6 at 50/60/70/80%: the line reaches 1 at 65%.
        let e = try #require(BreakEvenSearch.estimate([(0.5, 1.6), (0.6, 1.2), (0.7, 0.8), (0.8, 0.4)]))
        #expect(abs(e - 0.65) < 1e-9)
        #expect(BreakEvenSearch.estimate([(0.9, 0.5)]) == nil)  // one sparsity: no line
        #expect(BreakEvenSearch.estimate([(0.5, 1), (0.9, 2)]) == nil)  // slower when sparser: no crossing to start from
    }
}

@Suite struct SuiteBreakEvenTests {
    func config(search: BreakEvenSearch? = BreakEvenSearch()) -> SuiteConfig {
        SuiteConfig(sources: [.generated(label: "64x48", rows: 64, cols: 48, distribution: .uniform)],
                    blocks: [shape(1, 1), shape(4, 4)], sparsities: [0.5, 0.9], ns: [1, 5], threads: [1, 2],
                    timing: TimingPolicy(minRepetitions: 3, minTime: 0, warmup: 0), breakEven: search)
    }

    @Test func targetsFollowThePlan() throws {
        let runner = SuiteRunner(config: config(), context: MachineContext.current(), peak: nil)
        let targets = runner.breakEvenTargets(try runner.plan())
        // CSR on the 1x1 matrix and 4x4 BSR, x 2 N x 2 threads; no CSR on the 4x4 matrix.
        #expect(targets.map(\.name).sorted() == ["bsr/64x48/b4x4/n1/threads:1", "bsr/64x48/b4x4/n1/threads:2",
                                                 "bsr/64x48/b4x4/n5/threads:1", "bsr/64x48/b4x4/n5/threads:2",
                                                 "csr/64x48/b1x1/n1/threads:1", "csr/64x48/b1x1/n1/threads:2",
                                                 "csr/64x48/b1x1/n5/threads:1", "csr/64x48/b1x1/n5/threads:2"])
        #expect(targets.allSatisfy { $0.weight > 0 })
        // No search without the switch, without dense, or on a file's matrix.
        #expect(SuiteRunner(config: config(search: nil), context: MachineContext.current(), peak: nil)
            .breakEvenTargets(try runner.plan()).isEmpty)
        var noDense = config()
        noDense.formats = [.bsr, .csr]
        let r2 = SuiteRunner(config: noDense, context: MachineContext.current(), peak: nil)
        #expect(r2.breakEvenTargets(try r2.plan()).isEmpty)
        var file = config()
        file.sources = [.fixed(label: "f", matrix: CSRMatrix(bsr: randomBSR(16, 16, 4, 4, sparsity: 0.5)), only: nil)]
        let r3 = SuiteRunner(config: file, context: MachineContext.current(), peak: nil)
        #expect(r3.breakEvenTargets(try r3.plan()).isEmpty)
    }

    @Test func searchesAreMeasuredVerifiedAndWritten() throws {
        let runner = SuiteRunner(config: config(), context: MachineContext.current(), peak: nil)
        var written = 0
        runner.onBreakEvenFinished = { report, result in
            written += 1
            #expect(report.break_even?.last == result)
        }
        var progress: [SuiteProgress] = []
        runner.onProgress = { progress.append($0) }
        let cases = try runner.plan()
        try runner.run(cases)
        #expect(runner.failures.isEmpty)
        let results = try #require(runner.report.break_even)
        #expect(results.count == 8 && written == 8)
        #expect(progress.last?.done == cases.count + 8 && progress.last?.total == cases.count + 8)
        for r in results {
            #expect(!r.points.isEmpty && r.points.allSatisfy { $0.verified && ($0.seconds ?? 0) > 0 }, "\(r)")
            #expect(r.dense_kernel == (r.n == 1 ? "dense_f32_gemv__openblas" : "dense_f32_gemm__openblas"))
            #expect(r.dense_seconds > 0)
            switch r.outcome {
            case .crosses:
                let (s, lo, hi) = (try #require(r.sparsity), try #require(r.slower_at), try #require(r.faster_at))
                #expect(hi - lo <= 2 * r.tolerance + 1e-9 && lo <= s && s <= hi)
                // The bracket's ends were measured, on the right sides of dense.
                #expect(r.points.contains { $0.sparsity == lo && ($0.speedup_vs_dense ?? 2) < 1 })
                #expect(r.points.contains { $0.sparsity == hi && ($0.speedup_vs_dense ?? 0) >= 1 })
            case .never: #expect(r.points.contains { $0.sparsity == r.highest && ($0.speedup_vs_dense ?? 2) < 1 })
            case .always: #expect(r.points.contains { $0.sparsity == r.lowest && ($0.speedup_vs_dense ?? 0) >= 1 })
            case .undecided: break  // a noisy machine
            case .unverified: Issue.record("\(r)")
            }
        }
        // Dense is the grid's: the median of its dense medians (2 block shapes x 2 sparsities).
        #expect(results.allSatisfy { $0.dense_measurements == 4 })
        #expect(runner.searchDense.count == 4)
    }

    @Test func withoutDenseInTheGridDenseIsTimedOncePerSetting() throws {
        var c = config()
        c.filter = "^(bsr|csr)/"  // the grid runs no dense case
        let runner = SuiteRunner(config: c, context: MachineContext.current(), peak: nil)
        try runner.run(try runner.plan())
        let results = try #require(runner.report.break_even)
        #expect(results.count == 8 && results.allSatisfy { $0.dense_measurements == 1 && $0.dense_seconds > 0 })
        #expect(runner.searchDense.count == 4)  // once per N and thread count, not once per search
        #expect(runner.failures.isEmpty)
    }

    @Test func aProbeThatFailsVerificationIsRecorded() throws {
        var c = config()
        c.blocks = [shape(4, 4)]
        c.ns = [5]
        c.threads = [1]
        let runner = SuiteRunner(config: c, context: MachineContext.current(), peak: nil)
        runner.corruptResultForTesting = true
        try runner.run(try runner.plan())
        let r = try #require(runner.report.break_even?.first)
        #expect(r.outcome == .unverified)
        #expect(!runner.failures.isEmpty)
    }

    @Test func theSectionRoundTripsAndOldFilesLoad() throws {
        var report = syntheticReport(unverifiedKernel: false)
        let point = BreakEvenPoint(sparsity: 0.31, achieved_sparsity: 0.3102, seconds: 1e-3, speedup_vs_dense: 0.98,
                                   kernel: "bsr_f32_spmm_b8x8_n24__avx2_fma", verified: true, max_rel_error: 1e-7)
        let result = BreakEvenResult(matrix: "4096x4096", distribution: "uniform", m: 4096, k: 4096, format: "bsr",
                                     block_rows: 8, block_cols: 8, n: 64, threads: 1, outcome: .crosses, sparsity: 0.32,
                                     slower_at: 0.31, faster_at: 0.33, tolerance: 0.02, lowest: 0, highest: 0.99,
                                     estimate: 0.3, dense_kernel: "dense_f32_gemm__openblas", dense_seconds: 9e-4,
                                     dense_measurements: 24, points: [point])
        report.break_even = [result]
        let data = try report.jsonData()
        let decoded = try JSONDecoder().decode(BenchmarkReport.self, from: data)
        #expect(decoded.break_even == [result])
        // A file from before the section (no key at all) still loads, without break-evens.
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["break_even"] != nil)
        object["break_even"] = nil
        let old = try JSONSerialization.data(withJSONObject: object)
        let folder = TemporaryFolder(prefix: "kb-be")
        try old.write(to: URL(fileURLWithPath: folder.path + "/old.json"))
        let loaded = try BenchmarkReport.load(path: folder.path + "/old.json")
        #expect(loaded.break_even == nil && loaded.benchmarks.count == report.benchmarks.count)
        // And a report without a search writes no section.
        report.break_even = nil
        #expect(!String(decoding: try report.jsonData(), as: UTF8.self).contains("break_even"))
    }
}

@Suite struct BreakEvenReportTests {
    /// The synthetic report with measured break-evens: CSR and 8x8 on two settings, every outcome.
    func report() -> BenchmarkReport {
        var r = syntheticReport(unverifiedKernel: false)
        func result(_ format: String, _ b: Int, n: Int, threads: Int, _ outcome: BreakEvenOutcome, _ s: Double?) -> BreakEvenResult {
            BreakEvenResult(matrix: "4096x4096", distribution: "uniform", m: 4096, k: 4096, format: format, block_rows: b,
                            block_cols: b, n: n, threads: threads, outcome: outcome, sparsity: s,
                            slower_at: s.map { $0 - 0.015 }, faster_at: s.map { $0 + 0.015 }, tolerance: 0.02, lowest: 0,
                            highest: 0.99, estimate: nil, dense_kernel: "dense_f32_gemm__openblas", dense_seconds: 1e-3,
                            dense_measurements: 4,
                            points: [BreakEvenPoint(sparsity: 0.5, achieved_sparsity: 0.5, seconds: 1e-3, speedup_vs_dense: 1,
                                                    kernel: "k", verified: true, max_rel_error: 0)])
        }
        r.break_even = [result("csr", 1, n: 64, threads: 1, .crosses, 0.915), result("bsr", 8, n: 64, threads: 1, .crosses, 0.314),
                        result("bsr", 4, n: 64, threads: 1, .never, nil), result("csr", 1, n: 64, threads: 2, .unverified, nil),
                        result("bsr", 8, n: 64, threads: 2, .always, nil), result("bsr", 4, n: 64, threads: 2, .crosses, 0.6)]
        return r
    }

    @Test func tablesHaveARowPerFormatAndAColumnPerSetting() throws {
        let tables = ReportRenderer.breakEvenTables(try #require(report().break_even))
        #expect(tables.count == 1)
        let t = try #require(tables.first)
        #expect(t.columns.map(\.threads) == [1, 2] && t.columns.allSatisfy { $0.n == 64 })
        #expect(t.rows.map(\.subject) == ["CSR", "4x4 BSR", "8x8 BSR"])
        #expect(t.rows[0].cells == ["92%", "FAILED verification"])
        #expect(t.rows[1].cells == ["never (≤ 99%)", "60%"])
        #expect(t.rows[2].cells == ["31%", "always (≥ 0%)"])
    }

    @Test func markdownAndHTMLShowTheMeasuredTableInsteadOfSentences() throws {
        let r = report()
        let md = ReportRenderer.markdown(r)
        #expect(md.contains("Measured, not interpolated"))
        #expect(md.contains("| format | N = 64, 1 thread | N = 64, 2 threads |"))
        #expect(md.contains("| 8x8 BSR | 31% | always (≥ 0%) |"))
        #expect(!md.contains("beats dense from"))
        let html = ReportRenderer.html(r)
        #expect(html.contains("<table class=\"breakeven\">") && html.contains("chart-breakeven"))
        #expect(html.contains(">never (≤ 99%)</td>") && html.contains("class=\"num fail\""))
        #expect(!html.contains("beats dense from"))
        // Without the section (an older file, or --no-break-even) the grid's sentences remain, said to be interpolated.
        var old = r
        old.break_even = nil
        #expect(ReportRenderer.markdown(old).contains("No break-even search in this run"))
        #expect(ReportRenderer.markdown(old).contains("beats dense from"))
    }
}
