import CKernels
import CNuma
import Dispatch
import Foundation
import Synchronization
import BlockSparse

/// Measured limits of this machine: the denominators of "% of peak" and
/// the roofline.
public struct MachinePeak: Sendable, Codable, Equatable {
    /// FMA throughput of one core, GFLOP/s (fastest of repeated probes; see ``peaks(oneCore:allCores:threads:)``).
    public var gflopsOneCore: Double
    /// FMA throughput with `threads` cores busy, GFLOP/s.
    public var gflopsAllCores: Double
    public var threads: Int
    /// STREAM triad bandwidth with all threads, GB/s (12 bytes per element).
    public var triadGBps: Double
    /// What one `DispatchQueue.concurrentPerform` per product costs beyond
    /// its work (``ForkJoinCost/beyondIdeal`` of runtime `dispatch`), seconds.
    public var dispatchOverhead: Double
    /// The ISA the FMA probe ran at (the best this CPU runs); nil in files written before it was recorded.
    public var isa: String?
    /// One-core FMA throughput at each ISA this CPU runs, GFLOP/s (fastest of 7 probes each;
    /// `gflopsOneCore` is the best ISA's); nil in files written before it was recorded.
    public var gflopsOneCoreByISA: [String: Double]?

    /// Fork/join cost of each threading runtime on `threads` threads, keyed
    /// by ``ThreadingRuntime`` name. Nil in files written before it existed.
    public var forkJoin: [String: ForkJoinCost]?

    /// What a product on `runtime` pays beyond its work: the serial
    /// fallback's threshold is ten times this. (A file written before the
    /// team existed has only the dispatch figure.)
    public func forkJoinOverhead(_ runtime: ThreadingRuntime) -> Double {
        forkJoin?[runtime.rawValue]?.beyondIdeal ?? dispatchOverhead
    }

    /// Each runtime's fork/join cost in words ("team: 0.9 us per empty product, 0.4 us beyond 2 x 20 us
    /// of work; dispatch: ..."), or the dispatch overhead alone for a file written before the team.
    public var forkJoinDescription: String {
        guard let forkJoin else {
            return String(format: "dispatch: %.1f us beyond %d x 20 us of work", dispatchOverhead * 1e6, threads)
        }
        return ThreadingRuntime.allCases.compactMap { runtime in
            forkJoin[runtime.rawValue].map {
                String(format: "%@: %.1f us per empty product, %.1f us beyond %d x 20 us of work",
                       runtime.rawValue, $0.empty * 1e6, $0.beyondIdeal * 1e6, threads)
            }
        }.joined(separator: "; ")
    }

    public init(gflopsOneCore: Double, gflopsAllCores: Double, threads: Int, triadGBps: Double,
                dispatchOverhead: Double, forkJoin: [String: ForkJoinCost]? = nil, isa: String? = nil,
                gflopsOneCoreByISA: [String: Double]? = nil) {
        self.gflopsOneCore = gflopsOneCore
        self.gflopsAllCores = gflopsAllCores
        self.threads = threads
        self.triadGBps = triadGBps
        self.dispatchOverhead = dispatchOverhead
        self.forkJoin = forkJoin
        self.isa = isa
        self.gflopsOneCoreByISA = gflopsOneCoreByISA
    }

    /// How much the FMA probe speeds up on `threads` cores (ideally `threads`).
    public var computeScaling: Double { gflopsOneCore > 0 ? gflopsAllCores / gflopsOneCore : 0 }

    /// Set when the probe itself scaled below 85% of ideal: another workload
    /// (on a VM, often one invisible as steal time) held part of a core during
    /// the probe, and threaded speedups from the same run are depressed too.
    public var scalingWarning: String? {
        guard threads > 1, computeScaling < 0.85 * Double(threads) else { return nil }
        return String(format: "The FMA probe scaled only %.2fx on %d threads (ideal %d): part of a core was busy with "
                      + "other work while this run measured the machine, so its threaded speedups are likely "
                      + "depressed too; rerun when the machine is quiet before comparing them.",
                      computeScaling, threads, threads)
    }

