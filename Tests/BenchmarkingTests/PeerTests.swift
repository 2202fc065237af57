import Foundation
import Testing
@testable import BlockSparse
@testable import Benchmarking
import TestSupport

/// Whether Intel MKL can be loaded here (KERNELBENCH_MKL or the loader's
/// search). In CI (the CI variable set) the tests that need it run either
/// way and fail without it; elsewhere they are skipped, and said so loudly.
enum MKLAvailability {
    static let loadError: String? = {
        do {
            try Peer.mkl.load()
            return nil
        } catch {
            return "\(error)"
        }
    }()
    static var found: Bool { loadError == nil }
    static var inCI: Bool {
        let ci = ProcessInfo.processInfo.environment["CI"] ?? ""
        return !ci.isEmpty && ci != "0" && ci.lowercased() != "false"
    }
    /// Tests that need MKL run when it is found, and in CI (where they fail without it).
    static var runs: Bool {
        if !found && !inCI {
            FileHandle.standardError.write(Data((
                "PeerTests: SKIPPING the tests that need Intel MKL (\(loadError ?? "")). To run them: "
                + "`make peers`, then export the KERNELBENCH_MKL=... it prints (or `make test-peers`).\n").utf8))
        }
        return found || inCI
    }
    static let skipMessage: Comment = "needs Intel MKL: run `make peers` and export the KERNELBENCH_MKL=... it prints"

    /// Fails the test (in CI) when MKL is missing.
    static func require() throws {
        try #require(found, "Intel MKL is required in CI and was not found: \(loadError ?? "")")
    }
}

@Suite(.serialized) struct PeerTests {
    let cli = CLIRunner(prefix: "kb-peers")

    /// The environment of a run that finds MKL as this test process found it.
    var mklEnvironment: [String: String] {
        ProcessInfo.processInfo.environment["KERNELBENCH_MKL"].map { ["KERNELBENCH_MKL": $0] } ?? [:]
    }

    // MARK: Without MKL

    @Test func unknownPeerIsAUsageError() throws {
        let r = try cli.run(["run", "--peers", "mkl,openblas", "--shape", "64x64"])
        #expect(r.code == 2, "\(r.err)")
        #expect(r.err.contains("--peers: 'openblas' is not a known peer (known: mkl)"), "\(r.err)")
        let empty = try cli.run(["run", "--peers", "", "--shape", "64x64"])
        #expect(empty.code == 2 && empty.err.contains("--peers needs a value"), "\(empty.err)")
    }

