import Foundation
import CKernels
import Dispatch

/// The sparse operand of a product.
public enum SparseOperand: Sendable {
    case bsr(BSRMatrix)
    case csr(CSRMatrix)

    public var rows: Int { switch self { case .bsr(let a): a.rows; case .csr(let a): a.rows } }
    public var cols: Int { switch self { case .bsr(let a): a.cols; case .csr(let a): a.cols } }
    public var block: BlockShape { switch self { case .bsr(let a): a.block; case .csr: try! BlockShape(square: 1) } }
    var rowPointers: [Int32] { switch self { case .bsr(let a): a.rowPointers; case .csr(let a): a.rowPointers } }
    var columnIndices: [Int32] { switch self { case .bsr(let a): a.columnIndices; case .csr(let a): a.columnIndices } }
    var values: [Float] { switch self { case .bsr(let a): a.values; case .csr(let a): a.values } }
    public var format: SparseFormat { switch self { case .bsr: .bsr; case .csr: .csr } }
}

/// Where B lives when the machine has several nodes.
public enum BPlacement: String, CaseIterable, Sendable, Codable {
    /// One copy of B per node, each first-touched on its node.
    case replicated
    /// One copy of B interleaved page by page over all nodes.
    case interleaved
}

/// Options of the parallel driver.
public struct DriverOptions: Sendable {
    /// Workers; defaults to the CPUs this process may use.
    public var threads: Int
    public var strategy: PartitionStrategy
    /// Balanced plans cut each worker's share into this many contiguous
    /// chunks, handed out (costliest first) as threads become free: a
    /// worker that wakes late, or a core that other work holds for a while,
    /// then costs its share of the chunks, not a whole partition. 4: on the
    /// 2-core VM (8x8 BSR, M = K = 4096, N = 64, 90%), 8 chunks against 2 ran
    /// 0.98-1.68x (median 1.01x, above 1.05x in busy minutes); 16 were
    /// sometimes slower than 2.
    public var chunksPerThread: Int
    /// Nil: replicated when every node's copy fits in a quarter of memory, else interleaved.
    public var bPlacement: BPlacement?
    public var topology: Topology
    /// How products reach the threads: a worker team per session, or one concurrentPerform per product.
    public var runtime: ThreadingRuntime
    /// Seconds a team's idle worker polls for the next product before it sleeps.
    public var spinWindow: Double

    public init(threads: Int? = nil, strategy: PartitionStrategy = .balanced, bPlacement: BPlacement? = nil,
                topology: Topology = .detect(), chunksPerThread: Int = 4, runtime: ThreadingRuntime = .team,
                spinWindow: Double = WorkerTeam.defaultSpinWindow) {
        self.threads = threads ?? topology.cpuCount
        self.strategy = strategy
        self.chunksPerThread = chunksPerThread
        self.bPlacement = bPlacement
        self.topology = topology
        self.runtime = runtime
        self.spinWindow = spinWindow
    }
}

/// Fraction of pages found on their intended node, over all driver buffers.
public struct PlacementReport: Sendable, CustomStringConvertible {
    public let pagesOnIntendedNode: Int
    public let pages: Int
    public var fraction: Double { pages == 0 ? 1 : Double(pagesOnIntendedNode) / Double(pages) }
    public var description: String {
        String(format: "%.1f%% of %d pages on their intended node", fraction * 100, pages)
    }
}

/// A multi-threaded SpMM C = A·B over node-local buffers.
///
/// Construction plans the partitions, allocates each row group's slice of A
/// (row pointers rebased to 0, column indices, values) and its rows of C on
/// the group's node, places B (replicated per node or interleaved), and
/// initialises every buffer from a task pinned to its node (first touch).
/// ``run(accumulate:)`` then runs every partition once, each a call of the
/// registered kernel on its row range and column slice, handed to threads as
/// they become free: on the worker team of the session in progress
/// (``withSession(_:)``), on a team of its own without one, or (runtime
/// `dispatch`) as the iterations of one `DispatchQueue.concurrentPerform`.
/// Within a row the kernel does exactly what the single-threaded call does,
/// so results are bit-identical to it for row-only splits (N splits change
/// only which columns a call sees), whatever the runtime.
public final class ParallelSpMM: @unchecked Sendable {
    public let plan: PartitionPlan
    public let kernel: Kernel
    public let options: DriverOptions
    public let rows: Int
    public let n: Int
    public let bPlacement: BPlacement

