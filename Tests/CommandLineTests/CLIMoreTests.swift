import Foundation
import Testing
@testable import BlockSparse
@testable import Benchmarking
import TestSupport

/// More end-to-end checks of the built `kernelbench` executable: options that
/// must not be dropped silently, exit codes, and messages a user can act on.
@Suite(.serialized) struct CLIMoreTests {
    typealias Result = CLIRunner.Result
    let cli = CLIRunner(prefix: "kb-cli-more")
    var dir: String { cli.dir }

    /// With `shell`, runs /bin/sh with `args` instead (to set a ulimit first).
    func run(_ args: [String], env: [String: String] = [:], shell: Bool = false) throws -> Result {
        try cli.run(args, env: env, shell: shell)
    }

    /// Exit `code`, `phrase` on stderr, and no crash.
    @discardableResult
    func expectFailure(_ args: [String], code: Int32 = 2, _ phrase: String, env: [String: String] = [:],
                       shell: Bool = false) throws -> Result {
        let r = try run(args, env: env, shell: shell)
        #expect(r.code == code, "\(args): exit \(r.code), stderr: \(r.err)")
        #expect(r.err.contains(phrase), "\(args): stderr was: \(r.err)")
        #expect(!r.err.contains("Fatal error") && !r.err.contains("Stack dump"), "\(args): \(r.err)")
        return r
    }

    // MARK: compare