    /// A bad KERNELBENCH_MKL (missing, a directory, not MKL, too old) is one
    /// line naming the value and why, exit 2, before anything is measured;
    /// never a crash, never a silent skip.
    @Test func badLibraryValuesAreOneLine() throws {
        let args = ["run", "--shape", "64x64", "--blocks", "4", "--sparsities", "0.5", "--n", "8", "--threads", "1",
                    "--peers", "mkl", "--output", "bad.json"]
        // A library that exists but is not MKL: the C library this test process has loaded.
        // (/proc files report size 0: read to the end, not by size)
        let maps = FileHandle(forReadingAtPath: "/proc/self/maps").flatMap { try? $0.readToEnd() }
            .map { String(decoding: $0, as: UTF8.self) } ?? ""
        let libc = maps.split(separator: "\n").compactMap { line -> String? in
            guard let slash = line.firstIndex(of: "/") else { return nil }
            let path = String(line[slash...])
            return path.contains("/libc.so") ? path : nil
        }.first
        var cases: [(String, String)] = [
            (cli.dir + "/missing/libmkl_rt.so.3", "no such file"),
            (cli.dir, "is a directory, not the libmkl_rt library file"),
        ]
        if let libc { cases.append((libc, "not Intel MKL's libmkl_rt (it has no mkl_sparse_s_mm)")) }
        #expect(libc != nil, "no libc.so in /proc/self/maps: the non-MKL library case was not tested")
        // Too old: a library with MKL's entry points reporting MKL 2018, and one lacking a routine.
        if let cc = ["/usr/bin/cc", "/usr/bin/gcc"].first(where: FileManager.default.isExecutableFile(atPath:)) {
            for (name, version, extra) in [("old2018", "2018.0.3", true), ("nohint", "2026.2.0", false)] {
                var source = "#include <string.h>\nint mkl_sparse_s_mm(void) { return 0; }\n"
                    + "void MKL_Get_Version_String(char *b, int n) { strncpy(b, \"Intel(R) Math Kernel Library Version \(version) for tests\", n); }\n"
                for f in ["mkl_sparse_s_create_bsr", "mkl_sparse_s_create_csr", "mkl_sparse_s_mv", "mkl_sparse_set_mv_hint",
                          "mkl_sparse_optimize", "mkl_sparse_destroy", "cblas_sgemm", "cblas_sgemv",
                          "MKL_Set_Num_Threads_Local", "MKL_Get_Max_Threads", "MKL_Set_Dynamic", "MKL_Set_Interface_Layer",
                          "MKL_Set_Threading_Layer"] + (extra ? ["mkl_sparse_set_mm_hint"] : []) {
                    source += "int \(f)(void) { return 0; }\n"
                }
                try source.write(toFile: cli.dir + "/\(name).c", atomically: true, encoding: .utf8)
                let build = try cli.run(["-c", "\(cc) -shared -fPIC -o \(name).so \(name).c"], shell: true)
                #expect(build.code == 0, "\(build.err)")
                cases.append((cli.dir + "/\(name).so", extra
                    ? "Intel MKL too old: Intel(R) Math Kernel Library Version 2018.0.3 for tests (KernelBench needs MKL 2019 or later)"
                    : "Intel MKL too old: it has no mkl_sparse_set_mm_hint (KernelBench needs MKL 2019 or later)"))
            }
        }
        for (value, why) in cases {
            let r = try cli.run(args, env: ["KERNELBENCH_MKL": value])
            let lines = r.err.split(separator: "\n").filter { !$0.contains("warning: debug build") }
            #expect(r.code == 2, "\(value): exit \(r.code): \(r.err)")
            #expect(lines.count == 1, "\(value): not one line: \(r.err)")
            let line = String(lines.first ?? "")
            #expect(line.hasPrefix("kernelbench: --peers mkl: cannot use Intel MKL from KERNELBENCH_MKL=\(value): \(why)"),
                    "\(line)")
            #expect(line.contains("`make peers`"), "\(line)")
            #expect(!FileManager.default.fileExists(atPath: cli.dir + "/bad.json"), "a result file was written")
        }
    }

    @Test func peerFormatsArePlannedOnlyWhereTheyApply() throws {
        let config = SuiteConfig(sources: [.generated(label: "96x96", rows: 96, cols: 96, distribution: .uniform)],
                                 blocks: [try BlockShape(square: 1), try BlockShape(square: 4), try BlockShape(rows: 4, cols: 1),
                                          try BlockShape(square: 64)],
                                 sparsities: [0.5], ns: [8], threads: [1, 2],
                                 formats: CaseFormat.builtIn + [.mklBSR, .mklCSR, .mklDense],
                                 strategies: [.balanced, .equalRows])
        let names = Set(try SuiteRunner(config: config, context: MachineContext.current(), peak: nil).plan().map(\.name))
        // MKL's BSR: square blocks dividing both sides only (not 1x1, 4x1, nor 64 on 96).
        #expect(Set(names.filter { $0.hasPrefix("mkl-bsr/") }) == Set(["mkl-bsr/96x96/b4x4/s50/n8/threads:1",
                                                                       "mkl-bsr/96x96/b4x4/s50/n8/threads:2"]))
        // Every matrix has MKL's CSR and dense; no partition strategy variants for a library.
        #expect(names.filter { $0.hasPrefix("mkl-csr/") }.count == 8 && names.filter { $0.hasPrefix("mkl-dense/") }.count == 8)
        #expect(!names.contains { $0.hasPrefix("mkl-") && $0.hasSuffix("/equal-rows") })
        #expect(names.contains("csr/96x96/b4x4/s50/n8/threads:2/equal-rows"))
    }

    // MARK: With MKL

    /// Every MKL format on real MKL through the CLI: verified against the
    /// reference, named, on the thread count asked, compared in the reports.
    @Test(.enabled(if: MKLAvailability.runs, MKLAvailability.skipMessage))
    func mklCasesRunVerifiedAndCompared() throws {
        try MKLAvailability.require()
        let r = try cli.run(["run", "--shape", "64x64", "--blocks", "8", "--sparsities", "0.5", "--n", "1,8",
                             "--threads", "1,2", "--peers", "mkl", "--repetitions", "2", "--min-time", "0",
                             "--no-quiet-check", "--output", "mkl.json"], env: mklEnvironment)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("kernelbench: peer Intel MKL: Intel(R)"), "\(r.err)")
        let medians = try BenchmarkReport.load(path: cli.dir + "/mkl.json").aggregates("median")
        var expected = Set<String>()
        for f in ["bsr", "csr", "dense", "mkl-bsr", "mkl-csr", "mkl-dense"] {
            for n in [1, 8] { for t in [1, 2] { expected.insert("\(f)/64x64/b8x8/s50/n\(n)/threads:\(t)") } }
        }
        #expect(Set(medians.map(\.run_name)) == expected)
        let mkl = medians.filter { $0.format.hasPrefix("mkl-") }
        #expect(mkl.count == 12)
        for e in mkl {
            #expect(e.verified && e.error_occurred != true && e.real_time > 0, "\(e.run_name): \(e.error_message ?? "")")
            #expect(e.partition == "mkl \(e.threads) thread\(e.threads == 1 ? "" : "s")", "\(e.partition)")
            #expect(e.peer_library?.contains("Math Kernel Library") == true)
            let routine = e.n == 1 ? "mv" : "mm"
            switch e.format {
            case "mkl-bsr": #expect(e.kernel == "mkl_sparse_s_\(routine)__bsr" && e.peer_setup_seconds != nil)
            case "mkl-csr": #expect(e.kernel == "mkl_sparse_s_\(routine)__csr" && e.peer_setup_seconds != nil)
            default: #expect(e.kernel == (e.n == 1 ? "cblas_sgemv__mkl" : "cblas_sgemm__mkl"))
            }
            if e.format != "mkl-dense" { #expect(e.peer_optimize?.contains("mkl_sparse_optimize: success") == true, "\(e.peer_optimize ?? "")") }
        }
        // KernelBench's cases are compared with MKL's same format, same threads.
        for e in medians where !e.format.hasPrefix("mkl-") {
            let peer = try #require(medians.first { $0.run_name == "mkl-" + e.run_name })
            let ratio = try #require(e.speedup_vs_mkl, "\(e.run_name)")
            #expect(abs(ratio - peer.real_time / e.real_time) < 1e-9 * ratio)
        }
        let md = try String(contentsOfFile: cli.dir + "/mkl.md", encoding: .utf8)
        #expect(md.contains("## Against Intel MKL") && md.contains("| BSR 8x8 vs mkl-bsr |") && md.contains(" vs MKL |"))
        let html = try String(contentsOfFile: cli.dir + "/mkl.html", encoding: .utf8)
        #expect(html.contains("chart-mkl") && html.contains("<th class=\"num\">vs MKL</th>"))
        #expect(r.out.contains("Against Intel MKL") && r.out.contains("bsr/64x64/b8x8/s50/n8/threads:2"))
    }

    /// MKL's thread count follows each case's: read back from MKL, and a
    /// library that cannot honour it (the sequential layer) refuses the run.
    @Test(.enabled(if: MKLAvailability.runs, MKLAvailability.skipMessage))
    func mklThreadSettingIsHonoured() throws {
        try MKLAvailability.require()
        #expect(Peer.mkl.setThreads(2) == 2)
        #expect(Peer.mkl.setThreads(1) == 1)
        // A product on 2 threads, then on 1, each verified against a scalar product.
        let bsr = randomBSR(64, 64, 4, 4, sparsity: 0.5)
        let b = try DenseMatrix.random(rows: 64, cols: 8, seed: 3)
        let reference = try Reference(bsr, b)
        for format in [CaseFormat.mklBSR, .mklCSR, .mklDense] {
            let operand = try MKLOperand(format, bsr: bsr, csr: CSRMatrix(bsr: bsr), dense: DenseMatrix(bsr: bsr), n: 8)
            for threads in [2, 1] {
                var c = try DenseMatrix(zeros: 64, 8)
                c.values = [Float](repeating: .nan, count: c.values.count)
                operand.multiply(b, into: &c, threads: threads)
                let v = c.values.withUnsafeBufferPointer { reference.verify($0, ld: 8) }
                #expect(v.passed, "\(format) on \(threads) threads: \(v)")
            }
        }
        let r = try cli.run(["run", "--shape", "64x64", "--blocks", "4", "--sparsities", "0.5", "--n", "8",
                             "--threads", "1,2", "--peers", "mkl", "--output", "seq.json"],
                            env: mklEnvironment.merging(["MKL_THREADING_LAYER": "SEQUENTIAL"]) { $1 })
        #expect(r.code == 2, "\(r.err)")
        #expect(r.err.contains("--peers mkl: Intel MKL runs 1 thread(s) where --threads asks 2 (MKL_THREADING_LAYER=SEQUENTIAL is set)"),
                "\(r.err)")
    }
}
