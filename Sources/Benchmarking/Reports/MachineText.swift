import BlockSparse
import Foundation

// What `kernelbench list` and `kernelbench peak` print: the machine, its
// kernels, and its measured peaks, beside the other renderers.

/// The machine and the registered kernels, as a table or JSON.
public enum MachineListing {
    /// The machine's description, then one row per kernel; `dispatch` is the
    /// ISA dispatch picks (or why it cannot), `forcedISA` the KERNELBENCH_ISA given.
    public static func text(context: MachineContext, kernels: [Kernel], dispatch: String, forcedISA: String?) -> String {
        var lines: [String] = []
        lines.append("CPU:        \(context.cpu_model) (\(context.cpu_id ?? "id unknown"))")
        lines.append("Class:      \(context.machine_class ?? "unknown") (the timing baselines it compares with)")
        lines.append("Caches:     \(context.cache_sizes ?? "unreadable")")
        lines.append("Features:   \(context.isa_features.joined(separator: " "))")
        lines.append("Cores:      \(context.cores_available) usable of \(context.num_cpus) online, SMT \(context.smt)")
        lines.append("NUMA:       \(context.numa_nodes) node(s), placement: \(context.numa_placement)")
        lines.append("Dispatch:   \(dispatch)\(forcedISA.map { " (forced by KERNELBENCH_ISA=\($0))" } ?? "")")
        lines.append("Build:      \(context.build_configuration); kernels: \(context.compiler)")
        lines.append("OpenBLAS:   \(context.openblas_config)")
        lines.append("")
        let width = max(6, kernels.map(\.name.count).max() ?? 0)
        lines.append("kernel".padding(toLength: width, withPad: " ", startingAt: 0) + "  format  isa       block  tile_n  n     runs here")
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
            lines.append(cols.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    /// The machine's context and one object per kernel.
    public static func json(context: MachineContext, kernels: [Kernel]) throws -> String {
        struct Row: Encodable { let name, format, isa, block: String; let tile_n: Int; let spmv, runs_here: Bool }
        struct Out: Encodable { let context: MachineContext; let kernels: [Row] }
        let rows = kernels.map {
            Row(name: $0.name, format: $0.format.rawValue, isa: $0.isa.rawValue,
                block: $0.block?.description ?? "any", tile_n: $0.tileN, spmv: $0.isSpMV, runs_here: $0.isSupported)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(Out(context: context, kernels: rows)), as: UTF8.self)
    }
}

extension MachinePeak {
    /// The peaks as `kernelbench peak` prints them; with `work` (seconds per
    /// task), also the speed-up over one thread of such tasks on each runtime.
    public func text(work: [Double]) -> String {
        var lines: [String] = []
        let best = isa ?? ISA.best.rawValue
        lines.append(String(format: "FMA peak, 1 core:        %7.1f GFLOP/s", gflopsOneCore)
                     + " at \(best), the best ISA here (% of peak uses it)")
        for other in ISA.allCases.reversed() where other.rawValue != best {
            guard let gflops = gflopsOneCoreByISA?[other.rawValue] else { continue }
            lines.append(("  1 core at " + other.rawValue + ":").padding(toLength: 25, withPad: " ", startingAt: 0)
                         + String(format: "%7.1f GFLOP/s", gflops))
        }
        lines.append(String(format: "FMA peak, %2d threads:     %7.1f GFLOP/s", threads, gflopsAllCores))
        lines.append(String(format: "Triad bandwidth:         %7.1f GB/s (%d threads)", triadGBps, threads))
        for runtime in ThreadingRuntime.allCases {
            guard let cost = forkJoin?[runtime.rawValue] else { continue }
            lines.append(String(format: "Fork/join, %@:%@%7.2f us per empty product, %.2f us beyond %d x 20 us of work",
                                runtime.rawValue, String(repeating: " ", count: max(1, 13 - runtime.rawValue.count)),
                                cost.empty * 1e6, cost.beyondIdeal * 1e6, threads))
        }
        guard !work.isEmpty else { return lines.joined(separator: "\n") }
        lines.append("")
        lines.append(String(format: "Speedup over one thread of %d tasks of W us of FMA work (medians of 200 products):", threads))
        lines.append("     W      " + ThreadingRuntime.allCases.map { $0.rawValue.leftPadded(to: 10) }.joined())
        for w in work {
            let cells = ThreadingRuntime.allCases.map {
                String(format: "%.2fx", ForkJoinCost.speedup($0, threads: threads, work: w)).leftPadded(to: 10)
            }
            lines.append(String(format: "%6.0f us   ", w * 1e6) + cells.joined())
        }
        return lines.joined(separator: "\n")
    }
}
