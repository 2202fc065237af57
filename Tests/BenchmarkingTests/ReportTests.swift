import Foundation
import Testing
@testable import BlockSparse
@testable import Benchmarking
import TestSupport

/// A synthetic result file: two matrix sources, sparsities 0.5/0.7/0.9/0.95,
/// dense, CSR, BSR 4x4, 8x8 (two kernels) and 16x1, threads 1 and 2, N 64
/// (and 256 for the square matrix). Speed-ups follow a simple model so every
/// break-even wording occurs: 8x8 always wins, 4x4 and CSR cross, 16x1 never wins.
func syntheticReport(unverifiedKernel: Bool = true) -> BenchmarkReport {
    var context = MachineContext.current()
    context.cpu_model = "Synthetic CPU @ 3.0GHz"
    context.git_revision = "abc1234"
    context.date = "2026-01-01T00:00:00Z"
    context.host_name = "testhost"
    context.build_configuration = "release"
    context.peak = MachinePeak(gflopsOneCore: 48, gflopsAllCores: 92, threads: 2, triadGBps: 14, dispatchOverhead: 4e-6)
    var entries: [BenchmarkEntry] = []
    let sources: [(label: String, m: Int, k: Int, ns: [Int])] = [("4096x4096", 4096, 4096, [64, 256]),
                                                                 ("lenet fc1 300x784", 300, 784, [64])]
    // Effective GFLOP/s per (format, block) on one thread; two threads run 1.8x faster (dense 1.9x).
    let kinds: [(format: String, kernel: String, br: Int, bc: Int, rate: Double)] = [
        ("dense", "openblas_sgemm", 0, 0, 30),
        ("csr", "csr_f32_spmm_n24__avx2_fma", 1, 1, 4),
        ("bsr", "bsr_f32_spmm_b4x4_n24__avx2_fma", 4, 4, 13.5),
        ("bsr", "bsr_f32_spmm_b8x8_n24__avx2_fma", 8, 8, 20),
        ("bsr", "x8_r4v2 <tuned>, v2", 8, 8, 18),
        ("bsr", "bsr_f32_spmm_b16x1_n24__avx2_fma", 16, 1, 1),
    ]
    for src in sources {
        for n in src.ns {
            for threads in [1, 2] {
                for s in [0.5, 0.7, 0.9, 0.95] {
                    let flops = 2.0 * Double(src.m * src.k * n)
                    let scale = threads == 1 ? 1.0 : 1.8
                    let dense = flops / (30 * 1.9 * (threads == 1 ? 1 / 1.9 : 1)) / 1e9
                    let csrTime = flops * (1 - s) / (4 * scale) / 1e9
                    for kind in kinds {
                        let seconds = kind.format == "dense" ? dense : flops * (1 - s) / (kind.rate * scale) / 1e9
                        let useful = flops * (kind.format == "dense" ? 1 - s : 1 - s) / seconds / 1e9
                        let bytes = Double(src.m * src.k) * (1 - s) * 8 + Double(src.k * n + src.m * n) * 4
                        let runName = "\(kind.format)/\(kind.kernel)/\(src.label)/s\(s)/n\(n)/t\(threads)"
                        let failed = unverifiedKernel && kind.br == 4 && s == 0.9 && n == 64 && threads == 2 && src.m == 4096
                        let base = BenchmarkEntry(
                            name: runName, run_name: runName, run_type: "iteration", aggregate_name: nil, repetitions: 3,
                            repetition_index: 0, threads: threads, iterations: 10, real_time: seconds * 1e9,
                            cpu_time: seconds * 1e9 * Double(threads), time_unit: "ns", format: kind.format,
                            kernel: kind.kernel, block_rows: kind.br, block_cols: kind.bc, m: src.m, k: src.k, n: n,
                            sparsity: kind.format == "dense" ? s : s, achieved_sparsity: s, distribution: "uniform",
                            matrix: src.label, partition: threads == 1 ? "none" : "balanced", useful_gflops: useful,
                            effective_gflops: kind.format == "dense" ? flops / seconds / 1e9 : useful * 1.05,
                            gbytes_per_second: bytes / seconds / 1e9,
                            percent_of_peak: 100 * flops * (kind.format == "dense" ? 1 : 1 - s) / seconds / 1e9 / (threads == 1 ? 48 : 92),
                            speedup_vs_dense: dense / seconds, speedup_vs_csr: kind.format == "dense" ? nil : csrTime / seconds,
                            verified: !failed, max_abs_error: failed ? 0.5 : 1e-6, max_rel_error: failed ? 0.1 : 1e-7)
                        for (i, f) in [1.02, 0.99, 1.0].enumerated() {
                            var e = base
                            e.repetition_index = i
                            e.real_time = base.real_time * f
                            entries.append(e)
                        }
                        for (agg, f) in [("mean", 1.0033), ("median", 1.0), ("stddev", 0.015), ("min", 0.99), ("max", 1.02), ("mad", 0.01)] {
                            var e = base
                            e.name = runName + "_" + agg
                            e.run_type = "aggregate"
                            e.aggregate_name = agg
                            e.repetition_index = nil
                            e.real_time = base.real_time * f
                            entries.append(e)
                        }
                    }
                }
            }
        }
    }
    return BenchmarkReport(context: context, benchmarks: entries)
}

