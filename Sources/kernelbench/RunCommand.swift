import ArgumentParser
import BlockSparse
import Dispatch
import Foundation

/// The named suites (``SuitePreset``, in the library so tests can plan them).
typealias Suite = SuitePreset
extension SuitePreset: ExpressibleByArgument {}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark suite: BSR vs CSR vs dense on the same matrices, every result verified first.",
        discussion: """
            With no options this runs the default suite: a 4096x4096 layer and LeNet-300-100's layers \
            (300x784, 100x300) x block sizes 1 (unstructured, CSR), 2, 4, 8, 16, 32 x sparsity 70/90% \
            x N 1 and 64 x threads 1 and all, then the break-even search (--break-even) for each of those \
            block sizes, N and thread counts; planned to take about 2 minutes on 2 cores (the plan is \
            printed at the start). Options replace one axis of the chosen suite. \
            Dense is what a user would call, OpenBLAS on the same threads: cblas_sgemv at N = 1 \
            (kernel dense_f32_gemv__openblas), cblas_sgemm otherwise (dense_f32_gemm__openblas).

            Each case is verified against the Swift reference (a mismatch fails the case and the exit code), \
            then warmed up and repeated until both --repetitions and --min-time are met. The cases that \
            compare (BSR, CSR, dense at every thread count, on one matrix and N) are timed together in interleaved \
            rounds, so a busy moment of the machine falls on all of them; a round during which the core \
            was shared with another workload (a failed quiet check, see --quiet-check) is timed again. \
            A threaded bsr or csr case runs on a worker team kept for its calls in a round (--runtime), \
            or on one thread when its one-thread time is under 10x the runtime's fork/join cost. \
            Results (JSON in Google \
            Benchmark's schema, plus Markdown, HTML and CSV) are rewritten atomically as cases finish, so an \
            interrupted run keeps every completed case.

            Examples:
              kernelbench run --suite quick
              kernelbench run --shape 2048x2048 --blocks 4,8,4x1 --sparsities 0.8,0.9 --n 64 --threads 1,2
              kernelbench run --matrix A.mtx --blocks 2,4,8 --n 64
              kernelbench run --safetensors model.safetensors --tensor fc1.weight --prune-to 0.9
              kernelbench run --filter 'b8x8/s90'
            """)

    @Option(help: "Suite whose axes are used unless overridden (\(Suite.allCases.map(\.rawValue).joined(separator: ", "))).")
    var suite: Suite = .default

    @Option(name: .customLong("shape"), parsing: .upToNextOption,
            help: "Generated matrix shapes MxK (rows x cols of A), e.g. 4096x4096 300x784.")
    var shapes: [String] = []

    @Option(help: "Block sizes: b for square b x b, or RxC (e.g. 1,2,4,8,16,32,4x1). 1 = unstructured (CSR/dense only).")
    var blocks: String?

    @Option(help: "Target block sparsities in [0, 1], comma-separated (e.g. 0.5,0.9).")
    var sparsities: String?

    @Option(help: "Block distribution of generated matrices: uniform, powerlaw or banded.")
    var distribution: BlockDistribution = .uniform

    @Option(help: "Columns N of B and C, comma-separated (e.g. 1,64).")
    var n: String?

    @Option(help: "Thread counts, comma-separated; 'all' = the CPUs this process may use (e.g. 1,all). More than that shares cores between threads (allowed, with a warning).")
    var threads: String?

    @Option(help: "Formats to run: bsr, csr, dense (comma-separated); mkl-bsr, mkl-csr, mkl-dense are the peer's (see --peers).")
    var formats: String = "bsr,csr,dense"

    @Option(help: "Vendor libraries to measure beside KernelBench, comma-separated: mkl (Intel MKL's libmkl_rt, loaded at run time from KERNELBENCH_MKL=/path/to/libmkl_rt.so.N or else the loader's search; `make peers` installs it). Each format of --formats gets its peer's case on the same matrices and threads, verified first and timed in the same rounds: mkl-bsr (mkl_sparse_s_mm, mkl_sparse_s_mv at N = 1; square blocks that divide A's sides), mkl-csr, mkl-dense (cblas_sgemm, cblas_sgemv at N = 1). A library that cannot be used is an error (exit 2), never a skip.")
    var peers: String?

    @Option(help: "Minimum timed repetitions per case (default: the suite's).")
    var repetitions: Int?

    @Option(name: .customLong("min-time"), help: "Minimum timed seconds per case (default: the suite's).")
    var minTime: Double?

    @Option(help: "Seed of the matrix generator (same seed, same matrices on every machine).")
    var seed: UInt64 = 42

    @Option(help: "Regular expression on case names (e.g. 'bsr/.*/b8x8/'); case names look like bsr/4096x4096/b8x8/s90/n64/threads:1.")
    var filter: String?

    @Option(parsing: .upToNextOption, help: "Matrix Market file(s) to use instead of generated matrices; converted to each block shape with fill-in reported.")
    var matrix: [String] = []

    @Option(help: "A .safetensors file with real weights (F32, F16 or BF16); use with --tensor.")
    var safetensors: String?

    @Option(help: "Tensor name inside --safetensors (a 2-D weight matrix).")
    var tensor: String?

    @Option(name: .customLong("prune-to"), help: "Block-prune the --safetensors weights by mean |w| to this block sparsity for each block size.")
    var pruneTo: Double?

    @Option(help: "Partitioning across threads: balanced (4 chunks of equal nonzero cost per thread, handed out as threads become free), equal-rows (one range of equal row count per thread), or both (balanced,equal-rows) to see the gain from balancing. Applies to threaded bsr and csr cases; their names end in /equal-rows, and each is compared with csr of its own strategy.")
    var strategy: String = "balanced"

    @Option(help: "Threading runtime of threaded bsr and csr cases: team (workers kept for each case's warm-up and timed calls in a round, about a microsecond per product), dispatch (one concurrentPerform per product, tens of microseconds here), or both (team,dispatch) to see what the runtime costs; names of dispatch cases end in /dispatch, and each is compared with csr of its own runtime.")
    var runtime: String = "team"

    @Option(name: .customLong("spin-window"), help: "Microseconds an idle team worker polls for the next product before it sleeps (0 to 100000).")
    var spinWindow: Double = WorkerTeam.defaultSpinWindow * 1e6

    @Option(name: .customLong("b-placement"), help: "NUMA placement of B: replicated or interleaved (default: replicated when it fits).")
    var bPlacement: BPlacement?

    @Option(help: "Result file (.json) or folder. Default: reports/runs/kernelbench-<date>-<time>.json")
    var output: String?

    @Flag(help: "Overwrite existing result files.")
    var force = false

    @Flag(inversion: .prefixedNo, help: "After the grid, find by measurement the block sparsity at which BSR (and CSR on the unstructured 1x1 matrix) takes as long as dense, to within ±2 points, for every generated matrix, block shape, N and thread count: dense timed once, the sparsity bisected over 0-99% (starting from a fit over the grid), every probed matrix verified first; 'never' / 'always' at the ends. On by default for the default suite with no axis options; off otherwise. Results: the break_even section of the JSON, and tables in the summary, Markdown and HTML.")
    var breakEven: Bool?

    @Flag(inversion: .prefixedNo, help: "Before and after every timed repetition of a comparison set, check with a 70 us load probe (a 128 KiB buffer in L2) that the core is not shared with another workload; a round with a check more than 5% below the probe's best is dropped and timed again, after waiting up to 3 s per set for the check to pass (at most max(3, --repetitions) rounds dropped per set, within --retime-budget for the run). On shared VMs such stretches slow every kernel by 20-45%. Results record retimed_rounds per case.")
    var quietCheck = true

    @Option(help: ArgumentHelp("Seconds the whole run may spend waiting for the quiet check and timing dropped rounds again; once spent, rounds are kept whatever the check says and counted as disturbed_rounds, so a run on a busy host ends near its plan and says what was measured disturbed. Default: a quarter of the planned time.", valueName: "seconds"))
    var retimeBudget: Double?

    func validate() throws {
        if let r = repetitions, r < 1 || r > 100_000 { throw ValidationError("--repetitions must be between 1 and 100000 (got \(r))") }
        if let t = minTime, !(t >= 0 && t <= 3600) { throw ValidationError("--min-time must be between 0 and 3600 seconds (got \(t))") }
        if let b = retimeBudget, !(b >= 0 && b <= 86_400) { throw ValidationError("--retime-budget must be between 0 and 86400 seconds (got \(b))") }
        if safetensors != nil && tensor == nil { throw ValidationError("--safetensors needs --tensor NAME") }
        if tensor != nil && safetensors == nil { throw ValidationError("--tensor needs --safetensors FILE") }
        if let p = pruneTo, !(p >= 0 && p <= 1) { throw ValidationError("--prune-to must be in [0, 1] (got \(p))") }
        if pruneTo != nil && safetensors == nil { throw ValidationError("--prune-to applies to --safetensors weights") }
        if !(spinWindow >= 0 && spinWindow <= 100_000) {
            throw ValidationError("--spin-window must be between 0 and 100000 microseconds (got \(spinWindow))")
        }
        if let peers { _ = try peerList(peers) }
        if breakEven == true && (!matrix.isEmpty || safetensors != nil) && shapes.isEmpty {
            throw ValidationError("--break-even searches generated matrices (--shape): --matrix and --safetensors inputs have a fixed sparsity")
        }
    }

    /// The default suite as `make run` runs it: no option that changes its axes.
    var isPlainDefaultSuite: Bool {
        suite == .default && shapes.isEmpty && blocks == nil && sparsities == nil && n == nil && threads == nil
            && matrix.isEmpty && safetensors == nil && filter == nil
    }

    func run() throws {
        #if DEBUG
        note("kernelbench: warning: debug build. The C kernels are compiled -O3 in every configuration, but the Swift driver and reference are slow; use `swift run -c release kernelbench` (or `make run`).")
        #endif
        let config = try makeConfig()
        try loadPeers(config)
        let paths = try outputPaths()
        let topology = Topology.detect()
        if let reason = topology.fallbackReason { note("kernelbench: NUMA: \(reason)") }
        warnIfOversubscribed(config.threads, cpus: topology.cpuCount, option: "--threads", hint: "'all' = \(topology.cpuCount)")

        let runner = SuiteRunner(config: config, context: MachineContext.current(), peak: nil)
        let cases = try runner.plan()
        guard !cases.isEmpty else {
            if let filter { throw CLIFailure.usage("no case matches --filter '\(filter)'") }
            throw CLIFailure.usage("no case to run: block size 1 is unstructured (csr and dense only), and --formats "
                                   + "asks only for bsr: add csr or dense to --formats, or a larger size to --blocks")
        }
        try runner.checkMemory(cases)
        if config.formats.contains(.mklBSR) {
            // Said once, not silently: MKL's BSR takes square blocks that divide both sides of A.
            let skipped = config.blocks.filter { b in
                b.area > 1 && (b.rows != b.cols || config.sources.contains { $0.rows % b.rows != 0 || $0.cols % b.cols != 0 })
            }
            if !skipped.isEmpty {
                note("kernelbench: mkl-bsr does not run on \(skipped.map(\.description).joined(separator: ", ")) blocks "
                     + "(on the matrices they do not fit): MKL's BSR takes square blocks whose side divides both sides of A")
            }
        }

        note("kernelbench: measuring this machine's FMA peak, bandwidth and fork/join cost...")
        let peak = MachinePeak.measure(threads: topology.cpuCount)
        note(String(format: "kernelbench: peak %.1f GFLOP/s/core", peak.gflopsOneCore) + " (\(peak.isa ?? "?"))"
             + String(format: ", %.1f GFLOP/s on %d threads, triad %.1f GB/s",
                      peak.gflopsAllCores, peak.threads, peak.triadGBps))
        note("kernelbench: fork/join " + peak.forkJoinDescription)
        if let warning = peak.scalingWarning { note("kernelbench: warning: " + warning) }
        let measured = SuiteRunner(config: config, context: MachineContext.current(), peak: peak)
        let progress = ProgressLine()
        measured.onProgress = { progress.update($0) }
        measured.onNotice = { progress.notice($0) }
        // Results are rewritten atomically at most every 2 s (rewriting all of
        // them after every case grows quadratically with the sweep), at the
        // end, and — on Ctrl-C — as soon as the case (or break-even search) in
        // flight finishes. Rendering grows with the report (about a second for
        // the default suite's 800 cases), so the pause after a write is also
        // at least 19 times the write: writes take at most 5% of the run.
        var nextWrite = monotonicNanoseconds() + 2_000_000_000
        func saved(_ report: BenchmarkReport) throws {
            if interruptRequested.value {
                try writeResults(report, paths)
                progress.close()
                note("kernelbench: interrupted; every completed case is saved in \(paths.json)")
                Foundation.exit(130)
            }
            let now = monotonicNanoseconds()
            if now > nextWrite {
                try writeResults(report, paths)
                let done = monotonicNanoseconds()
                nextWrite = done + max(2_000_000_000, 19 * (done - now))
            }
        }
        measured.onBreakEvenFinished = { report, result in
            progress.searched(result)
            try saved(report)
        }
        measured.onCaseFinished = { report, entry in
            progress.finished(entry)
            try saved(report)
        }
        installInterruptHandler()
        let searches = measured.breakEvenTargets(cases).count
        let plannedSeconds = measured.plannedSeconds(cases)
        let planned = Int(plannedSeconds.rounded())
        var budgetNote = ""
        if quietCheck {
            let budget = RetimeBudget(seconds: retimeBudget ?? (plannedSeconds / 4).rounded(.up))
            measured.quietGate = QuietCheck().gate(budget: budget)
            budgetNote = String(format: ", up to %.0f s more to retime disturbed rounds", budget.seconds)
        }
        note("kernelbench: \(cases.count) cases" + (searches > 0 ? " and \(searches) break-even searches" : "")
             + String(format: " (planned %d:%02d on a 2-core machine", planned / 60, planned % 60) + budgetNote
             + "); results go to \(paths.json)")
        try measured.run(cases)
        progress.close()
        let retimed = measured.retimed
        if retimed.sets > 0 {
            note("kernelbench: the quiet check failed around \(retimed.rounds) round(s) in \(retimed.sets) of "
                 + "\(retimed.timedSets) comparison set(s); they were timed again (retimed_rounds in the results)")
        }
        if retimed.disturbed > 0 {
            note("kernelbench: \(retimed.disturbed) round(s) were kept although the quiet check failed around them "
                 + "(a set's limit of dropped rounds or the run's --retime-budget was spent; disturbed_rounds in the results)")
        }
        if retimed.timedSets >= 4 && 2 * retimed.sets > retimed.timedSets {
            note("kernelbench: warning: the quiet check failed around most comparison sets. Either another workload "
                 + "kept sharing this core (rerun when the machine is quiet) or the core ran slower for a lasting "
                 + "reason such as power or thermal limits (then rerun with --no-quiet-check)")
        }
        try writeResults(measured.report, paths)
        print(summaryText(measured.report))
        print("Results: \(paths.json) (+ .md, .csv, .html)")
        if !measured.failures.isEmpty {
            throw CLIFailure.runtime("\(measured.failures.count) case(s) failed verification:\n  "
                                     + measured.failures.joined(separator: "\n  "))
        }
    }

    // MARK: Configuration

    func makeConfig() throws -> SuiteConfig {
        var sources: [MatrixSource] = []
        for path in matrix {
            let csr = try MatrixMarket.readCSR(path: path)
            guard csr.rows >= 1, csr.cols >= 1 else {  // as --shape: nothing to multiply
                throw InputError(source: path, "a \(csr.rows)x\(csr.cols) matrix has nothing to multiply")
            }
            let stem = sanitize(((path as NSString).lastPathComponent as NSString).deletingPathExtension)
            // Files with the same name in different folders: name the later ones stem-2, stem-3, ...
            var label = stem, copy = 1
            while sources.contains(where: { $0.label == label }) { copy += 1; label = "\(stem)-\(copy)" }
            if copy > 1 { note("kernelbench: \(path) is named \(label) in the results (another --matrix has the same name)") }
            sources.append(.fixed(label: label, matrix: csr, only: nil))
        }
        if let safetensors, let tensor {
            let weights = try SafeTensors.readMatrix(path: safetensors, tensor: tensor)
            if let pruneTo {
                // Block-prune by mean |w| once per block shape; each pruned
                // matrix is benchmarked at the block shape it was pruned for.
                for block in try blockList() {
                    let (pruned, mask) = try BlockPruning.pruned(weights, block: block, toSparsity: pruneTo)
                    if let warning = blockSparsityWarning(target: pruneTo, achieved: mask.blockSparsity, blocks: mask.blockCount,
                                                          matrix: "tensor '\(tensor)' (\(weights.rows)x\(weights.cols))",
                                                          block: block, pruned: true) {
                        note("kernelbench: " + warning + " (achieved_sparsity in the results)")
                    }
                    sources.append(.fixed(label: "\(sanitize(tensor))-pruned\(SuiteConfig.percentLabel(pruneTo))",
                                          matrix: CSRMatrix(dense: pruned), only: block, target: pruneTo))
                }
            } else {
                sources.append(.fixed(label: sanitize(tensor), matrix: CSRMatrix(dense: weights), only: nil))
            }
        }
        let shapeList = shapes.isEmpty && sources.isEmpty ? suite.shapes.map { "\($0.1)x\($0.2)" } : shapes
        for text in shapeList {
            let (m, k) = try parseShape(text)
            let label = suite.shapes.first { $0.1 == m && $0.2 == k && shapes.isEmpty }?.0 ?? "\(m)x\(k)"
            sources.append(.generated(label: label, rows: m, cols: k, distribution: distribution))
        }
        let blockList = try blockList()
        let sparsityList = try (sparsities.map { try splitList($0, option: "--sparsities") }?.map { text -> Double in
            guard let s = Double(text), s >= 0, s <= 1 else {
                throw ValidationError("--sparsities: '\(text)' is not a sparsity in [0, 1]")
            }
            return s
        } ?? suite.sparsities).uniqued()
        // Case names carry the sparsity as a percentage with up to four decimals.
        for (i, s) in sparsityList.enumerated() {
            if let t = sparsityList[..<i].first(where: { SuiteConfig.percentLabel($0) == SuiteConfig.percentLabel(s) }) {
                throw ValidationError("--sparsities: \(t) and \(s) would both name cases s\(SuiteConfig.percentLabel(s))")
            }
        }
        let nList = try (n.map { try splitList($0, option: "--n") }?.map { text -> Int in
            guard let v = Int(text), v >= 1, v <= 1 << 20 else {
                throw ValidationError("--n: '\(text)' is not a column count between 1 and 1048576")
            }
            return v
        } ?? suite.ns).uniqued()
        let cpus = Topology.detect().cpuCount
        var threadList: [Int] = []
        for text in try threads.map({ try splitList($0, option: "--threads") }) ?? suite.threads {
            let t: Int
            if text == "all" { t = cpus } else {
                guard let v = Int(text), v >= 1, v <= 4096 else {
                    throw ValidationError("--threads: '\(text)' is not a thread count (1...4096 or 'all')")
                }
                t = v
            }
            threadList.append(t)
        }
        threadList = threadList.uniqued()
        var formatList = try splitList(formats, option: "--formats").map { text -> CaseFormat in
            guard let f = CaseFormat(rawValue: text) else {
                throw ValidationError("--formats: '\(text)' is not one of "
                                      + CaseFormat.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return f
        }.uniqued()
        // Each of KernelBench's formats gets each peer's case on the same storage.
        for peer in try peers.map(peerList) ?? [] {
            formatList += formatList.filter { $0.peer == nil }.map { peer.format(for: $0) }
        }
        formatList = formatList.uniqued()
        var timing = suite.timing
        if let repetitions { timing.minRepetitions = repetitions }
        if let minTime { timing.minTime = minTime }
        let search = breakEven ?? (isPlainDefaultSuite && suite.breakEven && formatList.contains(.dense))
        if breakEven == true && !formatList.contains(.dense) {
            throw ValidationError("--break-even compares with dense: add dense to --formats")
        }
        return SuiteConfig(sources: sources, blocks: blockList, sparsities: sparsityList, ns: nList, threads: threadList,
                           formats: formatList, timing: timing, seed: seed, filter: filter, strategies: try namedList(strategy, option: "--strategy"),
                           runtimes: try namedList(runtime, option: "--runtime"), spinWindow: spinWindow * 1e-6,
                           bPlacement: bPlacement, breakEven: search ? BreakEvenSearch() : nil)
    }

    /// The `--peers` names; an unknown one is a usage error.
    func peerList(_ text: String) throws -> [Peer] {
        try splitList(text, option: "--peers").map { item in
            guard let peer = Peer(rawValue: item) else {
                throw ValidationError("--peers: '\(item)' is not a known peer (known: "
                                      + Peer.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            return peer
        }.uniqued()
    }

    /// Loads the library of every peer format of the run before anything is
    /// measured, and checks that it honours each thread count: a library
    /// that cannot be used is one line and exit 2 (``InputError``), never a skip.
    func loadPeers(_ config: SuiteConfig) throws {
        for peer in Set(config.formats.compactMap(\.peer)).sorted(by: { $0.rawValue < $1.rawValue }) {
            let version = try peer.load()
            for t in config.threads where peer.setThreads(t) != t {
                throw InputError(source: "--peers \(peer.rawValue)",
                                 "\(peer.displayName) runs \(peer.setThreads(t)) thread(s) where --threads asks \(t)"
                                 + (ProcessInfo.processInfo.environment["MKL_THREADING_LAYER"].map {
                                     " (MKL_THREADING_LAYER=\($0) is set)" } ?? ""))
            }
            note("kernelbench: peer \(peer.displayName): \(version) (\(peer.libraryPath))")
        }
    }

    func blockList() throws -> [BlockShape] {
        try (blocks.map { try splitList($0, option: "--blocks") } ?? suite.blocks).map { text -> BlockShape in
            guard let b = BlockShape(parsing: text) else {
                throw ValidationError("--blocks: '\(text)' is not a block size (use b or RxC with sides 1...\(BlockShape.maxSide), e.g. 8 or 4x1)")
            }
            return b
        }.uniqued()
    }

    /// A comma-separated list of an option's named values (`--strategy`, `--runtime`).
    func namedList<T: CaseIterable & RawRepresentable & Hashable>(_ text: String, option: String) throws -> [T]
    where T.RawValue == String {
        try splitList(text, option: option).map { item in
            guard let value = T(rawValue: item) else {
                throw ValidationError("\(option): '\(item)' is not " + T.allCases.map(\.rawValue).joined(separator: " or "))
            }
            return value
        }.uniqued()
    }

    func sanitize(_ label: String) -> String {
        String(label.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "-" })
    }

    // MARK: Output

    struct OutputPaths {
        let json: String
        let markdown: String
        let csv: String
        let html: String
    }

    func outputPaths() throws -> OutputPaths {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        let stamp = "kernelbench-" + formatter.string(from: Date()) + ".json"
        var json: String
        if let output {
            var isDir: ObjCBool = false
            if output.hasSuffix(".json") {
                guard (output as NSString).lastPathComponent != ".json" else {
                    throw ValidationError("--output '\(output)' needs a file name before .json")
                }
                json = output
            } else if output.hasSuffix("/") || (FileManager.default.fileExists(atPath: output, isDirectory: &isDir) && isDir.boolValue) {
                json = (output as NSString).appendingPathComponent(stamp)
            } else {
                throw ValidationError("--output '\(output)' must be a .json file or an existing folder (end it with / to create one)")
            }
        } else {
            json = "reports/runs/" + stamp
        }
        let stem = (json as NSString).deletingPathExtension
        let paths = OutputPaths(json: json, markdown: stem + ".md", csv: stem + ".csv", html: stem + ".html")
        try refuseToOverwrite([paths.json, paths.markdown, paths.csv, paths.html], force: force,
                              alternative: "choose another --output")
        try checkWritable(paths.json)  // before the measuring, not after it
        return paths
    }

    func writeResults(_ report: BenchmarkReport, _ paths: OutputPaths) throws {
        try writeAtomically(try report.jsonData(), to: paths.json)
        try writeAtomically(Data(ReportRenderer.markdown(report).utf8), to: paths.markdown)
        try writeAtomically(Data(ReportRenderer.csv(report).utf8), to: paths.csv)
        try writeAtomically(Data(ReportRenderer.html(report).utf8), to: paths.html)
    }

    /// Per matrix, N and thread count: speedup over dense (useful GFLOP/s) by
    /// block size x sparsity, then the break-even sentences.
    func summaryText(_ report: BenchmarkReport) -> String {
        struct GroupKey: Hashable { let matrix: String; let n: Int; let threads: Int }
        struct BlockKey: Hashable { let rows: Int; let cols: Int }
        let medians = report.aggregates("median").filter { $0.error_occurred != true && $0.format != "dense" }
        var order: [GroupKey] = []
        var byGroup: [GroupKey: [BenchmarkEntry]] = [:]
        for e in medians {
            let key = GroupKey(matrix: e.matrix, n: e.n, threads: e.threads)
            if byGroup[key] == nil { order.append(key) }
            byGroup[key, default: []].append(e)
        }
        var lines: [String] = []
        for key in order {
            let rows = byGroup[key]!
            let sparsities = Set(rows.map(\.sparsity)).sorted()
            let blocks = Set(rows.map { BlockKey(rows: $0.block_rows, cols: $0.block_cols) })
                .sorted { ($0.rows * $0.cols, $0.rows) < ($1.rows * $1.cols, $1.rows) }
            lines.append("")
            // A file's rows share its sparsity (or pruning target): one column, each
            // block shape's achieved sparsity (explicit zeros of its blocks counted) beside its row.
            let fileInput = rows.contains { $0.distribution == "file" }
            lines.append("\(key.matrix)  N=\(key.n)  threads=\(key.threads): speedup over dense OpenBLAS (useful GFLOP/s)")
            var header = "  block     "
            for s in sparsities { header += (SuiteConfig.percentLabel(s) + "%").leftPadded(to: 16) }
            if fileInput { header += "   achieved" }
            lines.append(header)
            for block in blocks {
                // A block size's row is its BSR; block 1 is CSR on the unstructured matrix. Without
                // BSR cases (--formats csr,dense) the row is CSR on that block size's matrix.
                func has(_ format: String) -> Bool {
                    rows.contains { $0.block_rows == block.rows && $0.block_cols == block.cols && $0.format == format }
                }
                let unstructured = block.rows * block.cols == 1
                let format = !unstructured && has("bsr") ? "bsr" : "csr"
                guard has(format) else { continue }
                let label = (format == "csr" && !unstructured ? "csr " : "") + "\(block.rows)x\(block.cols)"
                var line = "  " + label.padding(toLength: 10, withPad: " ", startingAt: 0)
                var achieved: [String] = []
                for s in sparsities {
                    // With several partition strategies, the best of them (as the break-evens).
                    let match = rows.filter { $0.block_rows == block.rows && $0.block_cols == block.cols && $0.sparsity == s && $0.format == format }
                        .max { ($0.speedup_vs_dense ?? 0) < ($1.speedup_vs_dense ?? 0) }
                    guard let e = match else {
                        line += String(repeating: " ", count: 16)
                        continue
                    }
                    let speedup = e.speedup_vs_dense.map { String(format: "%.2fx", $0) } ?? "-"
                    line += speedup.leftPadded(to: 8) + String(format: " (%5.1f)", e.useful_gflops)
                    achieved.append(SuiteConfig.percentLabel(e.achieved_sparsity) + "%")
                }
                if fileInput { line += "   " + achieved.joined(separator: " / ") }
                lines.append(line)
            }
        }
        let againstMKL = report.aggregates("median").filter { $0.error_occurred != true && $0.speedup_vs_mkl != nil }
        if !againstMKL.isEmpty {
            lines.append("")
            lines.append("Against Intel MKL (median MKL time / KernelBench time, same matrix, storage and threads; "
                         + "bsr vs mkl-bsr, csr vs mkl-csr, dense OpenBLAS vs mkl-dense):")
            for e in againstMKL {
                lines.append("  " + e.run_name.padding(toLength: 52, withPad: " ", startingAt: 0)
                             + String(format: "%6.2fx", e.speedup_vs_mkl!))
            }
        }
        if let measuredEvens = report.break_even, !measuredEvens.isEmpty {
            lines.append("")
            lines.append("Break-even block sparsity against dense (sgemv at N=1, sgemm otherwise), measured to +-2 points:")
            for t in ReportRenderer.breakEvenTables(measuredEvens) {
                let width = 16
                lines.append("  \(t.source)")
                lines.append("    " + "format".padding(toLength: 10, withPad: " ", startingAt: 0)
                             + t.columns.map { "N=\($0.n) t=\($0.threads)".leftPadded(to: width) }.joined())
                for row in t.rows {
                    lines.append("    " + row.subject.padding(toLength: 10, withPad: " ", startingAt: 0)
                                 + row.cells.map { $0.leftPadded(to: width) }.joined())
                }
            }
            return lines.joined(separator: "\n")
        }
        let breakEvens = ReportRenderer.breakEvens(report)
        if !breakEvens.isEmpty {
            lines.append("")
            lines.append("Break-even against dense on this machine (interpolated between the measured sparsities; run --break-even to measure it):")
            var lastSetting = ""
            for b in breakEvens {
                if b.setting != lastSetting {
                    lines.append("  \(b.setting):")
                    lastSetting = b.setting
                }
                lines.append("    " + b.sentence)
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Parses a `--shape` value MxK (rows x cols of A), each side in 1...Int32.max.
func parseShape(_ text: String) throws -> (rows: Int, cols: Int) {
    let parts = text.lowercased().split(separator: "x")
    guard parts.count == 2, let m = Int(parts[0]), let k = Int(parts[1]) else {
        throw ValidationError("--shape '\(text)' is not MxK (e.g. 4096x4096)")
    }
    guard m >= 1, k >= 1, m <= Int(Int32.max), k <= Int(Int32.max) else {
        throw ValidationError("--shape '\(text)': dimensions must be between 1 and \(Int32.max)")
    }
    return (m, k)
}

/// A comma-separated option value, items trimmed and lowercased; an
/// empty value or an empty item (`4,,8`, `0.5,`) is an error.
func splitList(_ text: String, option: String) throws -> [String] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false)
        .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    guard !items.contains(where: \.isEmpty) else {
        throw ValidationError(text.trimmingCharacters(in: .whitespaces).isEmpty
                              ? "\(option) needs a value" : "\(option): empty item in '\(text)'")
    }
    return items
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each only the first time it occurs.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}

extension BlockDistribution: ExpressibleByArgument {}
extension BPlacement: ExpressibleByArgument {}

/// The live progress line: rewritten in place on a terminal, plain lines otherwise.
final class ProgressLine: @unchecked Sendable {
    private let tty = isatty(2) != 0
    private var last = ""

    func update(_ p: SuiteProgress) {
        guard p.done < p.total else { return }
        let eta = p.eta.map { " ETA " + clock($0) } ?? ""
        let text = "[\(p.done + 1)/\(p.total)] \(p.current)  \(clock(p.elapsed)) elapsed\(eta)"
        if tty {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
        }
        last = text
    }

    func finished(_ e: BenchmarkEntry) {
        let line: String
        if e.error_occurred == true {
            line = "FAILED \(e.name): \(e.error_message ?? "")"
        } else {
            line = String(format: "%@  %@  %.1f us  %.1f GFLOP/s%@", e.run_name, e.kernel, e.real_time / 1000, e.useful_gflops,
                          e.speedup_vs_dense.map { String(format: "  %.2fx vs dense", $0) } ?? "")
        }
        if tty {
            if e.error_occurred == true { FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + "\n").utf8)) }
        } else {
            FileHandle.standardError.write(Data((last + " -> " + line + "\n").utf8))
        }
    }

    func searched(_ r: BreakEvenResult) {
        guard !tty else { return }
        let line = "break-even \(r.subject) on \(r.matrix) N=\(r.n) threads=\(r.threads): \(r.cell) "
            + "(\(r.points.count) probe\(r.points.count == 1 ? "" : "s"))"
        FileHandle.standardError.write(Data((last + " -> " + line + "\n").utf8))
    }

    func notice(_ text: String) {
        FileHandle.standardError.write(Data(((tty ? "\r\u{1B}[K" : "") + "kernelbench: " + text + "\n").utf8))
    }

    func close() {
        if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Set by the first Ctrl-C: the run writes every completed case and exits
/// 130 when the case in flight finishes. A second Ctrl-C exits at once
/// (the files from the last periodic write stay intact: writes are atomic).
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    var value: Bool { lock.lock(); defer { lock.unlock() }; return raised }
    /// Raises the flag; returns whether it was already raised.
    func raise() -> Bool { lock.lock(); defer { lock.unlock() }; let was = raised; raised = true; return was }
}

let interruptRequested = InterruptFlag()

func installInterruptHandler() {
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler {
        if interruptRequested.raise() { exit(130) }
        FileHandle.standardError.write(Data("\nkernelbench: interrupt: saving completed cases after the current one (Ctrl-C again to quit now)\n".utf8))
    }
    source.resume()
    interruptSource = source
}

nonisolated(unsafe) private var interruptSource: DispatchSourceSignal?