    private let ldb: Int
    private let ldc: Int
    private let groups: [Range<Int>]
    private let groupOfPartition: [Int]
    /// Partitions in the order threads take them: costliest first, so the
    /// last ones handed out are the cheapest and a thread that finishes early
    /// waits on less (longest processing time first). On LeNet-300-100's fc1
    /// (300x784, 8x8 at 90%, N = 64: 8 chunks of 3.6-5.9 us) this took 2
    /// threads from 1.65x to 1.73x over one (reports/scaling.md).
    let handOutOrder: [Int]
    private let aRowPointers: [NodeBuffer<Int32>]
    private let aColumns: [NodeBuffer<Int32>]
    private let aValues: [NodeBuffer<Float>]
    private let cRows: [NodeBuffer<Float>]
    private let bCopies: [Int: NodeBuffer<Float>]  // node -> copy (key -1: interleaved)
    private let bsrViews: UnsafeMutablePointer<kb_bsr>
    private let csrViews: UnsafeMutablePointer<kb_csr>
    private let blockRowsPerGroupStart: [Int]

    /// - Throws: ``MatrixError`` when shapes disagree, the kernel does not
    ///   take this operand, or the buffers would not fit in memory.
    public init(_ a: SparseOperand, _ b: DenseMatrix, kernel: Kernel, options: DriverOptions = DriverOptions()) throws {
        guard b.rows == a.cols else {
            throw MatrixError.shapeMismatch("cannot multiply A (\(a.rows)x\(a.cols)) by B (\(b.rows)x\(b.cols))")
        }
        switch a {
        case .bsr(let m) where !kernel.accepts(m.block):
            throw MatrixError.shapeMismatch("kernel \(kernel.name) does not take \(m.block) blocks")
        case .csr where kernel.format != .csr:
            throw MatrixError.shapeMismatch("kernel \(kernel.name) is not a CSR kernel")
        default: break
        }
        let topology = options.topology
        let block = a.block
        n = b.cols
        rows = a.rows
        ldb = b.ld
        ldc = max(n, 1)
        self.kernel = kernel
        self.options = options
        let rowPointers = a.rowPointers
        let plan = PartitionPlan.make(rowCosts: PartitionPlan.rowCosts(rowPointers: rowPointers, block: block, n: n),
                                  n: n, workers: max(1, options.threads), strategy: options.strategy,
                                  topology: topology, chunksPerWorker: options.chunksPerThread)
        let groups = plan.rowGroups
        let groupOfPartition = plan.partitions.map { p in groups.firstIndex(of: p.blockRows)! }
        self.plan = plan
        self.groups = groups
        self.groupOfPartition = groupOfPartition
        handOutOrder = plan.partitions.indices.sorted {
            (-plan.partitions[$0].cost, $0) < (-plan.partitions[$1].cost, $1)
        }

        // Memory check before allocating: A slices + C + B copies.
        let nodeCount = Set(plan.partitions.map(\.node)).count
        let bBytes = b.values.count * 4
        let placement = options.bPlacement ?? (bBytes * nodeCount <= availableMemory() / 4 ? .replicated : .interleaved)
        bPlacement = placement
        let needed = a.values.count * 4 + a.columnIndices.count * 4 + rowPointers.count * 4 * 2
            + rows * ldc * 4 + bBytes * (placement == .replicated ? nodeCount : 1)
        try checkMemory(needed, what: "the parallel driver's buffers")

        let r = block.rows
        var rp: [NodeBuffer<Int32>] = [], ci: [NodeBuffer<Int32>] = [], vals: [NodeBuffer<Float>] = []
        var cs: [NodeBuffer<Float>] = [], starts: [Int] = []
        for (g, range) in groups.enumerated() {
            let node = plan.partitions[groupOfPartition.firstIndex(of: g)!].node
            let first = Int(rowPointers[range.lowerBound]), last = Int(rowPointers[range.upperBound])
            rp.append(NodeBuffer(count: range.count + 1, node: node, topology: topology))
            ci.append(NodeBuffer(count: last - first, node: node, topology: topology))
            vals.append(NodeBuffer(count: (last - first) * block.area, node: node, topology: topology))
            let rowCount = max(0, min(range.upperBound * r, rows) - range.lowerBound * r)
            cs.append(NodeBuffer(count: rowCount * ldc, node: node, topology: topology))
            starts.append(range.lowerBound * r)
        }
        aRowPointers = rp
        aColumns = ci
        aValues = vals
        cRows = cs
        blockRowsPerGroupStart = starts
        var copies: [Int: NodeBuffer<Float>] = [:]
        if placement == .replicated {
            for node in Set(plan.partitions.map(\.node)).sorted() {
                copies[node] = NodeBuffer(count: b.values.count, node: node, topology: topology)
            }
        } else {
            copies[-1] = NodeBuffer(count: b.values.count, node: nil, topology: topology)
        }
        bCopies = copies
        bsrViews = .allocate(capacity: max(1, groups.count))
        csrViews = .allocate(capacity: max(1, groups.count))

        // First touch: each group's buffers are written from a task pinned to its node.
        let source = (rowPointers, a.columnIndices, a.values)
        let area = block.area
        let groupNodes = groups.indices.map { g in plan.partitions[groupOfPartition.firstIndex(of: g)!].node }
        let (rowGroups, rpL, ciL, valsL, csL) = (groups, rp, ci, vals, cs)
        DispatchQueue.concurrentPerform(iterations: rowGroups.count) { g in
            onNode(groupNodes[g], topology: topology) {
                let (rp, ci, vals, cs) = (rpL, ciL, valsL, csL)
                let range = rowGroups[g]
                let base = source.0[range.lowerBound]
                for i in 0...range.count { rp[g].pointer[i] = source.0[range.lowerBound + i] - base }
                let first = Int(base)
                for j in 0..<ci[g].count { ci[g].pointer[j] = source.1[first + j] }
                for j in 0..<vals[g].count { vals[g].pointer[j] = source.2[first * area + j] }
                cs[g].buffer.initialize(repeating: 0)
            }
        }
        let copyList = Array(copies)
        DispatchQueue.concurrentPerform(iterations: copyList.count) { i in
            let (node, copy) = copyList[i]
            onNode(max(node, 0), topology: topology) {
                _ = copy.buffer.initialize(from: b.values)
            }
        }
        for (g, range) in groups.enumerated() {
            let rowCount = max(0, min(range.upperBound * r, rows) - range.lowerBound * r)
            bsrViews[g] = kb_bsr(m: Int32(rowCount), k: Int32(a.cols), r: Int32(block.rows), c: Int32(block.cols),
                                 mb: Int32(range.count), kb: Int32(block.blockColCount(a.cols)),
                                 row_ptr: rp[g].pointer, col_idx: ci[g].pointer, values: vals[g].pointer)
            csrViews[g] = kb_csr(m: Int32(rowCount), k: Int32(a.cols), row_ptr: rp[g].pointer,
                                 col_idx: ci[g].pointer, values: vals[g].pointer)
        }
    }