/// A report of one BSR 8x8 series with the given speed-ups at the given sparsities.
func speedupReport(_ pairs: [(Double, Double)], format: String = "bsr") -> BenchmarkReport {
    var context = MachineContext.current()
    context.peak = nil
    let entries = pairs.map { (s, speedup) in
        BenchmarkEntry(
            name: "x_median", run_name: "x/\(s)", run_type: "aggregate", aggregate_name: "median", repetitions: 5,
            repetition_index: nil, threads: 1, iterations: 1, real_time: 1000 / speedup, cpu_time: 1000 / speedup,
            time_unit: "us", format: format, kernel: "k", block_rows: format == "csr" ? 1 : 8, block_cols: format == "csr" ? 1 : 8,
            m: 512, k: 512, n: 64, sparsity: s, achieved_sparsity: s, distribution: "uniform", matrix: "512x512",
            partition: "none", useful_gflops: 1, effective_gflops: 1, gbytes_per_second: 1, percent_of_peak: nil,
            speedup_vs_dense: speedup, speedup_vs_csr: nil, verified: true, max_abs_error: 0, max_rel_error: 0)
    }
    return BenchmarkReport(context: context, benchmarks: entries)
}

@Suite struct ReportBreakEvenTests {
    /// A run whose FMA probe did not scale (a core held by other work) says so
    /// in the Markdown and HTML reports; a run that scaled does not.
    @Test func poorProbeScalingIsFlagged() {
        var report = syntheticReport()
        #expect(report.context.peak?.scalingWarning == nil)  // 92 / 48 = 1.92x on 2 threads
        #expect(!ReportRenderer.markdown(report).contains("FMA probe scaled only"))
        report.context.peak = MachinePeak(gflopsOneCore: 95, gflopsAllCores: 95, threads: 2, triadGBps: 14,
                                          dispatchOverhead: 4e-6)
        #expect(report.context.peak?.scalingWarning?.contains("scaled only 1.00x on 2 threads") == true)
        #expect(ReportRenderer.markdown(report).contains("FMA probe scaled only 1.00x") && ReportRenderer.markdown(report).contains("(1.00x)"))
        #expect(ReportRenderer.html(report).contains("FMA probe scaled only 1.00x"))
        report.context.peak = MachinePeak(gflopsOneCore: 95, gflopsAllCores: 95, threads: 1, triadGBps: 14,
                                          dispatchOverhead: 0)
        #expect(report.context.peak?.scalingWarning == nil)
    }

