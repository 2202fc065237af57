import CNuma
#if canImport(Glibc)
import Glibc
#endif

/// A typed buffer meant to live on one NUMA node (or interleaved over all).
///
/// With a real topology it comes from `numa_alloc_onnode` /
/// `numa_alloc_interleaved` (page-aligned, untouched until first written, so
/// the first touch decides placement); otherwise from `posix_memalign`
/// (64-byte aligned). The pages are placed when the driver first writes them
/// from a task pinned to `node`.
final class NodeBuffer<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int
    /// Intended node; nil for interleaved.
    let node: Int?
    private let bytes: Int
    private let numaAllocated: Bool

    init(count: Int, node: Int?, topology: Topology) {
        self.count = count
        self.node = node
        bytes = max(1, count) * MemoryLayout<Element>.stride
        let bytes = self.bytes
        var raw: UnsafeMutableRawPointer?
        if topology.isReal {
            raw = node.map { numa_alloc_onnode(bytes, Int32($0)) } ?? numa_alloc_interleaved(bytes)
        }
        if raw != nil {
            numaAllocated = true
        } else {
            numaAllocated = false
            guard posix_memalign(&raw, 64, bytes) == 0, raw != nil else {
                fatalError("out of memory allocating \(formatBytes(bytes))")  // sizes were checked before planning
            }
        }
        pointer = raw!.bindMemory(to: Element.self, capacity: max(1, count))
    }

    deinit {
        if numaAllocated { numa_free(pointer, bytes) } else { free(pointer) }
    }

    var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    /// Pages of this buffer that sit on `node` and pages queried, via
    /// `move_pages` with no target nodes (a query). Nil when unavailable.
    func placement(expected: Int) -> (onNode: Int, pages: Int)? {
        guard numaAllocated else { return nil }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = UInt(bitPattern: pointer) & ~UInt(pageSize - 1)
        let end = UInt(bitPattern: pointer) + UInt(bytes)
        let pageCount = Int((end - start + UInt(pageSize) - 1) / UInt(pageSize))
        var pages = (0..<pageCount).map { UnsafeMutableRawPointer(bitPattern: start + UInt($0 * pageSize)) }
        var status = [Int32](repeating: -1, count: pageCount)
        let rc = pages.withUnsafeMutableBufferPointer { p in
            status.withUnsafeMutableBufferPointer { s in
                numa_move_pages(0, UInt(pageCount), p.baseAddress, nil, s.baseAddress, 0)
            }
        }
        guard rc == 0 else { return nil }
        return (status.filter { $0 == Int32(expected) }.count, pageCount)
    }
}

/// Runs `body` pinned to `node` (when placement is real and the machine has
/// more than one node), restoring the thread's previous affinity afterwards:
/// pool threads are reused, so a pin must not outlive the task.
func onNode<R>(_ node: Int, topology: Topology, _ body: () throws -> R) rethrows -> R {
    guard topology.isReal, topology.nodes.count > 1 else { return try body() }
    let saved = numa_allocate_cpumask()!
    defer { numa_bitmask_free(saved) }
    let hadMask = numa_sched_getaffinity(0, saved) >= 0
    numa_run_on_node(Int32(node))
    defer { if hadMask { _ = numa_sched_setaffinity(0, saved) } }
    return try body()
}
