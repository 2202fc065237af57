import ArgumentParser
import Benchmarking
import BlockSparse
import Foundation

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the registered kernels and this machine's CPU, features, cores and NUMA nodes.",
        discussion: "A kernel marked 'no' is registered but its ISA is missing on this CPU; dispatch skips it.")

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: ArgumentHelp(
        "Print only this machine's class (microarchitecture and usable cores, e.g. zen4-2core).",
        discussion: "Timing baselines are kept per class: make perf-check compares against reports/baselines/timing-<class>.json."))
    var machineClass = false

    func validate() throws {
        if json && machineClass { throw ValidationError("--json and --machine-class print different things; pass one.") }
    }

    func run() throws {
        let context = MachineContext.current()
        if machineClass {
            print(context.machine_class ?? "unknown")
            return
        }
        let kernels = Kernel.all
        let dispatchError: Error?
        let dispatch: String
        do { dispatch = try Kernel.dispatchISA().rawValue; dispatchError = nil } catch {
            dispatch = "invalid KERNELBENCH_ISA"
            dispatchError = error
        }
        if json {
            print(try MachineListing.json(context: context, kernels: kernels))
        } else {
            print(MachineListing.text(context: context, kernels: kernels, dispatch: dispatch,
                                      forcedISA: ProcessInfo.processInfo.environment["KERNELBENCH_ISA"]))
        }
        if let dispatchError { throw dispatchError }  // the listing is the diagnosis; the command still fails
    }
}

struct Peak: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure this machine's FMA peak (one core, all cores), streaming bandwidth and fork/join cost.",
        discussion: """
            The FMA probe runs independent FMA chains at the best ISA this CPU runs, whatever \
            KERNELBENCH_ISA says (the fastest of 7 runs: a \
            peak is what the core can do, so a run slowed by other work does not count); the bandwidth \
            probe is a STREAM triad over 384 MiB counted as 12 bytes per element (median of its runs). `run` \
            measures the same numbers at start-up and reports every kernel as a fraction of them.

            Fork/join is measured for each threading runtime on all the threads: `team` (workers kept \
            for a session, as `run` times a threaded case) and `dispatch` (one concurrentPerform per \
            product). "Empty product": one task per thread, each waiting until all have started, so every \
            thread joins. "Beyond": the time of one 20 us task per thread minus 20 us, what a product pays \
            on top of its work; `run` keeps a threaded product on one thread when its one-thread time is \
            under 10x that figure of its runtime. Medians of 300 products after 50 untimed ones.
            """)

    @Option(help: "Threads for the all-core figures, 1 to 4096 (default: the CPUs this process may use; more than those shares cores, with a warning, and takes longer without measuring more).")
    var threads: Int?

    @Option(name: .customLong("spin-window"), help: "Microseconds an idle team worker polls for the next product before it sleeps, for the team's fork/join figures (0 to 100000; 0: every product wakes its workers).")
    var spinWindow: Double = WorkerTeam.defaultSpinWindow * 1e6

    @Option(help: "Also time products of one task of this many microseconds of FMA work per thread (comma-separated, e.g. 10,20,100) on each threading runtime, and print their speedup over one thread.")
    var work: String?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if let t = threads, t < 1 || t > 4096 { throw ValidationError("--threads must be between 1 and 4096 (got \(t))") }
        _ = try workSizes()
        if json && work != nil { throw ValidationError("--work prints a table: use it without --json") }
        if !(spinWindow >= 0 && spinWindow <= 100_000) {
            throw ValidationError("--spin-window must be between 0 and 100000 microseconds (got \(spinWindow))")
        }
    }

    /// --work in seconds.
    func workSizes() throws -> [Double] {
        guard let work else { return [] }
        return try splitList(work, option: "--work").map { text in
            guard let us = Double(text), us >= 1, us <= 100_000 else {
                throw ValidationError("--work: '\(text)' is not a task length between 1 and 100000 microseconds")
            }
            return us * 1e-6
        }
    }

    func run() throws {
        let cpus = Topology.detect().cpuCount
        if let threads {
            warnIfOversubscribed([threads], cpus: cpus, option: "--threads", hint: "leave it out for all of them")
        }
        let peak = MachinePeak.measure(threads: threads ?? cpus, spinWindow: spinWindow * 1e-6)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(peak), as: UTF8.self))
            return
        }
        print(peak.text(work: try workSizes()))
    }
}
