import CNuma
#if canImport(Glibc)
import Glibc
#endif

/// The machine's NUMA layout as the driver plans for it.
///
/// `Topology.detect()` asks libnuma; tests build fake 2- and 4-node
/// topologies with ``init(nodes:)`` to exercise planning and buffer ownership
/// on a one-node machine. A fake topology never reaches libnuma: buffers are
/// then ordinary aligned allocations that merely record their intended node.
public struct Topology: Sendable, Equatable {
    /// One NUMA node and the CPUs on it that this process may use.
    public struct Node: Sendable, Equatable {
        public let id: Int
        public let cpus: [Int]
    }

    /// Nodes with at least one usable CPU, in id order.
    public let nodes: [Node]
    /// True when placement is real (libnuma available and this is the detected topology).
    public let isReal: Bool
    /// Why placement is not real, for the one-time notice ("libnuma: numa_available() < 0").
    public let fallbackReason: String?

    /// A fake topology for planning tests: `nodes[i]` lists node i's CPUs.
    public init(nodes: [[Int]]) {
        self.nodes = nodes.enumerated().map { Node(id: $0.offset, cpus: $0.element) }
        isReal = false
        fallbackReason = "fake topology"
    }

    private init(nodes: [Node], isReal: Bool, fallbackReason: String?) {
        self.nodes = nodes
        self.isReal = isReal
        self.fallbackReason = fallbackReason
    }

    /// CPUs this process may run on (respects `taskset` / `numactl`).
    public static func allowedCPUs() -> [Int] {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        guard let mask = numa_allocate_cpumask() else { return Array(0..<online) }
        defer { numa_bitmask_free(mask) }
        guard numa_sched_getaffinity(0, mask) >= 0 else { return Array(0..<online) }
        let cpus = (0..<Int(mask.pointee.size)).filter { numa_bitmask_isbitset(mask, UInt32($0)) != 0 }
        return cpus.isEmpty ? Array(0..<online) : cpus
    }

    /// The topology of this machine, limited to the CPUs this process may use.
    public static func detect() -> Topology { detected }

    private static let detected: Topology = {
        let allowed = allowedCPUs()
        guard numa_available() >= 0 else {
            return Topology(nodes: [Node(id: 0, cpus: allowed)], isReal: false,
                            fallbackReason: "libnuma reports NUMA unavailable (numa_available() < 0); using ordinary aligned allocation")
        }
        var byNode: [Int: [Int]] = [:]
        for cpu in allowed {
            let node = Int(numa_node_of_cpu(Int32(cpu)))
            byNode[max(node, 0), default: []].append(cpu)
        }
        let nodes = byNode.keys.sorted().map { Node(id: $0, cpus: byNode[$0]!) }
        return Topology(nodes: nodes, isReal: true, fallbackReason: nil)
    }()

    /// Total usable CPUs.
    public var cpuCount: Int { nodes.reduce(0) { $0 + $1.cpus.count } }
}