    deinit {
        bsrViews.deallocate()
        csrViews.deallocate()
    }

    /// Number of partitions (concurrentPerform iterations per run).
    public var partitionCount: Int { plan.partitions.count }

    /// The serial fallback: a product whose single-thread time is under 10x
    /// what the runtime costs a product beyond its work
    /// (``ForkJoinCost/beyondIdeal``) runs on one thread, so a small problem
    /// is never slower with more threads. Returns the thread count to use
    /// and, when it falls back, why.
    public static func threadsWorthUsing(_ threads: Int, serialSeconds: Double, forkJoinOverhead: Double,
                                         runtime: ThreadingRuntime) -> (threads: Int, serialReason: String?) {
        guard threads > 1, serialSeconds < 10 * forkJoinOverhead else { return (threads, nil) }
        return (1, String(format: "serial (work %.1f us < 10 x %@ fork/join %.1f us)",
                          serialSeconds * 1e6, runtime.rawValue, forkJoinOverhead * 1e6))
    }

    /// Computes one product (C = A·B, or C += A·B), every partition once; a
    /// single partition runs on the calling thread.
    public func run(accumulate: Bool = false) {
        forEachPartition { self.runPartition($0, accumulate: accumulate) }
    }

    /// The team of the session in progress: set and read by the thread that
    /// runs the session's body, checked by the caller before a session (the
    /// session's start and end order the two).
    private var sessionTeam: WorkerTeam?

