/// How block rows are split among workers.
public enum PartitionStrategy: String, CaseIterable, Sendable, Codable {
    /// Contiguous ranges of equal estimated cost (nonzero blocks x block area
    /// x N, plus a per-row overhead), with an N split when a few heavy block
    /// rows would otherwise leave workers idle.
    case balanced
    /// Contiguous ranges of equal block-row counts (the naive split, kept for
    /// comparison).
    case equalRows = "equal-rows"
}

/// One unit of parallel work: a contiguous range of block rows times a
/// contiguous range of output columns, owned by one NUMA node.
public struct Partition: Sendable, Equatable, CustomStringConvertible {
    public var blockRows: Range<Int>
    public var columns: Range<Int>
    public var node: Int
    /// Estimated cost in multiply-adds (plus row overhead).
    public var cost: Double

    public var description: String {
        "rows \(blockRows.lowerBound)..<\(blockRows.upperBound) cols \(columns.lowerBound)..<\(columns.upperBound) node \(node)"
    }
}

/// The split of one product into partitions.
public struct PartitionPlan: Sendable, Equatable {
    public let partitions: [Partition]
    public let strategy: PartitionStrategy
    /// Number of slices along N (1 when only rows are split).
    public let columnSlices: Int

    /// Estimated cost of each block row: stored blocks x block area x n, plus
    /// an overhead for writing the row's C tile and entering the row.
    public static func rowCosts(rowPointers: [Int32], block: BlockShape, n: Int) -> [Double] {
        let perBlock = Double(block.area * max(n, 1))
        let rowOverhead = Double(block.rows * max(n, 1)) + 64
        return (0..<(rowPointers.count - 1)).map {
            Double(rowPointers[$0 + 1] - rowPointers[$0]) * perBlock + rowOverhead
        }
    }

    /// Plans the partitions of a product for `workers` threads, whose block
    /// rows cost `rowCosts` and whose output has `n` columns, on `topology`'s
    /// nodes.
    ///
    /// - Balanced: if the heaviest block row alone costs more than 1.25x a
    ///   worker's fair share, N is split (in halves, keeping slices at least 8
    ///   columns wide) until it does not or every worker has a slice; then the
    ///   rows are cut into `chunksPerWorker` contiguous ranges per worker (one
    ///   range for a single worker) whose prefix costs are closest to equal
    ///   shares. The driver hands the chunks out, costliest first, as
    ///   threads ask for them, so a worker that starts late or shares its
    ///   core with other work takes fewer of them.
    /// - Equal rows: one contiguous range of equal row count per worker.
    /// - Partitions are assigned to nodes in contiguous groups, proportionally
    ///   to each node's CPU count, so a node's partitions touch adjacent rows.
    public static func make(rowCosts: [Double], n: Int, workers: Int, strategy: PartitionStrategy,
                            topology: Topology, chunksPerWorker: Int = 1) -> PartitionPlan {
        let workers = max(1, workers)
        let total = rowCosts.reduce(0, +)
        var slices = 1
        if strategy == .balanced, let heaviest = rowCosts.max(), total > 0 {
            while slices < workers, n / (slices * 2) >= 8,
                  heaviest > 1.25 * total / Double(workers / slices) {
                slices *= 2
            }
        }
        // A single worker gets one range: more would make the driver fan out to threads it was not given.
        let chunks = strategy == .balanced && workers > 1 ? max(1, chunksPerWorker) : 1
        let rowParts = max(1, (workers + slices - 1) / slices) * chunks
        let rowRanges: [Range<Int>]
        switch strategy {
        case .equalRows: rowRanges = equalSplit(count: rowCosts.count, parts: rowParts)
        case .balanced: rowRanges = costSplit(rowCosts, parts: rowParts)
        }
        let columnRanges = equalSplit(count: n, parts: slices, multipleOf: 8)
        let nodeOf = nodeAssignment(parts: rowRanges.count, topology: topology)
        var partitions: [Partition] = []
        for (g, rows) in rowRanges.enumerated() {
            let rowCost = rowCosts[rows].reduce(0, +)
            for cols in columnRanges {
                let share = n == 0 ? 1 : Double(cols.count) / Double(n)
                partitions.append(Partition(blockRows: rows, columns: cols, node: nodeOf[g], cost: rowCost * share))
            }
        }
        return PartitionPlan(partitions: partitions, strategy: strategy, columnSlices: columnRanges.count)
    }

    /// Largest partition cost over the mean: 1.0 is perfect balance.
    public var imbalance: Double {
        let costs = partitions.map(\.cost)
        guard let worst = costs.max(), !costs.isEmpty else { return 1 }
        let mean = costs.reduce(0, +) / Double(costs.count)
        return mean > 0 ? worst / mean : 1
    }

    /// Distinct row ranges, in order (several partitions share one under an N split).
    var rowGroups: [Range<Int>] {
        var groups: [Range<Int>] = []
        for p in partitions where groups.last != p.blockRows { groups.append(p.blockRows) }
        return groups
    }

    static func equalSplit(count: Int, parts: Int, multipleOf unit: Int = 1) -> [Range<Int>] {
        let units = (count + unit - 1) / unit
        let parts = max(1, min(parts, max(units, 1)))
        return (0..<parts).map { p in
            let lo = min(count, (units * p / parts) * unit), hi = min(count, (units * (p + 1) / parts) * unit)
            return lo..<hi
        }
    }

    /// Contiguous ranges whose cumulative cost is closest to k/parts of the total.
    static func costSplit(_ costs: [Double], parts: Int) -> [Range<Int>] {
        let total = costs.reduce(0, +)
        var cuts = [0]
        var prefix = 0.0, row = 0
        for k in 1..<max(parts, 1) {
            let target = total * Double(k) / Double(parts)
            while row < costs.count, prefix + costs[row] <= target {
                prefix += costs[row]
                row += 1
            }
            // Take the straddling row too when that lands closer to the target.
            if row < costs.count, (prefix + costs[row] - target) < (target - prefix) {
                prefix += costs[row]
                row += 1
            }
            cuts.append(max(row, cuts.last!))
        }
        cuts.append(costs.count)
        return (0..<(cuts.count - 1)).map { cuts[$0]..<cuts[$0 + 1] }
    }

    static func nodeAssignment(parts: Int, topology: Topology) -> [Int] {
        let nodes = topology.nodes.isEmpty ? [Topology.Node(id: 0, cpus: [0])] : topology.nodes
        let cpuTotal = max(1, nodes.reduce(0) { $0 + $1.cpus.count })
        var result: [Int] = []
        var cumulative = 0
        for node in nodes {
            cumulative += node.cpus.count
            let upTo = (parts * cumulative + cpuTotal - 1) / cpuTotal
            while result.count < min(upTo, parts) { result.append(node.id) }
        }
        while result.count < parts { result.append(nodes.last!.id) }
        return result
    }
}
