import Foundation
import Testing
@testable import BlockSparse
@testable import Benchmarking
import TestSupport

// Reference p-values: scipy 1.17.1, computed offline with
//   scipy.stats.mannwhitneyu(x, y, alternative="two-sided", use_continuity=True, method=M)
// (M = "auto" unless noted) and pinned here; the tests never call Python.

@Suite struct MannWhitneyTests {
    struct Case: Sendable {
        let x: [Double], y: [Double], method: MannWhitney.Method
        let u1: Double, p: Double, resolved: MannWhitney.Method
    }

    static let cases: [Case] = [
        // Completely separated, 5 vs 5, exact: 2 / C(10, 5).
        Case(x: [1, 2, 3, 4, 5], y: [6, 7, 8, 9, 10], method: .auto,
             u1: 0, p: 0.007936507936507936, resolved: .exact),
        Case(x: [1.1, 2.3, 3.7, 4.2, 5.9, 7.4], y: [2.0, 4.8, 6.1, 8.3, 9.0, 10.5, 11.2], method: .auto,
             u1: 8, p: 0.07342657342657342, resolved: .exact),
        // Exact because one side has <= 8 values, even with 20 on the other.
        Case(x: [10.5, 11.5, 12.5], y: (1...20).map(Double.init), method: .auto,
             u1: 33, p: 0.8300395256916995, resolved: .exact),
        // 10 vs 10 with ties: normal approximation, tie and continuity corrections.
        Case(x: [1.00, 1.02, 0.99, 1.01, 1.03, 0.98, 1.00, 1.04, 0.97, 1.02],
             y: [1.05, 1.01, 1.06, 1.04, 1.08, 1.03, 1.07, 1.02, 1.09, 1.05], method: .auto,
             u1: 9.5, p: 0.0024133553534221547, resolved: .asymptotic),
        // Small samples with ties: asymptotic.
        Case(x: [1, 2, 2, 3, 4], y: [2, 3, 3, 5, 6, 7], method: .auto,
             u1: 6, p: 0.11390314458853068, resolved: .asymptotic),
        // 9 vs 12 without ties: both sides above 8, asymptotic.
        Case(x: [3.1, 4.7, 2.2, 5.9, 6.3, 1.8, 7.7, 3.3, 4.1],
             y: [5.5, 6.6, 8.2, 7.1, 9.9, 4.4, 6.0, 8.8, 7.3, 10.1, 5.2, 9.4], method: .auto,
             u1: 15, p: 0.006217669063580896, resolved: .asymptotic),
        // method="exact" forced, 12 vs 15.
        Case(x: [0.3, 1.7, 2.9, 3.2, 4.8, 5.1, 6.6, 7.0, 8.4, 9.5, 10.2, 11.9],
             y: [2.1, 3.8, 4.1, 5.7, 6.2, 7.9, 8.1, 9.2, 10.6, 11.3, 12.4, 13.7, 14.8, 15.5, 16.0], method: .exact,
             u1: 51, p: 0.059448016723558525, resolved: .exact),
        // Identical samples, and all values tied: p = 1.
        Case(x: (1...10).map(Double.init), y: (1...10).map(Double.init), method: .auto,
             u1: 50, p: 1.0, resolved: .asymptotic),
        Case(x: [5, 5, 5], y: [5, 5, 5, 5], method: .auto, u1: 6, p: 1.0, resolved: .asymptotic),
        // The synthetic 20% regression below (10 vs 10, no ties).
        Case(x: ResultFixtures.noise.map { 1e-3 * (1 + $0) }, y: ResultFixtures.noise.reversed().map { 1.2e-3 * (1 + $0) },
             method: .auto, u1: 0, p: 0.00018267179110955002, resolved: .asymptotic),
    ]

    @Test(arguments: cases)
    func pValuesMatchScipy(_ c: Case) {
        let r = MannWhitney.test(c.x, c.y, method: c.method)
        #expect(r.u1 == c.u1)
        #expect(r.method == c.resolved)
        #expect(abs(r.pValue - c.p) <= 1e-12 * max(c.p, 1e-300), "p = \(r.pValue), scipy \(c.p)")
        // Two-sided: swapping the samples gives the same p.
        #expect(abs(MannWhitney.test(c.y, c.x, method: c.method).pValue - r.pValue) <= 1e-15)
    }

