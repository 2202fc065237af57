import Foundation
import Testing
@testable import BlockSparse
@testable import Benchmarking
import TestSupport

/// End-to-end tests of the built `kernelbench` executable: what a user types.
@Suite(.serialized) struct CLITests {
    typealias Result = CLIRunner.Result
    let cli = CLIRunner(prefix: "kb-cli")
    var dir: String { cli.dir }

    func run(_ args: [String], env: [String: String] = [:]) throws -> Result { try cli.run(args, env: env) }

    /// A usage or input error: exit 2, one clear message, no stack trace.
    func expectUsageError(_ args: [String], _ phrase: String, env: [String: String] = [:]) throws {
        let r = try run(args, env: env)
        #expect(r.code == 2, "\(args): exit \(r.code), stderr: \(r.err)")
        #expect(r.err.contains(phrase), "\(args): stderr was: \(r.err)")
        #expect(!r.err.contains("Fatal error") && !r.err.contains("Stack dump"), "\(args): \(r.err)")
    }

    @Test func threadingOptionsAreChecked() throws {
        try expectUsageError(["run", "--runtime", "team,openmp"], "--runtime: 'openmp' is not team or dispatch")
        try expectUsageError(["run", "--spin-window=-1"], "--spin-window must be between 0 and 100000 microseconds")
        try expectUsageError(["peak", "--spin-window", "1e9"], "--spin-window must be between 0 and 100000 microseconds")
        try expectUsageError(["peak", "--work", "20,,100"], "--work: empty item in '20,,100'")
        try expectUsageError(["peak", "--work", "0.5"], "--work: '0.5' is not a task length between 1 and 100000 microseconds")
        try expectUsageError(["peak", "--json", "--work", "20"], "--work prints a table: use it without --json")
        // The team and dispatch runtimes side by side, on two threads, each verified.
        let r = try run(["run", "--shape", "128x128", "--blocks", "4", "--sparsities", "0.5", "--n", "16",
                         "--threads", "2", "--formats", "bsr,csr", "--runtime", "team,dispatch", "--spin-window", "50",
                         "--repetitions", "2", "--min-time", "0", "--output", "rt.json"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("kernelbench: fork/join team: ") && r.err.contains("; dispatch: "), "\(r.err)")
        let medians = try BenchmarkReport.load(path: dir + "/rt.json").aggregates("median")
        #expect(Set(medians.map(\.run_name)) == ["bsr/128x128/b4x4/s50/n16/threads:2", "bsr/128x128/b4x4/s50/n16/threads:2/dispatch",
                                                  "csr/128x128/b4x4/s50/n16/threads:2", "csr/128x128/b4x4/s50/n16/threads:2/dispatch"])
        #expect(medians.allSatisfy { $0.verified && ($0.partition.hasSuffix("team") || $0.partition.hasSuffix("dispatch")
                                                     || $0.partition.hasPrefix("serial")) }, "\(medians.map(\.partition))")
        let peak = try run(["peak", "--work", "20"])
        #expect(peak.code == 0 && peak.out.contains("Fork/join, team:") && peak.out.contains("Fork/join, dispatch:")
                && peak.out.contains("Speedup over one thread"), "\(peak.out)")
    }

    @Test func helpTeaches() throws {
        let r = try run(["--help"])
        #expect(r.code == 0)
        for word in ["run", "list", "peak", "export", "report", "KERNELBENCH_ISA"] { #expect(r.out.contains(word), "\(word)") }
        let runHelp = try run(["run", "--help"])
        #expect(runHelp.code == 0 && runHelp.out.contains("--sparsities") && runHelp.out.contains("Examples"))
    }

    @Test func badInputIsOneLineAndExitTwo() throws {
        try expectUsageError(["--bogus"], "Unknown option")
        try expectUsageError(["run", "--blocks", "0"], "'0' is not a block size")
        try expectUsageError(["run", "--blocks", "4x"], "is not a block size")
        try expectUsageError(["run", "--sparsities", "1.5"], "not a sparsity in [0, 1]")
        try expectUsageError(["run", "--sparsities=-0.1"], "not a sparsity")
        try expectUsageError(["run", "--shape", "-5x3"], "--shape")
        try expectUsageError(["run", "--shape", "0x10"], "between 1 and")
        try expectUsageError(["run", "--n", "0"], "--n")
        try expectUsageError(["run", "--threads", "zero"], "--threads")
        try expectUsageError(["run", "--formats", "coo"], "not one of bsr, csr, dense")
        try expectUsageError(["run", "--filter", "("], "not a valid regular expression")
        try expectUsageError(["run", "--shape", "2000000000x2000000000", "--blocks", "8", "--sparsities", "0"],
                             "memory is available")
        try expectUsageError(["run", "--shape", "2147483647x2147483647", "--blocks", "8", "--sparsities", "0"],
                             "needs more than 8192.0 PiB")
        // A file matrix stores every block whole: 1000 scattered entries in 256x256 blocks are 262 MB of BSR
        // (twice: the group's and the driver's copy).
        var padded = "%%MatrixMarket matrix coordinate real general\n1 256000 1000\n"
        for i in 0..<1000 { padded += "1 \(i * 256 + 1) 1.0\n" }
        try padded.write(toFile: dir + "/padded.mtx", atomically: true, encoding: .utf8)
        try expectUsageError(["run", "--matrix", "padded.mtx", "--blocks", "256", "--n", "1", "--threads", "1"],
                             "needs 503.9 MiB", env: ["KERNELBENCH_MEMORY_LIMIT": "100M"])
        // ... while a large, very sparse file runs: its own non-zeros count, not rows x cols (that was 260 GiB).
        try "%%MatrixMarket matrix coordinate real general\n100000 100000 3\n1 1 1.0\n500 600 2.0\n99999 5 3.0\n"
            .write(toFile: dir + "/sparse.mtx", atomically: true, encoding: .utf8)
        let sparse = try run(["run", "--matrix", "sparse.mtx", "--blocks", "4", "--n", "1", "--threads", "1", "--formats", "bsr,csr",
                              "--repetitions", "1", "--min-time", "0", "--output", "sparse/r.json"])
        #expect(sparse.code == 0, "\(sparse.err)")
        // A tall, narrow matrix needs far more than its non-zeros (per-row lists and row pointers): 265 MiB
        // here, where counting the non-zeros gave 66 MiB and let the run start.
        try expectUsageError(["run", "--shape", "3000000x1", "--blocks", "1", "--sparsities", "0.5", "--n", "1",
                              "--threads", "1", "--formats", "csr"], "needs 265.4 MiB but only 150.0 MiB",
                             env: ["KERNELBENCH_MEMORY_LIMIT": "150M"])
        try expectUsageError(["run", "--matrix", "missing.mtx"], "missing.mtx")
        try "%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1.0\n".write(toFile: dir + "/bad.mtx", atomically: true, encoding: .utf8)
        try expectUsageError(["run", "--matrix", "bad.mtx"], "bad.mtx:3")
        try expectUsageError(["run", "--safetensors", "x.safetensors"], "--tensor")
        try expectUsageError(["run", "--suite", "quick"], "KERNELBENCH_ISA=bogus", env: ["KERNELBENCH_ISA": "bogus"])
        try expectUsageError(["paper", "--hidden-fraction", "0"], "--hidden-fraction must be in (0, 1)")
        try expectUsageError(["paper", "--output-fraction", "1.5"], "--output-fraction must be in (0, 1)")
        try expectUsageError(["paper", "--timing-threads", "0"], "--timing-threads must be between 1 and 4096")
    }

    @Test func runWritesVerifiedResultsAndRefusesToOverwrite() throws {
        let args = ["run", "--shape", "40x33", "--blocks", "1,4", "--sparsities", "0.5", "--n", "1,5", "--threads", "1,2",
                    "--repetitions", "2", "--min-time", "0", "--output", "out/r.json"]
        let r = try run(args)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("speedup over dense"))
        for ext in ["json", "md", "csv", "html"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/out/r." + ext), "\(ext)")
        }
        let report = try BenchmarkReport.load(path: dir + "/out/r.json")
        let medians = report.aggregates("median")
        #expect(medians.count == (2 + 3) * 2 * 2)
        #expect(medians.allSatisfy { $0.verified && $0.real_time > 0 })
        #expect(report.context.peak != nil)
        // The quiet check is on by default: every case timed in a comparison set says how many
        // rounds it dropped (threaded dense, timed on its own, has no check).
        #expect(medians.allSatisfy { ($0.retimed_rounds != nil) == !($0.format == "dense" && $0.threads > 1) })
        let again = try run(args)
        #expect(again.code == 2 && again.err.contains("--force"), "\(again.err)")
        #expect(try run(args + ["--force", "--no-quiet-check"]).code == 0)
        #expect(try BenchmarkReport.load(path: dir + "/out/r.json").aggregates("median").allSatisfy { $0.retimed_rounds == nil })
        // A custom sweep searches no break-even unless asked; asked, it writes the section and the summary's table.
        #expect(report.break_even == nil && !r.out.contains("measured to +-2 points"))
        let searched = try run(["run", "--shape", "40x33", "--blocks", "4", "--sparsities", "0.5,0.9", "--n", "1",
                                "--threads", "1", "--repetitions", "2", "--min-time", "0", "--break-even",
                                "--output", "be/r.json"])
        #expect(searched.code == 0, "\(searched.err)")
        #expect(searched.out.contains("measured to +-2 points") && searched.err.contains("1 break-even searches"), "\(searched.out)")
        let section = try #require(try BenchmarkReport.load(path: dir + "/be/r.json").break_even)
        #expect(section.count == 1 && section[0].dense_kernel == "dense_f32_gemv__openblas")
        try expectUsageError(["run", "--matrix", "x.mtx", "--break-even"], "--break-even searches generated matrices")
        try expectUsageError(["run", "--shape", "8x8", "--formats", "bsr,csr", "--break-even"], "add dense to --formats")
    }

    @Test func listsAreDedupedAndOutputsCheckedBeforeMeasuring() throws {
        let small = ["run", "--shape", "24x24", "--n", "3", "--threads", "1", "--repetitions", "1", "--min-time", "0"]
        // Repeated values (also 0.5 and 0.50) run once each.
        let dup = try run(small + ["--blocks", "4,4", "--sparsities", "0.5,0.50", "--formats", "bsr,bsr,csr",
                                   "--output", "dup/r.json"])
        #expect(dup.code == 0, "\(dup.err)")
        let names = try BenchmarkReport.load(path: dir + "/dup/r.json").aggregates("median").map(\.run_name)
        #expect(names.sorted() == ["bsr/24x24/b4x4/s50/n3/threads:1", "csr/24x24/b4x4/s50/n3/threads:1"], "\(names)")
        #expect(dup.out.contains("(+ .md, .csv, .html)"))
        // Empty items and empty lists name their option.
        try expectUsageError(small + ["--blocks", "4,,8"], "--blocks: empty item in '4,,8'")
        try expectUsageError(small + ["--sparsities", "0.5,"], "--sparsities: empty item")
        try expectUsageError(small + ["--formats", ""], "--formats needs a value")
        try expectUsageError(small + ["--blocks", "8192"], "sides 1...4096")
        // Sparsities that would share a case name.
        try expectUsageError(small + ["--sparsities", "0.9999991,0.9999994"], "would both name cases s99.9999")
        // No case without a filter: say why.
        try expectUsageError(small + ["--blocks", "1", "--formats", "bsr"], "block size 1 is unstructured")
        // An unwritable destination is refused before the machine is measured.
        try "x".write(toFile: dir + "/afile", atomically: true, encoding: .utf8)
        let blocked = try run(small + ["--blocks", "4", "--output", "afile/r.json"])
        #expect(blocked.code == 2 && blocked.err.contains("cannot create folder afile"), "\(blocked.err)")
        #expect(!blocked.err.contains("measuring"), "\(blocked.err)")
        try expectUsageError(small + ["--output", "out/.json"], "needs a file name before .json")
        // So is a bad KERNELBENCH_ISA.
        let isa = try run(small + ["--output", "isa/r.json"], env: ["KERNELBENCH_ISA": "bogus"])
        #expect(isa.code == 2 && isa.err.contains("KERNELBENCH_ISA=bogus") && !isa.err.contains("measuring"), "\(isa.err)")
        // list still shows the machine (the diagnosis), then fails the same way.
        let listed = try run(["list"], env: ["KERNELBENCH_ISA": "bogus"])
        #expect(listed.code == 2 && listed.out.contains("Dispatch:   invalid KERNELBENCH_ISA") && listed.err.contains("KERNELBENCH_ISA=bogus"),
                "\(listed.out)\(listed.err)")
        // A matrix file with nothing to multiply.
        try "%%MatrixMarket matrix coordinate real general\n0 0 0\n".write(toFile: dir + "/empty.mtx", atomically: true, encoding: .utf8)
        try expectUsageError(["run", "--matrix", "empty.mtx"], "nothing to multiply")
        // Two files with one name: the second is renamed, both run.
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        let mtx = "%%MatrixMarket matrix coordinate real general\n8 8 2\n1 1 1.0\n5 6 2.0\n"
        try mtx.write(toFile: dir + "/m.mtx", atomically: true, encoding: .utf8)
        try mtx.write(toFile: dir + "/sub/m.mtx", atomically: true, encoding: .utf8)
        let twice = try run(["run", "--matrix", "m.mtx", "sub/m.mtx", "--blocks", "4", "--n", "3", "--threads", "1",
                             "--formats", "bsr", "--repetitions", "1", "--min-time", "0", "--output", "twice/r.json"])
        #expect(twice.code == 0 && twice.err.contains("is named m-2"), "\(twice.err)")
        let matrices = Set(try BenchmarkReport.load(path: dir + "/twice/r.json").aggregates("median").map(\.matrix))
        #expect(matrices == ["m", "m-2"], "\(matrices)")
    }

    @Test func summaryWithoutBSRShowsCSRRows() throws {
        let r = try run(["run", "--shape", "48x48", "--blocks", "1,4", "--sparsities", "0.5", "--n", "3", "--threads", "1",
                         "--formats", "csr,dense", "--repetitions", "1", "--min-time", "0", "--output", "nobsr/r.json"])
        #expect(r.code == 0, "\(r.err)")
        let rows = r.out.split(separator: "\n").filter { $0.hasPrefix("  1x1") || $0.hasPrefix("  csr 4x4") || $0.hasPrefix("  4x4") }
        #expect(rows.count == 2 && rows.allSatisfy { $0.contains("x (") }, "\(r.out)")  // a speedup in every row, none blank
        #expect(r.out.contains("interpolated between the measured sparsities"))
    }

    @Test func paperChecksItsDestinationsBeforeTraining() throws {
        try "x".write(toFile: dir + "/plain", atomically: true, encoding: .utf8)
        // The data folder is missing too: the destination is refused first, so nothing was read or trained.
        try expectUsageError(["paper", "--quick", "--data", "no-such-dir", "--output", "plain/sub"], "cannot create folder plain")
        try expectUsageError(["paper", "--quick", "--data", "no-such-dir", "--output", "p-out", "--export", "plain"],
                             "cannot create folder plain")
        try FileManager.default.createDirectory(atPath: dir + "/exp", withIntermediateDirectories: true)
        try "old".write(toFile: dir + "/exp/lenet300100_b4_fc2.mtx", atomically: true, encoding: .utf8)
        try expectUsageError(["paper", "--quick", "--blocks", "4", "--data", "no-such-dir", "--output", "p-out",
                              "--export", "exp"], "lenet300100_b4_fc2.mtx: already exists; pass --force")
        #expect(try String(contentsOfFile: dir + "/exp/lenet300100_b4_fc2.mtx", encoding: .utf8) == "old")
        // IDX pixels become floats (4x their bytes): a budget that holds the bytes but not the floats refuses.
        try FileManager.default.createDirectory(atPath: dir + "/idx", withIntermediateDirectories: true)
        func bigEndian(_ values: [UInt32]) -> Data { Data(values.flatMap { v in (0..<4).reversed().map { UInt8((v >> (8 * $0)) & 0xff) } }) }
        try (bigEndian([0x0803, 6000, 28, 28]) + Data(count: 6000 * 784)).write(to: URL(fileURLWithPath: dir + "/idx/train-images-idx3-ubyte"))
        try (bigEndian([0x0801, 6000]) + Data(count: 6000)).write(to: URL(fileURLWithPath: dir + "/idx/train-labels-idx1-ubyte"))
        try expectUsageError(["paper", "--quick", "--data", "idx", "--output", "p-idx"], "images of idx/train-images-idx3-ubyte as floats",
                             env: ["KERNELBENCH_MEMORY_LIMIT": "10M"])
        // --render only reads results.json: a study option would be ignored, so it is refused.
        try expectUsageError(["paper", "--render", "--output", "p-out", "--quick", "--epochs", "2"],
                             "it takes no study options (got --quick, --epochs)")
    }

    @Test func moreThreadsThanCPUsWarns() throws {
        let cpus = Topology.detect().cpuCount
        let args = ["run", "--shape", "24x24", "--blocks", "4", "--sparsities", "0.5", "--n", "3", "--formats", "bsr",
                    "--repetitions", "1", "--min-time", "0", "--output", "over/r.json", "--threads"]
        let over = try run(args + ["1,\(cpus + 1)"])
        #expect(over.code == 0, "\(over.err)")
        #expect(over.err.contains("warning: --threads \(cpus + 1) is more than the \(cpus) CPU(s)"), "\(over.err)")
        let fits = try run(args + ["1,all", "--force"])
        #expect(fits.code == 0 && !fits.err.contains("is more than the"), "\(fits.err)")
        // paper warns before it reads the data (missing here, so it then stops with an error).
        let paper = try run(["paper", "--timing-threads", "\(cpus + 1)", "--data", "no-such-dir", "--output", "paper-out"])
        #expect(paper.code != 0 && !paper.err.contains("Fatal error"), "\(paper.err)")
        #expect(paper.err.contains("warning: --timing-threads \(cpus + 1) is more than the \(cpus) CPU(s)"), "\(paper.err)")
    }

    @Test(arguments: [["--threads", "1"], ["--threads", "1,2", "--runtime", "team,dispatch", "--shape", "256x256"]])
    func interruptSavesEveryCompletedCase(_ extra: [String]) throws {
        let path = try #require(CLIRunner.binary)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        // Many short cases: the interrupt lands in the middle of the sweep (with
        // two threads, also while a worker team serves a case's timed calls).
        p.arguments = ["run", "--shape", "96x96", "--blocks", "1,2,4,8", "--sparsities", "0.5,0.7,0.9", "--n", "1,8,64",
                       "--repetitions", "30", "--min-time", "0.02", "--output", "int\(extra.count)/r.json"] + extra
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Interrupt once the first cases are done (the run reports progress on stderr).
        let deadline = Date().addingTimeInterval(60)
        var seen = Data()
        while Date() < deadline {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
            if String(decoding: seen, as: UTF8.self).contains("[3/") { break }
        }
        kill(p.processIdentifier, SIGINT)
        let rest = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: seen + rest, as: UTF8.self)
        #expect(p.terminationStatus == 130, "\(text)")
        #expect(text.contains("every completed case is saved in int\(extra.count)/r.json"), "\(text)")
        let report = try BenchmarkReport.load(path: dir + "/int\(extra.count)/r.json")
        let medians = report.aggregates("median")
        #expect(medians.count >= 2 && medians.allSatisfy { $0.verified })
        #expect(!text.contains("Fatal error"))
    }

    @Test func writersKeepExistingFilesUnlessForced() throws {
        let list = try run(["instructions", "--list"])
        let gateCase = try #require(list.out.split(separator: "\n").first?.split(separator: "\t").first, "\(list.err)")
        try "\(gateCase) 12345\n".write(toFile: dir + "/counts.txt", atomically: true, encoding: .utf8)
        try "baseline".write(toFile: dir + "/base.json", atomically: true, encoding: .utf8)
        try expectUsageError(["instructions", "--counts", "counts.txt", "--output", "base.json"], "--force")
        #expect(try String(contentsOfFile: dir + "/base.json", encoding: .utf8) == "baseline")
        let forced = try run(["instructions", "--counts", "counts.txt", "--output", "base.json", "--force"])
        #expect(forced.code == 0, "\(forced.err)")
        #expect(try BenchmarkReport.load(path: dir + "/base.json").benchmarks.count == 1)
    }

    @Test func sizeFieldsAndMemoryLimitAreCheckedBeforeAllocating() throws {
        // A 60-byte file claiming a 2e9 x 2e9 matrix: refused by the memory check, not allocated.
        try "%%MatrixMarket matrix coordinate real general\n2000000000 2000000000 0\n"
            .write(toFile: dir + "/huge.mtx", atomically: true, encoding: .utf8)
        try expectUsageError(["run", "--matrix", "huge.mtx", "--blocks", "8", "--n", "1"], "available",
                             env: ["KERNELBENCH_MEMORY_LIMIT": "1G"])
        let small = ["run", "--shape", "64x64", "--blocks", "4", "--sparsities", "0.5", "--n", "1", "--repetitions", "1"]
        try expectUsageError(small, "memory", env: ["KERNELBENCH_MEMORY_LIMIT": "4K"])
        try expectUsageError(small, "KERNELBENCH_MEMORY_LIMIT: 'lots' is not a size", env: ["KERNELBENCH_MEMORY_LIMIT": "lots"])
    }

    @Test func listExportAndRealWeights() throws {
        let list = try run(["list"])
        #expect(list.code == 0 && list.out.contains("bsr_f32_spmm_generic__scalar") && list.out.contains("Dispatch"))
        let forced = try run(["list"], env: ["KERNELBENCH_ISA": "scalar"])
        #expect(forced.out.contains("forced by KERNELBENCH_ISA=scalar"))
        #if arch(x86_64)
        #expect(list.out.contains("bsr_f32_spmm_b8x8_n64__avx512"))
        let avx512 = try run(["list"], env: ["KERNELBENCH_ISA": "avx512"])
        if ISA.avx512.isSupported {
            #expect(avx512.code == 0 && avx512.out.contains("Dispatch:   avx512 (forced by KERNELBENCH_ISA=avx512)"))
            #expect(list.out.contains("Dispatch:   avx512"))
        } else {
            #expect(avx512.code == 2 && avx512.err.contains("KERNELBENCH_ISA=avx512 is not an ISA this CPU runs"),
                    "\(avx512.err)")
        }
        #endif

        let export = try run(["export", "--shape", "30x20", "--block", "4", "--sparsity", "0.5", "--seed", "9", "--output", "a.mtx"])
        #expect(export.code == 0, "\(export.err)")
        let csr = try MatrixMarket.readCSR(path: dir + "/a.mtx")
        let expected = try BSRMatrix.random(GeneratorSpec(rows: 30, cols: 20, block: shape(4, 4), sparsity: 0.5, seed: 9))
        #expect(csr == CSRMatrix(bsr: expected))
        #expect(try run(["export", "--output", "a.mtx"]).code == 2)

        let weights = try DenseMatrix.random(rows: 24, cols: 20, seed: 3)
        try SafeTensors.write([("fc.weight", weights)], to: dir + "/w.safetensors")
        let real = try run(["run", "--safetensors", "w.safetensors", "--tensor", "fc.weight", "--prune-to", "0.5",
                            "--blocks", "3,4", "--n", "3", "--threads", "1", "--repetitions", "1", "--min-time", "0",
                            "--output", "w.json"])
        #expect(real.code == 0, "\(real.err)")
        let report = try BenchmarkReport.load(path: dir + "/w.json")
        let bsr = try #require(report.aggregates().first { $0.format == "bsr" })
        #expect(bsr.matrix == "fc.weight-pruned50" && abs(bsr.achieved_sparsity - 0.5) < 0.05)
        // Rows are grouped by the input and its pruning target, each with its achieved sparsity beside it
        // (3x3 blocks do not tile 24x20: 3x3 pruning reaches another sparsity than 4x4).
        #expect(report.aggregates().allSatisfy { $0.sparsity == 0.5 && $0.run_name.contains("/real/") })
        let header = try #require(real.out.split(separator: "\n").first { $0.hasPrefix("  block") })
        #expect(header.contains("50%") && header.contains("achieved") && header.filter { $0 == "%" }.count == 1, "\(real.out)")
        let rows = real.out.split(separator: "\n").filter { $0.hasPrefix("  3x3") || $0.hasPrefix("  4x4") }
        #expect(rows.count == 2 && rows.allSatisfy { $0.contains("x (") && $0.hasSuffix("%") }, "\(real.out)")
        #expect(ReportRenderer.markdown(report).contains("50% (achieved "))
        #expect(!real.err.contains("warning: block sparsity"), "\(real.err)")
        // Pruning keeps at least one block: a target it cannot reach is announced.
        let all = try run(["run", "--safetensors", "w.safetensors", "--tensor", "fc.weight", "--prune-to", "1",
                           "--blocks", "4", "--n", "3", "--threads", "1", "--formats", "bsr", "--repetitions", "1",
                           "--min-time", "0", "--output", "w1.json"])
        #expect(all.code == 0 && all.err.contains("block sparsity achieved 96.7%, target 100.0%: pruning keeps at least one "
                                                  + "of the 30 blocks of 4x4 in tensor 'fc.weight' (24x20)"), "\(all.err)")
        try expectUsageError(["run", "--safetensors", "w.safetensors", "--tensor", "nope"], "no tensor named 'nope'")
    }
}