    @Test func interpolatesTheCrossing() throws {
        let evens = ReportRenderer.breakEvens(speedupReport([(0.5, 0.8), (0.7, 1.2), (0.9, 2), (0.95, 3)]))
        #expect(evens.count == 1)
        let b = try #require(evens.first)
        #expect(abs(try #require(b.sparsity) - 0.6) < 1e-12)
        #expect(b.sentence == "8x8 BSR beats dense from 60% sparsity")
        #expect(b.setting == "512x512, N = 64, 1 thread")
    }

    @Test func edgeCaseWordings() throws {
        let always = try #require(ReportRenderer.breakEvens(speedupReport([(0.5, 1.1), (0.7, 1.5), (0.95, 4)])).first)
        #expect(always.outcome == .alwaysFaster(from: 0.5))
        #expect(always.sparsity == nil)
        #expect(always.sentence == "8x8 BSR beats dense at every measured sparsity (>= 50%)")

        let never = try #require(ReportRenderer.breakEvens(speedupReport([(0.5, 0.1), (0.9, 0.5), (0.95, 0.9)])).first)
        #expect(never.outcome == .neverFaster(upTo: 0.95))
        #expect(never.sentence == "8x8 BSR never beats dense up to 95%")

        let csr = try #require(ReportRenderer.breakEvens(speedupReport([(0.5, 0.2), (0.9, 0.6), (0.95, 1.4)], format: "csr")).first)
        #expect(csr.blockRows == 1 && csr.blockCols == 1)
        #expect(abs(try #require(csr.sparsity) - 0.925) < 1e-12)
        #expect(csr.sentence == "CSR beats dense from 93% sparsity")

        // Not monotone: the last crossing from below counts, and the sentence says so.
        let noisy = try #require(ReportRenderer.breakEvens(speedupReport([(0.5, 1.05), (0.7, 0.9), (0.9, 1.1)])).first)
        #expect(abs(try #require(noisy.sparsity) - 0.8) < 1e-12)
        #expect(noisy.sentence.hasPrefix("8x8 BSR beats dense from 80% sparsity (also at 50%"))
        let dips = try #require(ReportRenderer.breakEvens(speedupReport([(0.5, 0.9), (0.7, 1.1), (0.9, 0.95)])).first)
        #expect(dips.outcome == .notAtHighest(fasterAt: [0.7], upTo: 0.9))
        #expect(dips.sentence.contains("only at 70%"))
        // A crossing just above a losing point never reads as that point.
        let close = try #require(ReportRenderer.breakEvens(speedupReport([(0.0, 0.85), (1.0, 30)])).first)
        #expect(close.sentence == "8x8 BSR beats dense from 1% sparsity")
        let near = try #require(ReportRenderer.breakEvens(speedupReport([(0.5, 0.99), (0.95, 9)])).first)
        #expect(near.sentence == "8x8 BSR beats dense from 51% sparsity")
        let fine = try #require(ReportRenderer.breakEvens(speedupReport([(0.9, 0.99), (0.91, 1.5), (0.95, 3)])).first)
        #expect(fine.sentence == "8x8 BSR beats dense from 90.1% sparsity")
    }

    @Test func csrIsJudgedOnTheUnstructuredMatrix() throws {
        // CSR on the 4x4-block matrix wins at 50%; on the unstructured one it loses there.
        var blocky = speedupReport([(0.5, 1.2), (0.9, 3)], format: "csr")
        for i in blocky.benchmarks.indices { (blocky.benchmarks[i].block_rows, blocky.benchmarks[i].block_cols) = (4, 4) }
        let plain = speedupReport([(0.5, 0.8), (0.9, 1.2)], format: "csr")
        var both = plain
        both.benchmarks += blocky.benchmarks
        let evens = ReportRenderer.breakEvens(both)
        #expect(evens.count == 1)
        #expect(try #require(evens.first).sentence == "CSR beats dense from 70% sparsity")
        // Without the unstructured matrix, the subject says which matrix CSR ran on.
        let alone = try #require(ReportRenderer.breakEvens(blocky).first)
        #expect(alone.sentence == "CSR on the 4x4-block matrix beats dense at every measured sparsity (>= 50%)")
    }