    /// Runs the probes (about a second).
    public static func measure(threads: Int = Topology.detect().cpuCount,
                               spinWindow: Double = WorkerTeam.defaultSpinWindow) -> MachinePeak {
        let threads = max(1, threads)
        let oneSamples = fmaGFLOPS(threads: 1)
        let (one, all) = peaks(oneCore: oneSamples, allCores: threads == 1 ? oneSamples : fmaGFLOPS(threads: threads),
                               threads: threads)
        let best = ISA.best
        var byISA = [best.rawValue: one]
        for isa in ISA.allCases where isa != best && isa.isSupported {
            byISA[isa.rawValue] = fmaGFLOPS(threads: 1, isa: isa).max() ?? 0
        }
        let costs = ThreadingRuntime.allCases.map {
            ($0.rawValue, ForkJoinCost.measure($0, threads: threads, spinWindow: spinWindow))
        }
        let forkJoin = Dictionary(uniqueKeysWithValues: costs)
        return MachinePeak(gflopsOneCore: one, gflopsAllCores: all, threads: threads, triadGBps: triad(threads: threads),
                           dispatchOverhead: forkJoin[ThreadingRuntime.dispatch.rawValue]!.beyondIdeal,
                           forkJoin: forkJoin, isa: best.rawValue, gflopsOneCoreByISA: byISA)
    }

    /// The peaks from probe samples (GFLOP/s). Another workload on a core
    /// only ever slows a probe down, so the fastest sample is the estimate of
    /// each peak (a median let one disturbed stretch of a shared VM read a
    /// one-core peak of 83 GFLOP/s where the machine does 117, and kernels
    /// then showed over 100% of it). One core is at least as fast as the
    /// all-core rate per core (turbo only adds), so a one-core peak below that
    /// was disturbed throughout and the per-core all-core rate replaces it.
    static func peaks(oneCore: [Double], allCores: [Double], threads: Int) -> (one: Double, all: Double) {
        let all = allCores.max() ?? 0
        return (max(oneCore.max() ?? 0, all / Double(max(1, threads))), all)
    }

    /// GFLOP/s of `threads` concurrent FMA probes at `isa` (default: the best
    /// this CPU runs): 7 runs of a few ms after a warm-up run.
    public static func fmaGFLOPS(threads: Int, isa: ISA = .best) -> [Double] {
        Array((0..<8).map { _ in probeGFLOPS(threads: threads, iterations: 2_000_000, isa: isa) }.dropFirst())
    }

    /// One run of `threads` concurrent FMA probes of `iterations` rounds each
    /// (2 million: 384 MFLOP with AVX2, 768 with AVX-512; a few ms), at `isa`
    /// (default: the best this CPU runs), GFLOP/s over the wall time; 0 for an
    /// ISA this CPU lacks.
    public static func probeGFLOPS(threads: Int, iterations: Int64, isa: ISA = .best) -> Double {
        nonisolated(unsafe) let sinks = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        nonisolated(unsafe) let flops = UnsafeMutablePointer<Double>.allocate(capacity: threads)
        defer { sinks.deallocate(); flops.deallocate() }
        let t0 = monotonicNanoseconds()
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            flops[i] = kb_fma_probe_isa(isa.raw, iterations, sinks + i)
        }
        let seconds = Double(monotonicNanoseconds() - t0) * 1e-9
        return (0..<threads).reduce(0) { $0 + flops[$1] } / seconds / 1e9
    }

    /// Triad GB/s over three 32 Mi-element arrays (384 MiB), split across threads.
    public static func triad(threads: Int, elements: Int = 32 << 20) -> Double {
        nonisolated(unsafe) let a = UnsafeMutablePointer<Float>.allocate(capacity: elements)
        nonisolated(unsafe) let b = UnsafeMutablePointer<Float>.allocate(capacity: elements)
        nonisolated(unsafe) let c = UnsafeMutablePointer<Float>.allocate(capacity: elements)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        let chunk = (elements + threads - 1) / threads
        DispatchQueue.concurrentPerform(iterations: threads) { t in  // first touch by the thread that streams it
            let lo = t * chunk, hi = min(elements, lo + chunk)
            guard lo < hi else { return }
            (a + lo).initialize(repeating: 0, count: hi - lo)
            (b + lo).initialize(repeating: 1, count: hi - lo)
            (c + lo).initialize(repeating: 2, count: hi - lo)
        }
        var samples: [Double] = []
        for _ in 0..<5 {
            let t0 = monotonicNanoseconds()
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let lo = t * chunk, hi = min(elements, lo + chunk)
                if lo < hi { kb_triad(a + lo, b + lo, c + lo, 3, Int64(hi - lo)) }
            }
            samples.append(Double(12 * elements) / (Double(monotonicNanoseconds() - t0) * 1e-9) / 1e9)
        }
        return Summary(Array(samples.dropFirst())).median
    }
}