    /// Runs `body`, whose products (``run(accumulate:)``) go to one worker
    /// team kept for its whole duration: a case's warm-up and timed calls pay
    /// about a microsecond per product instead of a concurrentPerform each.
    /// The team ends, its workers returned, when `body` returns or throws.
    /// Without a team to keep (runtime `dispatch`, one partition, or a
    /// session already in progress) `body` just runs.
    public func withSession<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        guard options.runtime == .team, partitionCount > 1, sessionTeam == nil else { return try body() }
        return try WorkerTeam.withTeam(threads: teamThreads, spinWindow: options.spinWindow) { (team) throws(E) -> R in
            sessionTeam = team
            defer { sessionTeam = nil }
            return try body()
        }
    }

    /// Threads a team of this driver needs: no more than there are partitions.
    private var teamThreads: Int { max(1, min(options.threads, partitionCount)) }

    /// Runs `body` for every partition on the runtime's threads; a single
    /// partition on the calling thread.
    private func forEachPartition(_ body: @escaping @Sendable (Int) -> Void) {
        let count = plan.partitions.count
        if count == 1 { return body(0) }
        let order = handOutOrder
        let task: @Sendable (Int) -> Void = { body(order[$0]) }
        switch options.runtime {
        case .dispatch:
            DispatchQueue.concurrentPerform(iterations: count, execute: task)
        case .team:
            if let team = sessionTeam { return team.run(tasks: count, task) }
            WorkerTeam.withTeam(threads: teamThreads, spinWindow: options.spinWindow) { $0.run(tasks: count, task) }
        }
    }

    /// One partition's execution inside a traced run.
    public struct PartitionTrace: Sendable {
        public let partition: Int
        /// The thread that ran it (its pthread identity).
        public let thread: Int
        /// Seconds from the start of the run to the partition's start and end.
        public let start: Double
        public let end: Double
    }

    /// Runs once like ``run(accumulate:)`` and returns when and on which
    /// thread each partition ran: where the time of a threaded run goes
    /// (late workers, one thread running several partitions, imbalance).
    public func runTraced(accumulate: Bool = false) -> (seconds: Double, partitions: [PartitionTrace]) {
        let traces = UnsafeMutableBufferPointer<PartitionTrace>.allocate(capacity: plan.partitions.count)
        defer { traces.deallocate() }
        nonisolated(unsafe) let slots = traces  // each iteration writes only its own slot
        let t0 = monotonicNanoseconds()
        forEachPartition { p in
            let start = monotonicNanoseconds()
            self.runPartition(p, accumulate: accumulate)
            let end = monotonicNanoseconds()
            slots[p] = PartitionTrace(partition: p, thread: Int(bitPattern: UInt(pthread_self())),
                                      start: Double(start - t0) * 1e-9, end: Double(end - t0) * 1e-9)
        }
        let seconds = Double(monotonicNanoseconds() - t0) * 1e-9
        return (seconds, Array(traces))
    }

    /// Runs one partition alone on the calling thread (to compare its time
    /// alone with its time beside the others).
    public func runPartitionAlone(_ p: Int, accumulate: Bool = false) {
        runPartition(p, accumulate: accumulate)
    }

    private func runPartition(_ p: Int, accumulate: Bool) {
        let part = plan.partitions[p]
        let g = groupOfPartition[p]
        guard part.blockRows.count > 0, part.columns.count > 0 else { return }
        let b = (bCopies[part.node] ?? bCopies[-1]!).pointer + part.columns.lowerBound
        let c = cRows[g].pointer + part.columns.lowerBound
        let nc = Int32(part.columns.count)
        let acc: Int32 = accumulate ? 1 : 0
        onNode(part.node, topology: options.topology) {
            if kernel.format == .csr {
                kernel.info.pointee.csr(csrViews + g, 0, csrViews[g].m, b, Int64(ldb), c, Int64(ldc), nc, acc)
            } else {
                kernel.info.pointee.bsr(bsrViews + g, 0, bsrViews[g].mb, b, Int64(ldb), c, Int64(ldc), nc, acc)
            }
        }
    }

    /// The current C gathered into one dense matrix.
    public func result() -> DenseMatrix {
        var c = try! DenseMatrix(zeros: rows, n)
        for (g, start) in blockRowsPerGroupStart.enumerated() {
            let buffer = cRows[g]
            for i in 0..<(buffer.count / ldc) {
                for j in 0..<n { c.values[(start + i) * n + j] = buffer.pointer[i * ldc + j] }
            }
        }
        return c
    }

    /// Overwrites C with `initial` (for accumulate runs).
    public func setC(_ initial: DenseMatrix) {
        precondition(initial.rows == rows && initial.cols == n, "C shape")
        for (g, start) in blockRowsPerGroupStart.enumerated() {
            let buffer = cRows[g]
            for i in 0..<(buffer.count / ldc) {
                for j in 0..<n { buffer.pointer[i * ldc + j] = initial.values[(start + i) * initial.ld + j] }
            }
        }
    }

    /// Where the buffers' pages actually are (`move_pages` query); nil when
    /// placement is not real (no libnuma, or a fake topology).
    public func placement() -> PlacementReport? {
        guard options.topology.isReal else { return nil }
        var on = 0, total = 0
        for (g, _) in groups.enumerated() {
            let node = plan.partitions[groupOfPartition.firstIndex(of: g)!].node
            for result in [aRowPointers[g].placement(expected: node), aColumns[g].placement(expected: node),
                           aValues[g].placement(expected: node), cRows[g].placement(expected: node)] {
                guard let result else { return nil }
                on += result.onNode
                total += result.pages
            }
        }
        for (node, copy) in bCopies where node >= 0 {
            guard let result = copy.placement(expected: node) else { return nil }
            on += result.onNode
            total += result.pages
        }
        return PlacementReport(pagesOnIntendedNode: on, pages: total)
    }

    /// Buffer ownership for tests: (what, node) for every node-local buffer.
    var bufferNodes: [(String, Int?)] {
        var list: [(String, Int?)] = []
        for g in groups.indices {
            list.append(("A[\(g)]", aValues[g].node))
            list.append(("C[\(g)]", cRows[g].node))
        }
        for (_, copy) in bCopies.sorted(by: { $0.key < $1.key }) { list.append(("B", copy.node)) }
        return list
    }
}