    @Test func resultRowsNameTheirMatrixAndPartition() {
        var report = speedupReport([(0.5, 0.8), (0.5, 1.2)], format: "csr")
        report.benchmarks[1].block_rows = 4
        report.benchmarks[1].block_cols = 4
        report.benchmarks[1].run_name = "x/other"
        report.benchmarks[1].partition = "serial (work 3 us < 10 x dispatch overhead 40 us)"
        let md = ReportRenderer.markdown(report), html = ReportRenderer.html(report)
        #expect(md.contains("| csr | `k` | 1x1 | 50% | 64 | 1 | none |"), "\(md)")
        #expect(md.contains("| csr | `k` | 4x4 | 50% | 64 | 1 | serial (work 3 us < 10 x dispatch overhead 40 us) |"))
        #expect(html.contains("<td>4x4</td>") && html.contains("<td>serial (work 3 us &lt; 10 x dispatch overhead 40 us)</td>"))
    }

    @Test func chartsSurviveExtremeValues() {
        // Hand-edited or corrupted files: values near the Double limits must not trap the axis code.
        for pairs in [[(0.5, 1.7e308), (0.9, -1.7e308)], [(1.7e308, 2.0), (-1.7e308, 3.0)], [(0.5, Double.leastNonzeroMagnitude), (0.7, 0)]] {
            var report = speedupReport(pairs)
            for i in report.benchmarks.indices { report.benchmarks[i].useful_gflops = i % 2 == 0 ? 1.7e308 : -1.7e308 }
            let html = ReportRenderer.html(report)
            #expect(html.contains("</html>") && !html.contains("nan") && !html.contains("inf\""), "\(pairs)")
        }
    }

    @Test func syntheticReportGivesEveryWording() {
        let evens = ReportRenderer.breakEvens(syntheticReport())
        // 2 settings for 4096 (N 64, 256) + 1 for lenet, x 2 thread counts, x 4 series (csr, 4x4, 8x8, 16x1).
        #expect(evens.count == 3 * 2 * 4)
        let square = evens.filter { $0.source == "4096x4096" && $0.n == 64 && $0.threads == 1 }
        #expect(square.map(\.subject) == ["CSR", "4x4 BSR", "16x1 BSR", "8x8 BSR"])
        // Model: speed-up = rate / (30 (1 - s)); 8x8's best kernel (rate 20) wins everywhere.
        #expect(square[3].outcome == .alwaysFaster(from: 0.5))
        #expect(square[3].points.allSatisfy { $0.kernel == "bsr_f32_spmm_b8x8_n24__avx2_fma" })
        #expect(square[2].outcome == .neverFaster(upTo: 0.95))
        // 4x4: 0.9 at 50%, 1.5 at 70% -> 50% + 0.2 * 0.1 / 0.6 = 53.3%.
        #expect(abs((square[1].sparsity ?? 0) - (0.5 + 0.2 / 6)) < 1e-9)
        #expect(square[1].sentence == "4x4 BSR beats dense from 54% sparsity")  // 53.3%, rounded up
    }
}

@Suite struct ReportRenderTests {
    @Test func markdownHasTablesAndFlagsUnverified() {
        let md = ReportRenderer.markdown(syntheticReport())
        #expect(md.hasPrefix("# KernelBench report"))
        #expect(md.contains("### 4096x4096\n"))
        #expect(md.contains("### lenet fc1 300x784\n"))
        #expect(md.contains("| format | kernel | matrix blocks | sparsity | N | threads | partition | median time | useful GFLOP/s | effective GFLOP/s | % of peak | speedup vs dense | speedup vs CSR | verified |"))
        // The warning comes before the machine summary and the tables.
        let warning = md.range(of: "FAILED verification")
        #expect(warning != nil)
        #expect(warning!.lowerBound < md.range(of: "## Machine")!.lowerBound)
        #expect(md.contains("bsr_f32_spmm_b4x4_n24__avx2_fma"))
        #expect(md.contains("**NO ⚠️**"))
        #expect(md.contains("4x4 BSR beats dense from 54% sparsity."))
        #expect(md.contains("| FMA peak | 48.0 GFLOP/s on 1 core, 92.0 GFLOP/s on 2 threads (1.92x) |"))
        // Table rows: 6 kinds x 4 sparsities x (2 + 2 + 2 settings) = 144, each with 13 cells.
        let rows = md.split(separator: "\n").filter { $0.hasPrefix("| dense ") || $0.hasPrefix("| csr ") || $0.hasPrefix("| bsr ") }
        #expect(rows.count == 144)

        let clean = ReportRenderer.markdown(syntheticReport(unverifiedKernel: false))
        #expect(!clean.contains("FAILED"))
    }