/// What a threading runtime costs a product beyond its work, on a number of
/// threads (measured after 50 untimed products, medians of 300).
public struct ForkJoinCost: Sendable, Codable, Equatable {
    /// Seconds of an empty product that every thread joins: one task per
    /// thread, each returning once all have started (an empty task would let
    /// the calling thread take every task before a worker wakes).
    public var empty: Double
    /// Seconds beyond the ideal 20 us of a product of one 20 us task per
    /// thread: what a product pays on top of its work (the serial
    /// fallback's threshold is ten times this).
    public var beyondIdeal: Double

    public init(empty: Double, beyondIdeal: Double) {
        self.empty = empty
        self.beyondIdeal = beyondIdeal
    }

    /// Measures `runtime` on `threads` threads: for `team`, every product of
    /// one session with workers that poll for `spinWindow` seconds, as a
    /// case's repetitions run; for `dispatch`, one concurrentPerform each.
    public static func measure(_ runtime: ThreadingRuntime, threads: Int,
                               spinWindow: Double = WorkerTeam.defaultSpinWindow) -> ForkJoinCost {
        switch runtime {
        case .team:
            return WorkerTeam.withTeam(threads: threads, spinWindow: spinWindow) { team in
                measure(threads: threads) { team.run(tasks: threads, $0) }
            }
        case .dispatch:
            return measure(threads: threads) { DispatchQueue.concurrentPerform(iterations: threads, execute: $0) }
        }
    }

    private static func measure(threads: Int, product: (_ task: @escaping @Sendable (Int) -> Void) -> Void) -> ForkJoinCost {
        let work: UInt64 = 20_000
        @Sendable func busy(_: Int) {
            let end = monotonicNanoseconds() + work
            while monotonicNanoseconds() < end {}
        }
        let started = Counter()
        /// Each task counts itself in, then waits (10 ms at most: a thread
        /// that never comes costs a slow sample, not a hang) for the others.
        func joined(_ round: Int) -> @Sendable (Int) -> Void {
            { _ in
                let all = threads * round
                let deadline = monotonicNanoseconds() + 10_000_000
                started.value.wrappingAdd(1, ordering: .sequentiallyConsistent)
                while started.value.load(ordering: .sequentiallyConsistent) < all && monotonicNanoseconds() < deadline {
                    kb_spin_pause()
                }
            }
        }
        for _ in 0..<50 { product(busy) }
        var empty: [Double] = [], beyond: [Double] = []
        for round in 1...300 {
            let barrier = joined(round)
            let t0 = monotonicNanoseconds()
            product(barrier)
            let t1 = monotonicNanoseconds()
            product(busy)
            let t2 = monotonicNanoseconds()
            empty.append(Double(t1 - t0) * 1e-9)
            beyond.append(Double(t2 - t1) * 1e-9 - Double(work) * 1e-9)
        }
        return ForkJoinCost(empty: Summary(empty).median, beyondIdeal: max(0, Summary(beyond).median))
    }

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Speedup over one thread of a product of one task of `work` seconds
    /// of FMA chains per thread (the FMA probe, its length calibrated on one
    /// thread first): the one-thread time of all the tasks over the product's
    /// time, medians of `rounds` samples each. Each round times the tasks on
    /// one thread, then a product after two untimed ones (for `team`, all
    /// three in a session of the round's own, so no worker spins while the
    /// one-thread work is timed).
    public static func speedup(_ runtime: ThreadingRuntime, threads: Int, work: Double, rounds: Int = 200) -> Double {
        let sinks = UnsafeMutablePointer<Float>.allocate(capacity: max(1, threads))
        defer { sinks.deallocate() }
        nonisolated(unsafe) let sink = sinks
        let probe: Int64 = 20_000
        let perIteration = (0..<5).map { _ in
            let t0 = monotonicNanoseconds()
            _ = kb_fma_probe(probe, sink)
            return Double(monotonicNanoseconds() - t0) * 1e-9 / Double(probe)
        }.min()!
        let iterations = max(1, Int64(work / perIteration))
        let task: @Sendable (Int) -> Void = { i in _ = kb_fma_probe(iterations, sink + i) }
        func timed(_ body: () -> Void) -> Double {
            let t0 = monotonicNanoseconds()
            body()
            return Double(monotonicNanoseconds() - t0) * 1e-9
        }
        func warmedProduct(_ product: () -> Void) -> Double {
            product()
            product()
            return timed(product)
        }
        var serial: [Double] = [], parallel: [Double] = []
        for _ in 0..<max(1, rounds) {
            serial.append(timed { for i in 0..<threads { task(i) } })
            switch runtime {
            case .team:
                parallel.append(WorkerTeam.withTeam(threads: threads) { team in
                    warmedProduct { team.run(tasks: threads, task) }
                })
            case .dispatch:
                parallel.append(warmedProduct { DispatchQueue.concurrentPerform(iterations: threads, execute: task) })
            }
        }
        return Summary(serial).median / Summary(parallel).median
    }
}