    /// `compare` keeps 2 for "regression found": a command line it cannot
    /// parse exits 1, and its help says so.
    @Test func compareUsageErrorsExitOneAsTheHelpSays() throws {
        try expectFailure(["compare", "--bogus", "a.json", "b.json"], code: 1, "Unknown option")
        try expectFailure(["compare", "only-one.json"], code: 1, "Missing expected argument")
        let help = try run(["compare", "--help"])
        #expect(help.code == 0)
        let text = help.out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("is an error too: status 1, so that 2 always means a regression"), "\(help.out)")
        #expect(!text.contains("usual usage status 2"))
    }

    /// A NEW run whose cases failed must not pass the gate, with or without --report-only.
    @Test func compareFailsWhenNewCasesFailed() throws {
        let base = try ResultFixtures.kernelbenchReport([("instr/a", 1000), ("instr/b", 1000)], unit: "ns")
        var broken = try JSONDecoder().decode(BenchmarkReport.self, from: base)
        for i in broken.benchmarks.indices { broken.benchmarks[i].verified = false }
        try base.write(to: URL(fileURLWithPath: dir + "/base.json"))
        try broken.jsonData().write(to: URL(fileURLWithPath: dir + "/new.json"))
        for extra in [[], ["--report-only"]] {
            let r = try expectFailure(["compare", "base.json", "new.json"] + extra, code: 1,
                                      "compare: 2 cases measured in base.json failed in new.json")
            #expect(r.out.contains("**FAILED: 2 cases measured") && r.out.contains("result not verified"), "\(r.out)")
        }
        #expect(try run(["compare", "base.json", "base.json"]).code == 0)
    }

    // MARK: instructions

    /// Counts are positive whole numbers, one line per case: anything else
    /// names its line instead of being compared later.
    @Test func instructionCountsMustBePositiveWholeAndUnique() throws {
        let list = try run(["instructions", "--list"])
        let names = list.out.split(separator: "\n").compactMap { $0.split(separator: "\t").first.map(String.init) }
        #expect(names.count >= 2, "\(list.err)")
        let (a, b) = (names[0], names[1])
        func counts(_ text: String) throws -> [String] {
            try text.write(toFile: dir + "/counts.txt", atomically: true, encoding: .utf8)
            return ["instructions", "--counts", "counts.txt"]
        }
        for bad in ["0", "-5", "1.5e6", "12.0", "inf", "nan", "1e3"] {
            try expectFailure(counts("\(a) 1000\n\(b) \(bad)\n"),
                              "counts.txt:2: count '\(bad)' is not a positive whole number of instructions")
        }
        try expectFailure(counts("\(a) 1000\n\(b) 2000\n\n\(a) 1100\n"),
                          "counts.txt:4: a second count for \"\(a)\" (the first is on line 1)")
        let good = try run(counts("\(a) 1100\n\(b) 2200\n"))
        #expect(good.code == 0, "\(good.err)")
        let report = try JSONDecoder().decode(BenchmarkReport.self, from: Data(good.out.utf8))
        #expect(report.benchmarks.map(\.real_time) == [100, 200])  // per call: total / (10 + 1)
    }

    // MARK: export

    /// The export estimate counts what the generator and the conversion hold,
    /// not just the non-zeros: one heap array per non-empty block row, the
    /// sampler's table, the BSR and the CSR forms.
    @Test func exportMemoryEstimateCountsAllStorage() throws {
        let tall = GeneratorSpec(rows: Int(Int32.max), cols: 1, block: shape(1, 1), sparsity: 0.5)
        // 2^30 one-element arrays (48 bytes each) on top of the 8-byte row slots.
        #expect(tall.exportPeakBytes >= 48 * (1 << 30) + 8 * Int(Int32.max))
        let empty = GeneratorSpec(rows: Int(Int32.max), cols: Int(Int32.max), block: shape(1, 1), sparsity: 1)
        #expect(empty.exportPeakBytes >= 12 * Int(Int32.max))  // 8-byte row slots and 4-byte BSR row pointers, nothing stored
        let usual = GeneratorSpec(rows: 4096, cols: 4096, block: shape(8, 8), sparsity: 0.9)
        let values = usual.maxNonzeros * 4
        #expect(usual.exportPeakBytes > 2 * values && usual.exportPeakBytes < 20 * values)
    }

    /// Refused with exit 2 and a clear message, never killed or trapped.
    @Test func exportRefusesWhatDoesNotFit() throws {
        let args = ["export", "--shape", "1000000x1", "--block", "1", "--sparsity", "0.5", "--output", "tall.mtx"]
        // The non-zeros alone (12 bytes each, 6 MB) fit in 40M; the generator's row arrays do not.
        try expectFailure(args, "memory is available", env: ["KERNELBENCH_MEMORY_LIMIT": "40M"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/tall.mtx"))
        let fits = try run(args, env: ["KERNELBENCH_MEMORY_LIMIT": "200M"])
        #expect(fits.code == 0, "\(fits.err)")
    }

    /// ulimit -v caps what the process can allocate whatever RAM is free: the
    /// check sees it. A sanitizer build reserves terabytes of shadow memory
    /// at start-up and cannot run under such a limit at all
    /// (scripts/sanitize.sh sets KERNELBENCH_SANITIZER).
    @Test(.disabled(if: ProcessInfo.processInfo.environment["KERNELBENCH_SANITIZER"] != nil,
                    "a sanitizer build cannot start under ulimit -v"))
    func exportRefusesWhatTheAddressSpaceLimitForbids() throws {
        let binary = try #require(CLIRunner.binary)
        try expectFailure(["-c", "ulimit -v 3000000 && exec \"$0\" \"$@\"", binary, "export", "--shape", "100000000x1",
                           "--block", "1", "--sparsity", "0.5", "--output", "huge.mtx"], "memory is available", shell: true)
    }

    /// Options that do not apply are refused, not dropped.
    @Test func exportRefusesOptionsItWouldIgnore() throws {
        try expectFailure(["export", "--prune-to", "0.5", "--output", "p.mtx"], "--prune-to prunes real weights: it needs --safetensors")
        let weights = try DenseMatrix.random(rows: 24, cols: 20, seed: 3)
        try SafeTensors.write([("fc.weight", weights)], to: dir + "/w.safetensors")
        let real = ["export", "--safetensors", "w.safetensors", "--tensor", "fc.weight", "--block", "4", "--output", "w.mtx"]
        for (option, value) in [("--shape", "8x8"), ("--sparsity", "0.3"), ("--distribution", "banded"), ("--seed", "7")] {
            try expectFailure(real + [option, value], "\(option) describes a generated matrix and cannot go with --safetensors")
        }
        try expectFailure(real + ["--shape", "8x8", "--seed", "7"], "--shape, --seed describe a generated matrix")
        #expect(!FileManager.default.fileExists(atPath: dir + "/w.mtx"))
        let pruned = try run(real + ["--prune-to", "0.5"])
        #expect(pruned.code == 0 && !pruned.err.contains("warning"), "\(pruned.err)")
        // 30 blocks of 4x4: 55% rounds to 17 blocks, 56.7%.
        let coarse = try run(real + ["--prune-to", "0.55", "--force"])
        #expect(coarse.code == 0, "\(coarse.err)")
        #expect(coarse.err.contains("warning: block sparsity achieved 56.7%, target 55.0%: too few blocks"), "\(coarse.err)")
    }

    /// A target the block grid cannot reach is written, with a warning that says why.
    @Test func exportWarnsWhenTheSparsityCannotBeReached() throws {
        let dense = try run(["export", "--shape", "16x16", "--block", "32", "--sparsity", "0.5", "--output", "d.mtx"])
        #expect(dense.code == 0, "\(dense.err)")
        #expect(dense.err.contains("warning: block sparsity achieved 0.0%, target 50.0%: too few blocks: "
            + "a 16x16 matrix has only 1 block of 32x32, so its block sparsity moves in steps of 100.0%"), "\(dense.err)")
        let exact = try run(["export", "--shape", "30x20", "--block", "4", "--sparsity", "0.5", "--output", "e.mtx"])
        #expect(exact.code == 0 && !exact.err.contains("warning"), "\(exact.err)")
    }

    // MARK: peak

    /// More threads than CPUs is allowed (up to 4096, as for `run`) but said.
    @Test func peakWarnsAboutMoreThreadsThanCPUs() throws {
        let cpus = Topology.detect().cpuCount
        let over = try run(["peak", "--threads", "\(cpus + 1)", "--json"])
        #expect(over.code == 0, "\(over.err)")
        #expect(over.err.contains("warning: --threads \(cpus + 1) is more than the \(cpus) CPU(s)"), "\(over.err)")
        let fits = try run(["peak", "--threads", "1", "--json"])
        #expect(fits.code == 0 && !fits.err.contains("is more than the"), "\(fits.err)")
        try expectFailure(["peak", "--threads", "4097"], "--threads must be between 1 and 4096")
    }

    /// `peak` prints the one-core FMA rate at each ISA this CPU runs, the best one first.
    @Test func peakShowsEveryISA() throws {
        let text = try run(["peak", "--threads", "1"])
        #expect(text.code == 0 && text.out.contains("at \(ISA.best.rawValue), the best ISA here"), "\(text.out)")
        for isa in ISA.allCases where isa.isSupported && isa != ISA.best {
            #expect(text.out.contains("1 core at \(isa.rawValue):"), "\(text.out)")
        }
    }

    // MARK: messages

    /// A directory, an empty path or an empty filter gets a message that says so.
    @Test func directoriesAndEmptyValuesAreNamed() throws {
        try FileManager.default.createDirectory(atPath: dir + "/folder", withIntermediateDirectories: true)
        try ResultFixtures.googleBenchmark([("a", ResultFixtures.scaled(1))]).write(to: URL(fileURLWithPath: dir + "/r.json"))
        try expectFailure(["compare", "folder", "r.json"], code: 1, "folder: is a directory, not a result file")
        try expectFailure(["compare", "r.json", "folder"], code: 1, "folder: is a directory, not a result file")
        try expectFailure(["report", "folder"], "folder: is a directory, not a kernelbench result file")
        try expectFailure(["export", "--safetensors", "folder", "--tensor", "t", "--output", "s.mtx"],
                          "folder: is a directory, not a .safetensors file")
        try expectFailure(["instructions", "--counts", "folder"], "folder: is a directory")
        // Files parsed whole are checked against memory first: 1 MiB of JSON or lines may take 32 MiB.
        try ("{\"benchmarks\": [" + String(repeating: "0,", count: 524_287) + "0]}").write(toFile: dir + "/wide.json", atomically: true, encoding: .utf8)
        try String(repeating: "\n", count: 1 << 20).write(toFile: dir + "/lines.txt", atomically: true, encoding: .utf8)
        let budget = ["KERNELBENCH_MEMORY_LIMIT": "16M"]
        try expectFailure(["compare", "wide.json", "wide.json"], code: 1, "wide.json: parsing this 1.0 MiB file needs 32.0 MiB", env: budget)
        try expectFailure(["report", "wide.json"], "wide.json: parsing this 1.0 MiB file needs 32.0 MiB", env: budget)
        try expectFailure(["instructions", "--counts", "lines.txt"], "lines.txt: parsing this 1.0 MiB file needs 32.0 MiB", env: budget)
        for r in [try run(["compare", "folder", "r.json"]), try run(["report", "folder"])] {
            #expect(!r.err.contains("NSCocoaErrorDomain"), "\(r.err)")
        }

        try expectFailure(["export", "--shape", "8x8", "--output", ""], "--output is empty: name the .mtx file to write")
        try expectFailure(["instructions", "--counts", "c.txt", "--output", ""], "--output is empty")
        try expectFailure(["compare", "r.json", "r.json", "--report", ""], code: 1, "--report: is empty")
        let filter = try expectFailure(["compare", "r.json", "r.json", "--filter", ""], code: 1,
                                       "--filter: is empty: give a regular expression")
        #expect(!filter.err.contains("not a valid regular expression"))
    }

    // MARK: paper

    /// --retrain-epochs 0 is meaningful (prune without retraining, as the study
    /// code handles it) and stays accepted; the help says what it does.
    @Test func paperRetrainEpochsZeroIsDocumented() throws {
        let help = try run(["paper", "--help"])
        let text = help.out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.code == 0 && text.contains("0 = one-shot pruning"), "\(help.out)")
        try expectFailure(["paper", "--retrain-epochs=-1"], "--retrain-epochs must be between 0 and 1000")
    }

    /// --retrain and --seeds: recipes and seeds are checked before any training.
    @Test func paperRecipesAndSeedsAreValidated() throws {
        let help = try run(["paper", "--help"])
        let text = help.out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.code == 0 && text.contains("--retrain <list>") && text.contains("--seeds <list>")
                    && text.contains("--rewind-epochs"), "\(help.out)")
        try expectFailure(["paper", "--retrain", "rewind,bogus"], "--retrain: 'bogus' is not a recipe")
        try expectFailure(["paper", "--retrain", "finetune,finetune"], "--retrain: finetune appears twice")
        try expectFailure(["paper", "--seeds", "1,x"], "--seeds: 'x' is not a seed")
        try expectFailure(["paper", "--seeds", "1,2", "--seed", "3"], "--seed and --seeds")
        try expectFailure(["paper", "--rewind-decay", "1.5"], "--rewind-decay must be in (0, 1]")
        try expectFailure(["paper", "--render", "--seeds", "1,2"], "it takes no study options (got --seeds)")
    }
}