    /// The summary `kernelbench run` prints: one table per matrix, N and thread
    /// count, block sizes down and sparsities across, each cell the speed-up
    /// over dense and the useful GFLOP/s.
    @Test func terminalSummaryTablesSpeedups() {
        let text = ReportRenderer.terminalSummary(syntheticReport(unverifiedKernel: false))
        #expect(text.contains("4096x4096  N=64  threads=1: speedup over dense OpenBLAS (useful GFLOP/s)"))
        #expect(text.contains("lenet fc1 300x784  N=64  threads=2: speedup over dense OpenBLAS (useful GFLOP/s)"))
        let header = text.split(separator: "\n").first { $0.hasPrefix("  block") }.map(String.init) ?? ""
        #expect(header == "  block     " + ["50%", "70%", "90%", "95%"].map { $0.leftPadded(to: 16) }.joined())
        // 8x8's best kernel (rate 20 against dense 30 at 1 - s of the work): 1.33x at 50% on one thread.
        let row = text.split(separator: "\n").first { $0.hasPrefix("  8x8") }.map(String.init) ?? ""
        #expect(row.hasPrefix("  8x8          1.33x ( 20.0)   2.22x ( 20.0)"), "\(row)")
        // No break-even search in this report: the interpolated sentences follow the tables.
        #expect(text.contains("Break-even against dense on this machine (interpolated between the measured sparsities"))
        #expect(text.contains("4x4 BSR beats dense from 54% sparsity"))
    }

    @Test func csvHasHeaderRowsAndQuoting() throws {
        let report = syntheticReport()
        let csv = ReportRenderer.csv(report)
        let lines = csv.split(separator: "\n", omittingEmptySubsequences: false).dropLast()  // trailing newline
        #expect(lines.first.map(String.init) == ReportRenderer.csvColumns.joined(separator: ","))
        #expect(lines.count == report.aggregates("median").count + 1)
        #expect(lines.count == 145)
        // A kernel name with a comma is quoted; the quoted row still has the right number of fields.
        let quoted = try #require(lines.first { $0.contains("\"x8_r4v2 <tuned>, v2\"") })
        #expect(parseCSVLine(String(quoted)).count == ReportRenderer.csvColumns.count)
        #expect(ReportRenderer.csvField("a\"b") == "\"a\"\"b\"")
        // min/max come from the aggregates, in seconds.
        let row = parseCSVLine(String(quoted))
        let col = { (name: String) in row[ReportRenderer.csvColumns.firstIndex(of: name)!] }
        let median = try #require(Double(col("median_seconds"))), min = try #require(Double(col("min_seconds")))
        #expect(abs(min / median - 0.99) < 1e-9)
        #expect(median < 1)
    }