/// Whether the calling core is undisturbed right now: a load probe of a
/// 128 KiB buffer (in L2), read 64 times (8 MiB, about 70 us at 120 GB/s),
/// against the fastest such sample so far. On a shared VM another workload
/// sometimes takes part of the core for seconds: the FMA probe then drops
/// 2-3%, this probe 5-15%, and memory-bound kernels 20-45% (Zen 4, 8x8 BSR at
/// M = K = 4096, N = 64: 60-67 GFLOP/s in such stretches against 85 around
/// them, load probe 98-112 GB/s against 117.6). A check is the best of three
/// samples (a timer interrupt slows one sample, a shared core all three) and
/// passes within `tolerance` of the best.
///
/// A comparison set with threaded cases needs every core it runs on: with
/// ``cores`` above 1 the check probes that many cores at once (one thread
/// each, started together): its threaded cases need each thread's best
/// sample to pass, its one-thread cases only the timing thread's
/// (``QuietVerdict``). On the 2-core VM the second vCPU is sometimes taken for seconds while
/// the first stays free: fc1 runs (300x784, 8x8, N = 64) whose rounds all
/// passed a one-core check read 1.00-1.28x on two threads over one, where
/// others read 1.5-2.4x (reports/scaling.md).
public final class QuietCheck: @unchecked Sendable {
    public let tolerance: Double
    /// Fastest sample so far, GB/s.
    public private(set) var best = 0.0
    /// The fastest sample of each CPU probed beside others, keyed by the
    /// core count of the check and the CPU (cores may differ in speed).
    private var bestBeside: [Int: Double] = [:]
    /// Core counts whose checks have taken their first probes.
    private var startedTogether: Set<Int> = []
    /// Cores a check probes at once: set before each comparison set to the
    /// most threads its cases use (at most the CPUs this process may use).
    public var cores = 1 {
        didSet { cores = max(1, min(cores, ProcessInfo.processInfo.activeProcessorCount)) }
    }
    private let floats = 32 * 1024
    private let buffer: UnsafeMutablePointer<Float>
    private var sink: Float = 0

    /// Seconds every thread of a check of several cores has to start in.
    let startWithin: Double

