import ArgumentParser
import Benchmarking
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

    @Option(help: "Partitioning across threads: balanced (4 chunks of equal nonzero cost per thread, handed out costliest first as threads become free), equal-rows (one range of equal row count per thread), or both (balanced,equal-rows) to see the gain from balancing. Applies to threaded bsr and csr cases; their names end in /equal-rows, and each is compared with csr of its own strategy.")
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

    @Flag(inversion: .prefixedNo, help: "Before and after every timed repetition of a comparison set, check with a 70 us load probe (a 128 KiB buffer in L2) that the core is not shared with another workload (for threaded cases, each core they use, probed at once); a repetition with a check more than 5% below the probe's best on a core it needs is dropped and its round timed again, after waiting up to 3 s per set for the check to pass (at most max(3, --repetitions) repetitions dropped per case, within --retime-budget for the run). On shared VMs such stretches slow every kernel by 20-45%. Results record retimed_rounds per case.")
    var quietCheck = true

    @Option(help: ArgumentHelp("Seconds the whole run may spend waiting for the quiet check and timing dropped rounds again; once spent, repetitions are kept whatever the check says and counted as disturbed_rounds, so a run on a busy host ends near its plan and says what was measured disturbed. Default: an eighth of the planned time.", valueName: "seconds"))
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

    func run() throws {
        #if DEBUG
        note("kernelbench: warning: debug build. The C kernels are compiled -O3 in every configuration, but the Swift driver and reference are slow; use `swift run -c release kernelbench` (or `make run`).")
        #endif
        let config = try request().config(note: note)
        let paths = try ResultPaths(output: output)
        try paths.checkDestination(force: force)
        let cpus = Topology.detect().cpuCount
        warnIfOversubscribed(config.threads, cpus: cpus, option: "--threads", hint: "'all' = \(cpus)")
        let progress = ProgressLine()
        var events = RunEvents()
        events.note = note
        events.progress = { progress.update($0) }
        events.caseFinished = { progress.finished($0) }
        events.searchFinished = { progress.searched($0) }
        events.notice = { progress.notice($0) }
        events.interrupted = { interruptRequested.value }
        installInterruptHandler()
        let runner: SuiteRunner
        do {
            runner = try SuiteSession.run(config, to: paths, quietCheck: quietCheck, retimeBudget: retimeBudget, events: events)
        } catch let interrupted as SuiteSession.Interrupted {
            progress.close()
            note("kernelbench: interrupted; every completed case is saved in \(interrupted.json)")
            Foundation.exit(130)
        }
        progress.close()
        print(ReportRenderer.terminalSummary(runner.report))
        print("Results: \(paths.json) (+ .md, .csv, .html)")
        if !runner.failures.isEmpty {
            throw CLIFailure.runtime("\(runner.failures.count) case(s) failed verification:\n  "
                                     + runner.failures.joined(separator: "\n  "))
        }
    }

    // MARK: Options into a request

    /// The options as a ``SuiteRequest``: each list parsed and checked, the
    /// suite's axes left to the library where no option gives one.
    func request() throws -> SuiteRequest {
        var request = SuiteRequest()
        request.suite = suite
        request.shapes = try shapes.map(parseShape)
        request.distribution = distribution
        request.matrixFiles = matrix
        if let safetensors, let tensor { request.safetensors = (safetensors, tensor, pruneTo) }
        request.blocks = try blocks.map { _ in try blockList() }
        request.sparsities = try sparsities.map { text in
            let list = try splitList(text, option: "--sparsities").map { item -> Double in
                guard let s = Double(item), s >= 0, s <= 1 else {
                    throw ValidationError("--sparsities: '\(item)' is not a sparsity in [0, 1]")
                }
                return s
            }.uniqued()
            // Case names carry the sparsity as a percentage with up to four decimals.
            for (i, s) in list.enumerated() {
                if let t = list[..<i].first(where: { SuiteConfig.percentLabel($0) == SuiteConfig.percentLabel(s) }) {
                    throw ValidationError("--sparsities: \(t) and \(s) would both name cases s\(SuiteConfig.percentLabel(s))")
                }
            }
            return list
        }
        request.ns = try n.map { text in
            try splitList(text, option: "--n").map { item -> Int in
                guard let v = Int(item), v >= 1, v <= 1 << 20 else {
                    throw ValidationError("--n: '\(item)' is not a column count between 1 and 1048576")
                }
                return v
            }.uniqued()
        }
        let cpus = Topology.detect().cpuCount
        request.threads = try threads.map { text in
            try splitList(text, option: "--threads").map { item -> Int in
                if item == "all" { return cpus }
                guard let v = Int(item), v >= 1, v <= 4096 else {
                    throw ValidationError("--threads: '\(item)' is not a thread count (1...4096 or 'all')")
                }
                return v
            }.uniqued()
        }
        request.formats = try splitList(formats, option: "--formats").map { item -> CaseFormat in
            guard let f = CaseFormat(rawValue: item) else {
                throw ValidationError("--formats: '\(item)' is not one of "
                                      + CaseFormat.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return f
        }.uniqued()
        if breakEven == true && !request.formats.contains(.dense) {
            throw ValidationError("--break-even compares with dense: add dense to --formats")
        }
        request.peers = try peers.map(peerList) ?? []
        request.repetitions = repetitions
        request.minTime = minTime
        request.seed = seed
        request.filter = filter
        request.strategies = try namedList(strategy, option: "--strategy")
        request.runtimes = try namedList(runtime, option: "--runtime")
        request.spinWindow = spinWindow * 1e-6
        request.bPlacement = bPlacement
        request.breakEven = breakEven
        return request
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