    @Test func htmlIsWellFormedAndEscaped() {
        let html = ReportRenderer.html(syntheticReport())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.components(separatedBy: "<svg").count == html.components(separatedBy: "</svg>").count)
        for kind in ["chart-gflops", "chart-speedup", "chart-scaling", "chart-roofline"] {
            #expect(html.contains("class=\"chart \(kind)\""), "missing \(kind)")
        }
        #expect(!html.contains("<tuned>"))
        #expect(html.contains("x8_r4v2 &lt;tuned&gt;, v2"))
        #expect(!html.contains("<script"))
        // Nothing fetched from anywhere: no external resources.
        for needle in ["src=", "href=", "@import", "url(http", "<link", "<img"] { #expect(!html.contains(needle), "\(needle)") }
        #expect(html.contains("class=\"alert\""))
        #expect(html.contains("<tr class=\"fail\">"))
        // Chart ids are unique.
        let ids = html.components(separatedBy: "id=\"chart").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(Set(ids).count == ids.count)
        // Balanced table and section tags.
        for tag in ["table", "ul", "div", "tbody"] {
            #expect(html.components(separatedBy: "<\(tag)").count == html.components(separatedBy: "</\(tag)>").count, "\(tag)")
        }
    }

    @Test func htmlDegradesWithoutData() {
        var report = syntheticReport()
        report.context.peak = nil
        report.benchmarks = report.benchmarks.filter { $0.threads == 1 && $0.format != "dense" }
        for i in report.benchmarks.indices { report.benchmarks[i].speedup_vs_dense = nil }
        let html = ReportRenderer.html(report)
        #expect(!html.contains("chart-speedup"))
        #expect(!html.contains("chart-scaling"))
        #expect(html.contains("chart-roofline"))
        #expect(html.contains("ceilings omitted"))
        #expect(html.contains("No chart:"))

        let empty = BenchmarkReport(context: report.context)
        let page = ReportRenderer.html(empty)
        #expect(!page.contains("<svg"))
        #expect(page.contains("No results in this file."))
        #expect(ReportRenderer.markdown(empty).contains("No results in this file."))
        #expect(ReportRenderer.csv(empty) == ReportRenderer.csvColumns.joined(separator: ",") + "\n")
    }

    @Test func medianFallsBackToTheMiddleRepetition() {
        var report = syntheticReport()
        report.benchmarks = report.benchmarks.filter { $0.run_type == "iteration" }
        let medians = ReportRenderer.medianEntries(report)
        #expect(medians.count == 144)
        #expect(medians.allSatisfy { $0.repetition_index == 2 })  // factors 1.02, 0.99, 1.0: 1.0 is the middle
    }
}