    /// Allocates the buffer and takes 20 samples to start `best` from.
    /// - Parameter startWithin: seconds the threads of a check of several
    ///   cores have to start in; a thread that starts later fails the check
    ///   (its core was taken).
    public init(tolerance: Double = 0.05, startWithin: Double = 0.005) {
        self.tolerance = tolerance
        self.startWithin = startWithin
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, floats * 4) == 0, let raw else { fatalError("out of memory (128 KiB)") }
        buffer = raw.bindMemory(to: Float.self, capacity: floats)
        buffer.initialize(repeating: 1, count: floats)
        for _ in 0..<20 { _ = sample() }
    }

    deinit { free(buffer) }

    /// One load-probe sample, GB/s (also raises `best`).
    public func sample() -> Double {
        let gbps = probe(sink: &sink)
        best = max(best, gbps)
        return gbps
    }

    /// One load-probe sample on the calling thread, GB/s.
    private func probe(sink: UnsafeMutablePointer<Float>) -> Double {
        let t0 = monotonicNanoseconds()
        let bytes = kb_load_probe(buffer, Int64(floats), 64, sink)
        return bytes / max(1e-9, Double(monotonicNanoseconds() - t0) * 1e-9) / 1e9
    }

    /// The best of three samples on the calling thread, GB/s: a timer
    /// interrupt slows one sample, a shared core all three.
    private func bestOfThree(sink: UnsafeMutablePointer<Float>) -> Double {
        (0..<3).map { _ in probe(sink: sink) }.max()!
    }

    /// Whether the best of three samples is within `tolerance` of `best`.
    /// With ``cores`` above 1, that many cores are probed at once, each
    /// against the fastest sample of its CPU in such probes (a core runs a
    /// little slower while the others run too: 3% for the FMA probe on the
    /// 2-core VM): every core must pass for `everyCore`, the calling thread's
    /// for `timingCore`.
    public func check() -> QuietVerdict {
        guard cores > 1 else {
            let gbps = bestOfThree(sink: &sink)
            best = max(best, gbps)
            let quiet = gbps >= (1 - tolerance) * best
            return QuietVerdict(timingCore: quiet, everyCore: quiet)
        }
        func key(_ cpu: Int) -> Int { cores << 32 | cpu }
        func raise(_ samples: [CoreSample]) {
            for s in samples {
                if s.together {
                    bestBeside[key(s.cpu)] = max(bestBeside[key(s.cpu)] ?? 0, s.gbps)
                } else if s.caller {
                    best = max(best, s.gbps)
                }
            }
        }
        if startedTogether.insert(cores).inserted {  // 10 probes to start from, as `init` takes 20 for one core
            for _ in 0..<10 { raise(probeCoresTogether()) }
        }
        let samples = probeCoresTogether()
        raise(samples)
        // (a probe that ran alone, its partners late, against the one-core best)
        func fast(_ s: CoreSample) -> Bool { s.gbps >= (1 - tolerance) * (s.together ? bestBeside[key(s.cpu)]! : best) }
        return QuietVerdict(timingCore: samples.contains { $0.caller && fast($0) },
                            everyCore: samples.allSatisfy { $0.together && fast($0) })
    }

    /// One thread's probe in a check of several cores.
    private struct CoreSample {
        var cpu: Int
        var gbps: Double
        /// Taken on the thread that called the check (the timing thread).
        var caller: Bool
        /// Every thread started within `startWithin`, so the probes ran at once.
        var together: Bool
    }

    /// Each of ``cores`` threads' best of three samples, taken once all have
    /// started; a thread whose partners did not start within `startWithin`
    /// (their core was taken) probes alone, and its sample says so.
    private func probeCoresTogether() -> [CoreSample] {
        let threads = cores
        let arrived = Atomic<Int>(0)
        let abandoned = Atomic<Bool>(false)  // a thread stopped waiting: the probes did not all run at once
        let caller = pthread_self()
        let results = UnsafeMutableBufferPointer<CoreSample>.allocate(capacity: threads)
        let sinks = UnsafeMutablePointer<Float>.allocate(capacity: 16 * threads)  // a cache line each
        defer {
            results.deallocate()
            sinks.deallocate()
        }
        sinks.initialize(repeating: 0, count: 16 * threads)
        nonisolated(unsafe) let (slots, lines) = (results, sinks)  // each iteration writes only its own
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            arrived.wrappingAdd(1, ordering: .sequentiallyConsistent)
            let start = monotonicNanoseconds(), deadline = start + UInt64(self.startWithin * 1e9)
            while arrived.load(ordering: .sequentiallyConsistent) < threads {
                let now = monotonicNanoseconds()
                if now > deadline {
                    abandoned.store(true, ordering: .sequentiallyConsistent)
                    break
                }
                // (after 50 us, a thread still to start may need this core)
                if now - start < 50_000 { kb_spin_pause() } else { sched_yield() }
            }
            let gbps = self.bestOfThree(sink: lines + 16 * i)
            (slots.baseAddress! + i).initialize(to: CoreSample(cpu: Int(kb_current_cpu()), gbps: gbps,
                                                               caller: pthread_equal(pthread_self(), caller) != 0,
                                                               together: !abandoned.load(ordering: .sequentiallyConsistent)))
        }
        return Array(results)
    }

    /// The gate measureInterleaved uses: waits in steps of 20 ms, up to
    /// `maxWait` seconds per comparison set and within `budget` for the run.
    public func gate(maxWait: Double = 3, budget: RetimeBudget? = nil) -> QuietGate {
        var gate = QuietGate(maxWait: maxWait, budget: budget, check: { self.check() }, waitStep: {
            usleep(20_000)
            return self.check()
        })
        gate.setCores = { self.cores = $0 }
        return gate
    }
}

