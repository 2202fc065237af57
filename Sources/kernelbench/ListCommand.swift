import ArgumentParser
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
            struct Row: Encodable { let name, format, isa, block: String; let tile_n: Int; let spmv, runs_here: Bool }
            struct Out: Encodable { let context: MachineContext; let kernels: [Row] }
            let rows = kernels.map {
                Row(name: $0.name, format: $0.format.rawValue, isa: $0.isa.rawValue,
                    block: $0.block?.description ?? "any", tile_n: $0.tileN, spmv: $0.isSpMV, runs_here: $0.isSupported)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Out(context: context, kernels: rows)), as: UTF8.self))
            if let dispatchError { throw dispatchError }  // the listing is the diagnosis; the command still fails
            return
        }
        print("CPU:        \(context.cpu_model) (\(context.cpu_id ?? "id unknown"))")
        print("Class:      \(context.machine_class ?? "unknown") (the timing baselines it compares with)")
        print("Caches:     \(context.cache_sizes ?? "unreadable")")
        print("Features:   \(context.isa_features.joined(separator: " "))")
        print("Cores:      \(context.cores_available) usable of \(context.num_cpus) online, SMT \(context.smt)")
        print("NUMA:       \(context.numa_nodes) node(s), placement: \(context.numa_placement)")
        print("Dispatch:   \(dispatch)\(ProcessInfo.processInfo.environment["KERNELBENCH_ISA"].map { " (forced by KERNELBENCH_ISA=\($0))" } ?? "")")
        print("Build:      \(context.build_configuration); kernels: \(context.compiler)")
        print("OpenBLAS:   \(context.openblas_config)")
        print("")
        let width = max(6, kernels.map(\.name.count).max() ?? 0)
        print("kernel".padding(toLength: width, withPad: " ", startingAt: 0) + "  format  isa       block  tile_n  n     runs here")
        for k in kernels {
            let cols = [
                k.name.padding(toLength: width, withPad: " ", startingAt: 0),
                k.format.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0),
                k.isa.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0),
                (k.block?.description ?? "any").padding(toLength: 5, withPad: " ", startingAt: 0),
                String(k.tileN).padding(toLength: 6, withPad: " ", startingAt: 0),
                (k.isSpMV ? "1" : "any").padding(toLength: 4, withPad: " ", startingAt: 0),
                k.isSupported ? "yes" : "no (ISA missing)",
            ]
            print(cols.joined(separator: "  "))
        }
        if let dispatchError { throw dispatchError }  // the listing is the diagnosis; the command still fails
    }
}

struct Peak: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure this machine's FMA peak (one core, all cores), streaming bandwidth and dispatch overhead.",
        discussion: """
            The FMA probe runs independent FMA chains at the best ISA this CPU runs, whatever \
            KERNELBENCH_ISA says (the fastest of 7 runs: a \
            peak is what the core can do, so a run slowed by other work does not count); the bandwidth \
            probe is a STREAM triad over 384 MiB counted as 12 bytes per element (median of its runs). `run` \
            measures the same numbers at start-up and reports every kernel as a fraction of them.
            """)

    @Option(help: "Threads for the all-core figures, 1 to 4096 (default: the CPUs this process may use; more than those shares cores, with a warning, and takes longer without measuring more).")
    var threads: Int?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if let t = threads, t < 1 || t > 4096 { throw ValidationError("--threads must be between 1 and 4096 (got \(t))") }
    }

    func run() throws {
        let cpus = Topology.detect().cpuCount
        if let threads {
            warnIfOversubscribed([threads], cpus: cpus, option: "--threads", hint: "leave it out for all of them")
        }
        let peak = MachinePeak.measure(threads: threads ?? cpus)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(peak), as: UTF8.self))
            return
        }
        let best = peak.isa ?? ISA.best.rawValue
        print(String(format: "FMA peak, 1 core:        %7.1f GFLOP/s", peak.gflopsOneCore)
              + " at \(best), the best ISA here (% of peak uses it)")
        for isa in ISA.allCases.reversed() where isa.rawValue != best {
            guard let gflops = peak.gflopsOneCoreByISA?[isa.rawValue] else { continue }
            print(("  1 core at " + isa.rawValue + ":").padding(toLength: 25, withPad: " ", startingAt: 0)
                  + String(format: "%7.1f GFLOP/s", gflops))
        }
        print(String(format: "FMA peak, %2d threads:     %7.1f GFLOP/s", peak.threads, peak.gflopsAllCores))
        print(String(format: "Triad bandwidth:         %7.1f GB/s (%d threads)", peak.triadGBps, peak.threads))
        print(String(format: "Dispatch overhead:       %7.2f us per concurrentPerform of %d busy iterations", peak.dispatchOverhead * 1e6, peak.threads))
    }
}