    @Test func exactTailCounts() {
        // n1 = n2 = 2: U takes 0, 1, 2, 2, 3, 4 over the 6 arrangements.
        #expect(MannWhitney.exactUpperTail(0, 2, 2) == 1)
        #expect(MannWhitney.exactUpperTail(2, 2, 2) == 4.0 / 6)
        #expect(MannWhitney.exactUpperTail(4, 2, 2) == 1.0 / 6)
        #expect(MannWhitney.exactUpperTail(5, 2, 2) == 0)
        // Symmetric in the sample sizes (the smaller one drives the memory).
        for u in [0, 7, 30, 45, 60] {
            #expect(abs(MannWhitney.exactUpperTail(u, 3, 20) - MannWhitney.exactUpperTail(u, 20, 3)) < 1e-15, "\(u)")
        }
    }

    @Test func aLargeSampleBesideASmallOneIsApproximated() {
        let small = [1.0, 2.0, 3.0], large = (0..<(MannWhitney.exactLimit + 1)).map { 10 + Double($0) * 0.001 }
        #expect(MannWhitney.test(small, large).method == .asymptotic)
        #expect(MannWhitney.test(small, Array(large.prefix(MannWhitney.exactLimit))).method == .exact)
    }

    @Test func averageRanksWithTies() {
        let (ranks, ties) = MannWhitney.averageRanks([3, 1, 3, 2])
        #expect(ranks == [3.5, 1, 3.5, 2])
        #expect(ties.sorted() == [1, 1, 2])
    }
}

@Suite struct CompareTests {
    static func file(_ data: Data, _ source: String) throws -> ResultFile { try ResultFile.parse(data, source: source) }

    static func compare(_ base: Data, _ new: Data, _ options: ComparisonOptions = ComparisonOptions()) throws -> Comparison {
        try Comparison(base: file(base, "base.json"), new: file(new, "new.json"), options: options)
    }

    static func error(_ body: () throws -> Any) -> InputError? {
        do { _ = try body(); return nil } catch let e as InputError { return e } catch { return nil }
    }

    // MARK: Verdicts

    @Test func twentyPercentRegressionIsFlagged() throws {
        let base = ResultFixtures.googleBenchmark([("bsr/b8x8", ResultFixtures.scaled(1)), ("csr", ResultFixtures.scaled(1))])
        let new = ResultFixtures.googleBenchmark([("bsr/b8x8", Array(ResultFixtures.scaled(1.2).reversed())), ("csr", ResultFixtures.scaled(1))])
        let c = try Self.compare(base, new)
        let bsr = try #require(c.cases.first { $0.name == "bsr/b8x8" })
        #expect(bsr.verdict == .regression)
        #expect(abs(bsr.ratio - 1.2) < 1e-9)
        #expect(abs(try #require(bsr.pValue) - 0.00018267179110955002) < 1e-12)
        #expect(c.cases.first { $0.name == "csr" }?.verdict == .unchanged)
        #expect(c.hasRegression)
        #expect(c.exitStatus() == CompareExit.regression)
        #expect(c.exitStatus(reportOnly: true) == CompareExit.success)
        #expect(abs(try #require(c.geometricMean) - 1.2.squareRoot()) < 1e-9)
        let md = c.markdown()
        #expect(md.contains("**1 regression**"))
        #expect(md.contains("Worst regressions"))
    }