/// What a result file says about where it was measured.
public struct MachineContext: Sendable, Codable, Equatable {
    // Google Benchmark's own context keys.
    public var date: String
    public var host_name: String
    public var executable: String
    public var num_cpus: Int
    public var mhz_per_cpu: Int
    public var cpu_scaling_enabled: Bool
    public var library_build_type: String
    // KernelBench's additions.
    public var cpu_model: String
    public var isa_features: [String]
    public var dispatch_isa: String
    public var cores_available: Int
    public var smt: String
    public var numa_nodes: Int
    public var numa_placement: String
    public var frequency_governor: String
    public var compiler: String
    public var swift_version: String
    public var build_configuration: String
    public var openblas_config: String
    public var openblas_threads: Int
    public var git_revision: String
    /// The processor's identity beyond its marketing name (which can say only
    /// "AMD EPYC" on a VM): vendor, family, model, stepping on x86; implementer,
    /// part, variant, revision on Arm. Nil in files written before it existed.
    public var cpu_id: String?
    /// Data and unified cache sizes per instance, e.g. "L1d 32 KiB, L2 1 MiB, L3 32 MiB".
    public var cache_sizes: String?
    /// Which committed timing baseline this machine may be compared with:
    /// microarchitecture (or the CPU id where no name is known) and usable
    /// cores, e.g. "zen4-2core". See ``machineClass(cpuID:cores:)``.
    public var machine_class: String?
    public var peak: MachinePeak?

    /// Reads the context of this process and machine; `peak` is filled by the caller.
    public static func current() -> MachineContext {
        let topology = Topology.detect()
        let governor = readFirstLine("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") ?? "unreadable"
        let formatter = ISO8601DateFormatter()
        let id = cpuID()
        return MachineContext(
            date: formatter.string(from: Date()),
            host_name: ProcessInfo.processInfo.hostName,
            executable: CommandLine.arguments.first.map { ($0 as NSString).lastPathComponent } ?? "kernelbench",
            num_cpus: ProcessInfo.processInfo.activeProcessorCount,
            mhz_per_cpu: cpuMHz(),
            cpu_scaling_enabled: governor != "performance" && governor != "unreadable",
            library_build_type: buildConfiguration,
            cpu_model: String(cString: kb_cpu_model()),
            isa_features: cpuFeatures(),
            dispatch_isa: (try? Kernel.dispatchISA().rawValue) ?? "invalid KERNELBENCH_ISA",
            cores_available: topology.cpuCount,
            smt: readFirstLine("/sys/devices/system/cpu/smt/active").map { $0 == "1" ? "on" : "off" } ?? "unknown",
            numa_nodes: topology.nodes.count,
            numa_placement: topology.isReal ? "libnuma" : (topology.fallbackReason ?? "none"),
            frequency_governor: governor,
            compiler: String(cString: kb_compiler_info()),
            swift_version: swiftVersion,
            build_configuration: buildConfiguration,
            openblas_config: DenseBaseline.configuration,
            openblas_threads: DenseBaseline.threads,
            git_revision: gitRevision(),
            cpu_id: id,
            cache_sizes: cacheSizes(),
            machine_class: machineClass(cpuID: id, cores: topology.cpuCount),
            peak: nil)
    }

    /// "AuthenticAMD family 25 model 17 stepping 1" (x86, decimal as in
    /// /proc/cpuinfo) or "arm implementer 0x41 part 0xd0c variant 0x1 revision 1".
    static func cpuID() -> String {
        if let vendor = cpuInfoField("vendor_id"), let family = cpuInfoField("cpu family"),
           let model = cpuInfoField("model") {
            return "\(vendor) family \(family) model \(model)" + (cpuInfoField("stepping").map { " stepping \($0)" } ?? "")
        }
        if let implementer = cpuInfoField("CPU implementer"), let part = cpuInfoField("CPU part") {
            return "arm implementer \(implementer) part \(part)"
                + (cpuInfoField("CPU variant").map { " variant \($0)" } ?? "")
                + (cpuInfoField("CPU revision").map { " revision \($0)" } ?? "")
        }
        return "unknown"
    }