@Suite struct ReportFileTests {
    func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kb-report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func writesAndRefusesToOverwrite() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = syntheticReport()
        let input = dir + "/results.json"
        try writeAtomically(report.jsonData(), to: input)
        let loaded = try BenchmarkReport.load(path: input)
        let written = try ReportRenderer.write(loaded, stem: "results", directory: dir, formats: ReportFormat.allCases,
                                               force: false, input: input)
        #expect(written == [dir + "/results.md", dir + "/results.html", dir + "/results.csv"])
        for path in written { #expect(FileManager.default.fileExists(atPath: path)) }
        let before = try String(contentsOfFile: dir + "/results.md", encoding: .utf8)

        #expect {
            _ = try ReportRenderer.write(loaded, stem: "results", directory: dir, formats: [.csv, .markdown], force: false)
        } throws: { error in
            guard let e = error as? InputError else { return false }
            return e.source == dir + "/results.csv" && e.description.contains("already exists")
                && !e.description.contains("\n")
        }
        // --force overwrites.
        try writeAtomically(Data("old".utf8), to: dir + "/results.md")
        _ = try ReportRenderer.write(loaded, stem: "results", directory: dir, formats: [.markdown], force: true)
        #expect(try String(contentsOfFile: dir + "/results.md", encoding: .utf8) == before)
        // Never over the input, even with force.
        #expect(throws: InputError.self) {
            _ = try ReportRenderer.write(loaded, stem: "results", directory: dir, formats: [.csv], force: true,
                                         input: dir + "/results.csv")
        }
        // Optional sample for a visual check: KERNELBENCH_REPORT_SAMPLE=/some/folder swift test --filter Report
        if let sample = ProcessInfo.processInfo.environment["KERNELBENCH_REPORT_SAMPLE"], !sample.isEmpty {
            try writeAtomically(report.jsonData(), to: sample + "/sample.json")
            _ = try ReportRenderer.write(report, stem: "sample", directory: sample, formats: ReportFormat.allCases, force: true)
        }
    }

    /// A report of instruction counts (or of times in ns, us, ms) is shown in
    /// its own unit, and an unknown unit is refused as `compare` refuses it.
    @Test func unitsAreRenderedAndUnknownUnitsRefused() throws {
        let counts = try JSONDecoder().decode(BenchmarkReport.self,
                                              from: ResultFixtures.kernelbenchReport([("instr/a", 101_000)]))
        #expect(try counts.unit(source: "x") == .instructions)
        let md = ReportRenderer.markdown(counts)
        #expect(md.contains("| 101,000 |") && md.contains("median instructions per call"), "\(md)")
        #expect(md.contains("instruction counts per kernel call") && !md.contains("101000 s") && !md.contains("median time"))
        let csv = ReportRenderer.csv(counts).split(separator: "\n").map { parseCSVLine(String($0)) }
        let header = try #require(csv.first)
        #expect(header.contains("median_instructions") && !header.contains("median_seconds"))
        #expect(csv[1][try #require(header.firstIndex(of: "median_instructions"))] == "101000.0")
        let html = ReportRenderer.html(counts)
        #expect(html.contains(">101,000<") && html.contains("median instructions per call") && !html.contains("101000 s"))

        for (unit, value, shown) in [("ns", 2500.0, "2.50 µs"), ("us", 2500.0, "2.50 ms"), ("ms", 2.5, "2.50 ms"), ("s", 2.5, "2.50 s")] {
            var times = counts
            times.benchmarks[0].time_unit = unit
            times.benchmarks[0].real_time = value
            #expect(try times.unit(source: "x") == .seconds)
            #expect(ReportRenderer.markdown(times).contains("| \(shown) |"), "\(unit)")
            #expect(ReportRenderer.csv(times).contains("median_seconds"))
        }

        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var odd = counts
        odd.benchmarks[0].time_unit = "parsecs"
        #expect {
            _ = try ReportRenderer.write(odd, stem: "odd", directory: dir, formats: ReportFormat.allCases, force: false,
                                         input: "odd.json")
        } throws: { error in
            (error as? InputError)?.description
                == "odd.json: instr/a_median: unknown time_unit \"parsecs\" (expected ns, us, ms, s or instructions)"
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/odd.md"))
        var mixed = counts
        mixed.benchmarks.append(mixed.benchmarks[0])
        mixed.benchmarks[1].time_unit = "ns"
        #expect(throws: InputError.self) { _ = try mixed.unit(source: "mixed.json") }
    }

    @Test func badInputAndFormats() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeAtomically(Data("{\"context\": 3}".utf8), to: dir + "/bad.json")
        #expect(throws: InputError.self) { _ = try BenchmarkReport.load(path: dir + "/bad.json") }
        #expect {
            _ = try BenchmarkReport.load(path: dir)
        } throws: { error in
            (error as? InputError)?.description == "\(dir): is a directory, not a kernelbench result file"
        }
        // The one writer says an empty path is empty (not "names a directory").
        #expect {
            try writeAtomically(Data("x".utf8), to: "")
        } throws: { error in
            (error as? InputError)?.description == "output: the path is empty: name a file to write"
        }
        #expect(try ReportFormat.parseList("md, HTML,csv,md") == [.markdown, .html, .csv])
        #expect(throws: InputError.self) { _ = try ReportFormat.parseList("md,pdf") }
    }
}

/// Splits one RFC 4180 line (no embedded newlines).
func parseCSVLine(_ line: String) -> [String] {
    var fields: [String] = [], field = "", quoted = false
    var chars = Array(line)[...]
    while let c = chars.popFirst() {
        if quoted {
            if c == "\"" {
                if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
            } else { field.append(c) }
        } else if c == "\"" { quoted = true } else if c == "," { fields.append(field); field = "" } else { field.append(c) }
    }
    fields.append(field)
    return fields
}