    @Test func identicalInputsAreNotFlagged() throws {
        let data = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1)), ("b", ResultFixtures.scaled(2))])
        let c = try Self.compare(data, data)
        #expect(c.cases.count == 2)
        #expect(c.cases.allSatisfy { $0.verdict == .unchanged && $0.pValue == 1 && $0.ratio == 1 })
        #expect(!c.hasRegression)
        #expect(c.exitStatus() == CompareExit.success)
        #expect(c.geometricMean == 1)
        #expect(c.contextDifferences.isEmpty)
        #expect(c.markdown().contains("**No regression**"))
    }

    @Test func twoPercentNoisyChangeIsNotARegression() throws {
        // ±3% noise, +2% median: not significant (p = 0.0757), and below the 5% effect anyway.
        let noisy = try Self.compare(ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1, ResultFixtures.wideNoise))]),
                                     ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1.02, Array(ResultFixtures.wideNoise[3...] + ResultFixtures.wideNoise[..<3])))]))
        #expect(noisy.cases[0].verdict == .unchanged)
        #expect(abs(try #require(noisy.cases[0].pValue) - 0.07566157214388704) < 1e-12)
        // ±1% noise, +2%: significant, but below the minimum effect.
        let significant = try Self.compare(ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))]),
                                           ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1.02))]))
        #expect(try #require(significant.cases[0].pValue) < 0.05)
        #expect(significant.cases[0].verdict == .unchanged)
        #expect(!significant.hasRegression)
        // With a 1% minimum effect the same change is a regression.
        let strict = try Self.compare(ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))]),
                                      ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1.02))]), ComparisonOptions(minEffect: 0.01))
        #expect(strict.cases[0].verdict == .regression)
    }

    @Test func largeChangeWithoutSignificanceIsNoisy() throws {
        // Overlapping samples: +8% median but p > 0.05.
        let base: [Double] = [100, 130, 90, 120, 95, 125, 105, 115, 98, 135]
        let new: [Double] = [110, 140, 95, 128, 100, 131, 118, 122, 104, 139]
        let c = try Self.compare(ResultFixtures.googleBenchmark([("a", base)]), ResultFixtures.googleBenchmark([("a", new)]))
        #expect(c.cases[0].ratio > 1.05)
        #expect(try #require(c.cases[0].pValue) >= 0.05)
        #expect(c.cases[0].verdict == .noisy)
        // A stricter alpha turns a significant regression into noise.
        let clear = try Self.compare(ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))]),
                                     ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1.2))]), ComparisonOptions(alpha: 1e-5))
        #expect(clear.cases[0].verdict == .noisy)
    }

    @Test func improvementIsSymmetric() throws {
        let c = try Self.compare(ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1.25))]), ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))]))
        #expect(c.cases[0].verdict == .improvement)
        #expect(!c.hasRegression)
    }

    @Test func repetitionCountsWarnAndRefuse() throws {
        // 5 repetitions: tested, with a warning.
        let five = try Self.compare(ResultFixtures.googleBenchmark([("a", Array(ResultFixtures.scaled(1).prefix(5)))]),
                                    ResultFixtures.googleBenchmark([("a", Array(ResultFixtures.scaled(1.3).prefix(5)))]))
        #expect(five.cases[0].pValue != nil)
        #expect(five.cases[0].verdict == .regression)
        #expect(five.warnings.contains { $0.contains("fewer than 9") })
        // 2 repetitions: no test, a large change is only "noisy".
        let two = try Self.compare(ResultFixtures.googleBenchmark([("a", Array(ResultFixtures.scaled(1).prefix(2)))]),
                                   ResultFixtures.googleBenchmark([("a", Array(ResultFixtures.scaled(1.3).prefix(2)))]))
        #expect(two.cases[0].pValue == nil)
        #expect(two.cases[0].verdict == .noisy)
        #expect(two.cases[0].note?.contains("too few repetitions") == true)
        #expect(!two.hasRegression)
    }

    @Test func aggregatesOnlyGiveARatioButNoTest() throws {
        let base = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))], aggregatesOnly: true)
        let new = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1.3))])
        let side = try Self.file(base, "base.json")
        #expect(side.cases[0].fromAggregate && side.cases[0].samples.count == 1)
        let c = try Self.compare(base, new)
        #expect(c.cases[0].pValue == nil)
        #expect(abs(c.cases[0].ratio - 1.3) < 1e-9)
        #expect(c.cases[0].verdict == .noisy)
        #expect(c.cases[0].note?.contains("median aggregate only") == true)
    }

    @Test func timeUnitsAreConverted() throws {
        let ns = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))], unit: "ns")
        let us = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1).map { $0 / 1000 })], unit: "us")
        let ms = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1).map { $0 / 1e6 })], unit: "ms")
        let s = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1).map { $0 / 1e9 })], unit: "s")
        for other in [us, ms, s] {
            let c = try Self.compare(ns, other)
            #expect(abs(c.cases[0].ratio - 1) < 1e-12)
            #expect(c.cases[0].verdict == .unchanged)
        }
        #expect(abs(try Self.file(ms, "x").cases[0].median - 1e-3) < 1e-15)
    }

    @Test func errorEntriesAreListedNotCompared() throws {
        let base = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1)), ("b", ResultFixtures.scaled(1))])
        let new = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))], errors: ["b"])
        let c = try Self.compare(base, new)
        #expect(c.cases.map(\.name) == ["a"])
        #expect(c.errors.count == 1 && c.errors[0].name == "b")
        #expect(c.errors[0].message.contains("new: ISA avx512 not supported"))
        #expect(c.markdown().contains("`b`: error"))
    }

    @Test func casesThatFailInNewFailTheGate() throws {
        let base = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1)), ("b", ResultFixtures.scaled(1))])
        let new = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))], errors: ["b"])
        let c = try Self.compare(base, new)
        #expect(c.newFailures == ["b"])
        #expect(c.failure?.contains("1 case measured in base.json failed in new.json") == true, "\(c.failure ?? "nil")")
        #expect(c.exitStatus() == CompareExit.error)
        #expect(c.exitStatus(reportOnly: true) == CompareExit.error)
        #expect(c.summaryMarkdown().contains("**FAILED: 1 case measured"))
        // A case that errors on both sides (an ISA neither machine has) is listed, not a failure of NEW.
        let both = try Self.compare(ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))], errors: ["b"]), new)
        #expect(both.newFailures.isEmpty && both.failure == nil)
        #expect(both.errors.map(\.name) == ["b"])
        #expect(both.exitStatus() == CompareExit.success)
    }

    @Test func everyCaseUnverifiedInNewIsAnErrorNotAPass() throws {
        let names = ["instr/a", "instr/b", "instr/c"]
        let base = try ResultFixtures.kernelbenchReport(names.map { ($0, 1000) }, unit: "ns")
        var report = try JSONDecoder().decode(BenchmarkReport.self, from: base)
        for i in report.benchmarks.indices { report.benchmarks[i].verified = false }
        let c = try Self.compare(base, try report.jsonData())
        #expect(c.cases.isEmpty && c.errors.count == 3)
        #expect(c.newFailures == names)
        #expect(c.exitStatus() == CompareExit.error && c.exitStatus(reportOnly: true) == CompareExit.error)
        #expect(c.failure?.hasPrefix("3 cases measured in base.json failed in new.json") == true, "\(c.failure ?? "nil")")
        // Broken on the BASE side only: nothing can be compared, which is no pass either.
        let reversed = try Self.compare(try report.jsonData(), base)
        #expect(reversed.newFailures.isEmpty)
        #expect(reversed.failure == "no case could be compared: all 3 matched cases have errors")
        #expect(reversed.exitStatus(reportOnly: true) == CompareExit.error)
    }

    @Test func zeroTimesAreErrorsOnEitherSide() throws {
        let good = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1)), ("b", ResultFixtures.scaled(1))])
        let zero = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1).map { _ in 0 }), ("b", ResultFixtures.scaled(1))])
        let side = try Self.file(zero, "zero.json")
        #expect(side.cases.map(\.name) == ["b"])
        #expect(side.errors["a"] == "real_time is 0.0, not a positive measurement")
        // Zero in NEW: an error and a failure of NEW, never "-100%" or a geometric mean of 0.
        let newZero = try Self.compare(good, zero)
        #expect(newZero.cases.map(\.name) == ["b"] && newZero.newFailures == ["a"])
        #expect(newZero.errors.first?.message == "new: real_time is 0.0, not a positive measurement")
        #expect(newZero.geometricMean == 1)
        #expect(newZero.exitStatus() == CompareExit.error)
        // Zero in BASE: the same error, listed; NEW is not to blame.
        let baseZero = try Self.compare(zero, good)
        #expect(baseZero.errors.first?.message == "base: real_time is 0.0, not a positive measurement")
        #expect(baseZero.newFailures.isEmpty && baseZero.exitStatus() == CompareExit.success)
        // One zero repetition among positive ones spoils the case too.
        let oneZero = ResultFixtures.googleBenchmark([("a", [0] + ResultFixtures.scaled(1).dropFirst())])
        #expect(try Self.file(oneZero, "x").errors["a"] != nil)
        // A hand-built file that skips the reader's check gets the same treatment.
        let handBuilt = ResultFile(source: "h.json", kind: .googleBenchmark, unit: .seconds, context: [:],
                                   cases: [CaseSamples(name: "a", samples: [0, 0, 0])])
        let direct = try Comparison(base: Self.file(good, "base.json"), new: handBuilt)
        #expect(direct.newFailures == ["a"] && direct.errors.first?.message.contains("new: median is 0.0") == true)
    }

    @Test func unmatchedAndFilteredCases() throws {
        let base = ResultFixtures.googleBenchmark([("bsr/a", ResultFixtures.scaled(1)), ("bsr/old", ResultFixtures.scaled(1)), ("csr/a", ResultFixtures.scaled(1))])
        let new = ResultFixtures.googleBenchmark([("bsr/a", ResultFixtures.scaled(1)), ("bsr/new", ResultFixtures.scaled(1)), ("csr/a", ResultFixtures.scaled(2))])
        let c = try Self.compare(base, new)
        #expect(c.onlyInBase == ["bsr/old"])
        #expect(c.onlyInNew == ["bsr/new"])
        let filtered = try Self.compare(base, new, ComparisonOptions(filter: "^bsr/"))
        #expect(filtered.cases.map(\.name) == ["bsr/a"])
        #expect(!filtered.hasRegression)
        #expect(Self.error { try Self.compare(base, new, ComparisonOptions(filter: "([")) }?.message
            .contains("not a valid regular expression") == true)
        // An empty filter is refused as empty, not called an invalid expression.
        #expect(Self.error { try Self.compare(base, new, ComparisonOptions(filter: "")) }?.description
            == "--filter: is empty: give a regular expression, or leave --filter out to compare every case")
    }

    @Test func failOnMissingMakesCasesOnlyInBaseAFailure() throws {
        let base = ResultFixtures.googleBenchmark([("instr/a", ResultFixtures.scaled(1)), ("instr/b", ResultFixtures.scaled(1)), ("instr/c", ResultFixtures.scaled(1))])
        let new = ResultFixtures.googleBenchmark([("instr/a", ResultFixtures.scaled(1)), ("instr/new", ResultFixtures.scaled(1))])
        // By default a case only in base is listed, and NEW passes.
        let lenient = try Self.compare(base, new)
        #expect(lenient.onlyInBase == ["instr/b", "instr/c"] && lenient.failure == nil)
        #expect(lenient.exitStatus() == CompareExit.success)
        // With failOnMissing it is an error, even report-only; a case only in NEW is not.
        let strict = try Self.compare(base, new, ComparisonOptions(failOnMissing: true))
        #expect(strict.failure == "2 cases measured in base.json are missing from new.json (--fail-on-missing): instr/b, instr/c",
                "\(strict.failure ?? "nil")")
        #expect(strict.exitStatus() == CompareExit.error && strict.exitStatus(reportOnly: true) == CompareExit.error)
        #expect(strict.summaryMarkdown().contains("**FAILED: 2 cases measured in base.json are missing"))
        #expect(strict.summaryMarkdown().contains("Missing cases cannot pass the gate"))
        #expect(strict.markdown().contains("- `instr/b`: only in base"))
        let extraInNew = try Self.compare(ResultFixtures.googleBenchmark([("instr/a", ResultFixtures.scaled(1))]), new,
                                          ComparisonOptions(failOnMissing: true))
        #expect(extraInNew.failure == nil && extraInNew.exitStatus() == CompareExit.success)
        // --filter decides which cases count: a filtered-out missing case does not fail.
        let filtered = try Self.compare(base, new, ComparisonOptions(filter: "^instr/a$", failOnMissing: true))
        #expect(filtered.onlyInBase.isEmpty && filtered.failure == nil)
        // A case that errors in NEW is a failure of its own kind, listed with the missing ones.
        let errored = ResultFixtures.googleBenchmark([("instr/a", ResultFixtures.scaled(1))], errors: ["instr/b"])
        let both = try Self.compare(base, errored, ComparisonOptions(failOnMissing: true))
        #expect(both.newFailures == ["instr/b"] && both.onlyInBase == ["instr/c"])
        #expect(both.failure?.hasPrefix("1 case measured in base.json failed in new.json") == true)
        #expect(both.failure?.hasSuffix("1 case measured in base.json is missing from new.json (--fail-on-missing): instr/c") == true,
                "\(both.failure ?? "nil")")
    }

    @Test func contextDifferencesWarnLoudly() throws {
        let base = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))])
        let new = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))],
                                       context: ["cpu_model": "Intel Xeon", "library_build_type": "debug",
                                                 "host_name": "other", "date": "2026-01-01"])
        let c = try Self.compare(base, new)
        #expect(Set(c.contextDifferences.map(\.key)) == ["cpu_model", "library_build_type", "host_name"])
        #expect(Set(c.criticalDifferences.map(\.key)) == ["cpu_model", "library_build_type"])
        let md = c.markdown()
        #expect(md.contains("WARNING: the two runs differ in cpu_model, library_build_type"))
        // Summary first, then the table, then the context.
        let summary = try #require(md.range(of: "## Summary")), table = try #require(md.range(of: "## Cases")),
            context = try #require(md.range(of: "## Machine context"))
        #expect(summary.lowerBound < table.lowerBound && table.lowerBound < context.lowerBound)
    }

    // MARK: kernelbench files and deterministic counts

    @Test func deterministicCountsUseTheThreshold() throws {
        let base = try ResultFixtures.kernelbenchReport([("instr/a", 100_000), ("instr/b", 100_000), ("instr/c", 100_000)])
        let new = try ResultFixtures.kernelbenchReport([("instr/a", 103_000), ("instr/b", 101_000), ("instr/c", 97_000)])
        let side = try Self.file(base, "base.json")
        #expect(side.kind == .kernelbench && side.unit == .instructions)
        #expect(side.cases.map(\.kernel) == Array(repeating: "bsr_f32_spmm_generic__scalar", count: 3))
        #expect(side.context["build_configuration"] == MachineContext.buildConfiguration)
        let c = try Self.compare(base, new, ComparisonOptions(deterministic: true, threshold: 0.02))
        #expect(c.cases.map(\.verdict) == [.regression, .unchanged, .improvement])
        #expect(c.cases.allSatisfy { $0.pValue == nil })
        #expect(c.warnings.isEmpty)
        #expect(c.exitStatus() == CompareExit.regression)
        #expect(c.markdown().contains("103,000"))
        let loose = try Self.compare(base, new, ComparisonOptions(deterministic: true, threshold: 0.05))
        #expect(!loose.hasRegression)
    }

    @Test func timesAndInstructionCountsDoNotMix() throws {
        let instructions = try ResultFixtures.kernelbenchReport([("a", 1000)])
        let times = try ResultFixtures.kernelbenchReport([("a", 1000)], unit: "ns")
        #expect(try Self.file(times, "t").unit == .seconds)
        #expect(Self.error { try Self.compare(instructions, times) }?.message.contains("not comparable") == true)
    }

    @Test func kernelbenchAgainstGoogleBenchmark() throws {
        let kb = try ResultFixtures.kernelbenchReport([("a", 1000)], unit: "ns")
        let gb = ResultFixtures.googleBenchmark([("a", [1000, 1000, 1000])])
        let c = try Self.compare(kb, gb)
        #expect(c.cases.count == 1 && c.cases[0].ratio == 1)
        #expect(c.cases[0].verdict == .unchanged)
    }

    // MARK: Bad input

    /// Found by the compare fuzzer: a cache size beyond Int's range in a
    /// Google Benchmark context trapped when converted for display.
    @Test func absurdContextNumbersAreShownNotTrapped() throws {
        let text = """
            {"context": {"caches": [{"type": "Data", "level": 1e300, "size": 32E68, "num_sharing": -0.5},
                                    {"type": "Unified", "level": 2, "size": 1048576, "num_sharing": 1}]},
             "benchmarks": [{"name": "a", "real_time": 1, "time_unit": "ns"}]}
            """
        let file = try ResultFile.parse(Data(text.utf8), source: "gb.json")
        #expect(file.context["caches"] == "L? Data ?, L2 Unified 1024 KiB (shared by 1)")
        _ = try Comparison(base: file, new: file).markdown()
    }

    /// Subnormal and extreme values are formatted, never trapped on.
    @Test func extremeNumbersFormat() {
        #expect(Fmt.sig(Double.leastNonzeroMagnitude) == "4.94e-324")
        #expect(Fmt.sig(-Double.leastNormalMagnitude / 1024).hasPrefix("-2.17e-311"))
        #expect(Fmt.sig(1e308).hasPrefix("1000"))
        #expect(!niceLogTicks(.nan, .infinity).ticks.isEmpty)
    }

    @Test func malformedAndMismatchedFilesGiveClearErrors() throws {
        func message(_ text: String) -> String? { Self.error { try Self.file(Data(text.utf8), "bad.json") }?.description }
        #expect(message("")?.hasPrefix("bad.json: empty file") == true)
        #expect(message("{\"benchmarks\": [")?.hasPrefix("bad.json: malformed JSON") == true)
        #expect(message("[1, 2]") == "bad.json: not a benchmark result file: the top level is not a JSON object")
        #expect(message("{\"context\": {}}") == "bad.json: not a benchmark result file: no \"benchmarks\" array")
        #expect(message("{\"benchmarks\": 3}")?.contains("is not an array") == true)
        #expect(message("{\"benchmarks\": [{\"real_time\": 1}]}") == "bad.json: benchmarks[0]: missing \"name\"")
        #expect(message("{\"benchmarks\": [{\"name\": \"x\", \"real_time\": \"fast\"}]}")?
            .contains("missing or non-numeric \"real_time\"") == true)
        #expect(message("{\"benchmarks\": [{\"name\": \"x\", \"real_time\": 1, \"time_unit\": \"fortnights\"}]}")?
            .contains("unknown time_unit \"fortnights\"") == true)
        #expect(message("{\"benchmarks\": [{\"name\": \"x\", \"real_time\": -1}]}")?.contains("not a non-negative") == true)

        let missing = Self.error { try ResultFile.load(path: "/nonexistent/dir/result.json") }
        #expect(missing?.description == "/nonexistent/dir/result.json: no such file")
        let folder = NSTemporaryDirectory()
        #expect(Self.error { try ResultFile.load(path: folder) }?.description
            == "\(folder): is a directory, not a result file (kernelbench or Google Benchmark JSON)")

        let disjoint = Self.error {
            try Self.compare(ResultFixtures.googleBenchmark([("a", [1, 2, 3])]), ResultFixtures.googleBenchmark([("b", [1, 2, 3])]))
        }
        #expect(disjoint?.message.contains("no cases in common with base.json") == true)
        let empty = Self.error {
            try Self.compare(ResultFixtures.googleBenchmark([("a", [1, 2, 3])]), Data("{\"benchmarks\": []}".utf8))
        }
        #expect(empty?.message.contains("no cases in common") == true)
    }

    // MARK: The command's exit codes

    /// The `kernelbench` executable next to the test bundle, when this build has it.
    static var executable: URL? {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent(), dir.deletingLastPathComponent().deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("kernelbench")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        guard let binary = executable else { throw CocoaError(.fileNoSuchFile) }
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test(.enabled(if: executable != nil, "needs the kernelbench executable built alongside the tests"))
    func commandExitCodes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("compare-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ data: Data) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
        let base = try write("base.json", ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))]))
        let slower = try write("slower.json", ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1.2))]))
        let other = try write("other.json", ResultFixtures.googleBenchmark([("z", ResultFixtures.scaled(1))]))
        let bad = try write("bad.json", Data("{\"benchmarks\": [".utf8))

        #expect(try Self.run(["compare", base, base]).status == 0)
        let regression = try Self.run(["compare", base, slower])
        #expect(regression.status == 2)
        #expect(regression.stdout.contains("**1 regression**"))
        #expect(regression.stderr.contains("1 regression found"))
        let report = dir.appendingPathComponent("out/regression.md").path
        #expect(try Self.run(["compare", base, slower, "--report-only", "--report", report]).status == 0)
        #expect(try String(contentsOfFile: report, encoding: .utf8).contains("## Machine context"))
        // An existing report is kept unless --force; a compared file is never the report.
        try Data("keep".utf8).write(to: URL(fileURLWithPath: report))
        let kept = try Self.run(["compare", base, slower, "--report-only", "--report", report])
        #expect(kept.status == 1 && kept.stderr.contains("already exists; pass --force"), "\(kept.stderr)")
        #expect(try String(contentsOfFile: report, encoding: .utf8) == "keep")
        #expect(try Self.run(["compare", base, slower, "--report-only", "--report", report, "--force"]).status == 0)
        #expect(try String(contentsOfFile: report, encoding: .utf8).contains("## Machine context"))
        let onInput = try Self.run(["compare", base, slower, "--report", base, "--force"])
        #expect(onInput.status == 1 && onInput.stderr.contains("is one of the compared files"), "\(onInput.stderr)")
        #expect(try ResultFile.load(path: base).cases.isEmpty == false)
        #expect(try Self.run(["compare", base, slower, "--min-effect", "0.5"]).status == 0)

        let missing = try Self.run(["compare", base, dir.appendingPathComponent("none.json").path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("none.json: no such file"))
        let malformed = try Self.run(["compare", bad, base, "--report-only"])
        #expect(malformed.status == 1)
        #expect(malformed.stderr.contains("malformed JSON"))
        let disjoint = try Self.run(["compare", base, other])
        #expect(disjoint.status == 1)
        #expect(disjoint.stderr.contains("no cases in common"))
        #expect(try Self.run(["compare", base, base, "--alpha", "2"]).status == 1)

        // A case of BASE missing from NEW: listed by default, an error with --fail-on-missing.
        let two = try write("two.json", ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1)), ("b", ResultFixtures.scaled(1))]))
        #expect(try Self.run(["compare", two, base]).status == 0)
        let missingCase = try Self.run(["compare", two, base, "--fail-on-missing", "--report-only"])
        #expect(missingCase.status == 1, "\(missingCase.stderr)")
        #expect(missingCase.stderr.contains("1 case measured in \(two) is missing from \(base) (--fail-on-missing): b"),
                "\(missingCase.stderr)")
        #expect(try Self.run(["compare", base, two, "--fail-on-missing"]).status == 0)
        let help = try Self.run(["compare", "--help"])
        #expect(help.stdout.contains("--fail-on-missing"), "\(help.stdout)")
    }
}