    /// The class a timing baseline is kept per: a microarchitecture name for
    /// the AMD families KernelBench has met ("zen3", "zen4", ...), otherwise
    /// the CPU id condensed ("genuineintel-f6m143", "arm-0x41-0xd0c"), and the
    /// usable cores: "zen4-2core". Timings from two machines of one class are
    /// comparable; from different classes they are not.
    public static func machineClass(cpuID: String, cores: Int) -> String {
        let words = cpuID.split(separator: " ").map(String.init)
        func value(_ key: String) -> String? {
            guard let i = words.firstIndex(of: key), i + 1 < words.count else { return nil }
            return words[i + 1]
        }
        var name = "unknown"
        if let family = value("family").flatMap({ Int($0) }), let model = value("model").flatMap({ Int($0) }) {
            let vendor = words.first?.lowercased() ?? "x86"
            let named = vendor == "authenticamd" ? amdMicroarchitecture(family: family, model: model) : nil
            name = named ?? "\(vendor)-f\(family)m\(model)"
        } else if words.first == "arm", let implementer = value("implementer"), let part = value("part") {
            name = "arm-\(implementer)-\(part)"
        }
        return "\(name)-\(cores)core"
    }

    /// Zen generations by family and model (AMD's published model ranges);
    /// nil for a model outside them, which then keeps its numbers.
    static func amdMicroarchitecture(family: Int, model: Int) -> String? {
        switch (family, model) {
        case (0x17, 0x00...0x2f): return "zen1"
        case (0x17, 0x30...0xaf): return "zen2"
        case (0x19, 0x10...0x1f), (0x19, 0x60...0x7f), (0x19, 0xa0...0xaf): return "zen4"
        case (0x19, 0x00...0x5f): return "zen3"
        case (0x1a, _): return "zen5"
        default: return nil
        }
    }

    /// Sizes of the data and unified caches of CPU 0, from sysfs; nil when unreadable.
    static func cacheSizes() -> String? {
        var parts: [String] = []
        for index in 0..<8 {
            let dir = "/sys/devices/system/cpu/cpu0/cache/index\(index)/"
            guard let level = readFirstLine(dir + "level"), let type = readFirstLine(dir + "type"),
                  let size = readFirstLine(dir + "size") else { break }
            guard type != "Instruction" else { continue }
            parts.append("L\(level)\(type == "Data" ? "d" : "") \(readableCacheSize(size))")
        }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// sysfs writes "32K", "1024K", "32768K": shown as "32 KiB", "1 MiB", "32 MiB".
    static func readableCacheSize(_ size: String) -> String {
        guard size.hasSuffix("K"), let kib = Int(size.dropLast()) else { return size }
        return kib >= 1024 && kib % 1024 == 0 ? "\(kib / 1024) MiB" : "\(kib) KiB"
    }

    public static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    static var swiftVersion: String {
        #if compiler(>=6.4)
        return "6.4 or later"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "6.1 or earlier"
        #endif
    }

    static func readFirstLine(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    static func cpuInfoField(_ key: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        // The whole field name must match ("model" is not "model name").
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            if let colon = line.firstIndex(of: ":"),
               line[..<colon].trimmingCharacters(in: .whitespaces) == key {
                return String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    static func cpuMHz() -> Int {
        if let khz = readFirstLine("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"), let v = Int(khz) {
            return v / 1000
        }
        return Int(Double(cpuInfoField("cpu MHz") ?? "") ?? 0)
    }

    /// The SIMD-relevant CPU flags this machine reports.
    static func cpuFeatures() -> [String] {
        let interesting: Set<String> = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
                                        "avx512_bf16", "amx_tile", "asimd", "fphp", "asimdhp", "sve", "sve2", "bf16"]
        let flags = (cpuInfoField("flags") ?? cpuInfoField("Features") ?? "").split(separator: " ").map(String.init)
        return flags.filter { interesting.contains($0) }.sorted()
    }

    /// Short git revision when run inside a checkout ("-dirty" if modified), else "unknown".
    static func gitRevision() -> String {
        if let env = ProcessInfo.processInfo.environment["KERNELBENCH_GIT_REVISION"], !env.isEmpty { return env }
        func git(_ args: [String]) -> String? {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["git"] + args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            do { try p.run() } catch { return nil }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { return nil }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let rev = git(["rev-parse", "--short", "HEAD"]) else { return "unknown" }
        let dirty = (git(["status", "--porcelain", "--untracked-files=no"]) ?? "").isEmpty ? "" : "-dirty"
        return rev + dirty
    }
}