/// The machine identity that keeps timings of different CPUs apart, and the peaks.
@Suite struct MachineIdentityTests {
    /// A disturbance only slows a probe, so the fastest sample is the peak; a
    /// one-core peak below the all-core rate per core was disturbed throughout.
    @Test func peaksTakeTheFastestProbeAndNeverUnderstateOneCore() {
        let quiet = MachinePeak.peaks(oneCore: [110, 117, 112], allCores: [200, 224, 219], threads: 2)
        #expect(quiet.one == 117 && quiet.all == 224)
        let disturbedOne = MachinePeak.peaks(oneCore: [80, 83.3, 82], allCores: [219.3, 215], threads: 2)
        #expect(disturbedOne.one == 219.3 / 2 && disturbedOne.all == 219.3)
        let single = MachinePeak.peaks(oneCore: [90, 95], allCores: [90, 95], threads: 1)
        #expect(single.one == 95 && single.all == 95)
        let empty = MachinePeak.peaks(oneCore: [], allCores: [], threads: 2)
        #expect(empty.one == 0 && empty.all == 0)
    }

    @Test func machineClassNamesZenGenerationsAndKeepsOtherIDs() {
        #expect(MachineContext.machineClass(cpuID: "AuthenticAMD family 25 model 1 stepping 1", cores: 2) == "zen3-2core")
        #expect(MachineContext.machineClass(cpuID: "AuthenticAMD family 25 model 17 stepping 1", cores: 2) == "zen4-2core")
        #expect(MachineContext.machineClass(cpuID: "AuthenticAMD family 25 model 97 stepping 2", cores: 16) == "zen4-16core")
        #expect(MachineContext.machineClass(cpuID: "AuthenticAMD family 23 model 49 stepping 0", cores: 4) == "zen2-4core")
        #expect(MachineContext.machineClass(cpuID: "AuthenticAMD family 26 model 2 stepping 0", cores: 8) == "zen5-8core")
        #expect(MachineContext.machineClass(cpuID: "AuthenticAMD family 21 model 2 stepping 0", cores: 2)
                == "authenticamd-f21m2-2core")
        #expect(MachineContext.machineClass(cpuID: "GenuineIntel family 6 model 143 stepping 8", cores: 2)
                == "genuineintel-f6m143-2core")
        #expect(MachineContext.machineClass(cpuID: "arm implementer 0x41 part 0xd0c variant 0x1 revision 1", cores: 4)
                == "arm-0x41-0xd0c-4core")
        #expect(MachineContext.machineClass(cpuID: "unknown", cores: 1) == "unknown-1core")
    }

    @Test func cacheSizesReadLikeSysfsWritesThem() {
        #expect(MachineContext.readableCacheSize("32K") == "32 KiB")
        #expect(MachineContext.readableCacheSize("1024K") == "1 MiB")
        #expect(MachineContext.readableCacheSize("1280K") == "1280 KiB")
        #expect(MachineContext.readableCacheSize("32768K") == "32 MiB")
        #expect(MachineContext.readableCacheSize("odd") == "odd")
    }

    @Test func thisMachineHasAnIdentity() {
        let context = MachineContext.current()
        #expect(context.cpu_id != nil && context.cpu_id != "")
        #expect(context.machine_class?.hasSuffix("-\(context.cores_available)core") == true)
    }

    /// Two EPYCs that both call themselves "AMD EPYC" (a Zen 3 and a Zen 4 VM)
    /// must not compare silently.
    @Test func aDifferentCPUIDOrFeatureSetIsCritical() throws {
        let base = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))],
                                                context: ["cpu_model": "AMD EPYC", "cpu_id": "AuthenticAMD family 25 model 1 stepping 1",
                                                          "isa_features": ["avx2", "fma"], "machine_class": "zen3-2core"])
        let new = ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))],
                                               context: ["cpu_model": "AMD EPYC", "cpu_id": "AuthenticAMD family 25 model 17 stepping 1",
                                                         "isa_features": ["avx2", "avx512f", "fma"], "machine_class": "zen4-2core"])
        let c = try CompareTests.compare(base, new)
        #expect(Set(c.criticalDifferences.map(\.key)) == ["cpu_id", "isa_features", "machine_class"])
        #expect(c.markdown().contains("WARNING: the two runs differ in cpu_id, isa_features, machine_class"))
    }

    /// Result files written before these fields existed still load.
    @Test func contextsWithoutTheIdentityStillDecode() throws {
        var context = MachineContext.current()
        context.cpu_id = nil
        context.cache_sizes = nil
        context.machine_class = nil
        let data = try JSONEncoder().encode(context)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["cpu_id"] == nil && object["machine_class"] == nil)
        let decoded = try JSONDecoder().decode(MachineContext.self, from: data)
        #expect(decoded.cpu_id == nil && decoded.machine_class == nil && decoded.cpu_model == context.cpu_model)
    }
}
