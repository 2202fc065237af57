// Coarse-grained block pruning (Huang et al., "Coarse-Grained Pruning of
// Neural Network Models Based on Blocky Sparse Structure", Entropy 2021).
//
// A weight matrix W (out x in, row-major, the layer computes y = W·x + b) is
// cut into b x b blocks starting at (0, 0); the last block row / column is
// smaller when b does not divide the dimension. Each block gets a score; a
// pruning round removes the lowest-scored fraction of the blocks still alive.

/// How a block is scored. Edge blocks are scored over their real elements only.
public enum BlockScore: String, CaseIterable, Sendable, Codable {
    /// Mean |w| over the block's elements (the paper's criterion).
    case meanAbs = "mean-abs"
    /// L2 norm sqrt(Σ w²) over the block's elements (not size-normalised:
    /// smaller edge blocks score lower than full blocks of the same weights).
    case l2
    /// Largest |w| in the block.
    case maxAbs = "max-abs"
}

/// Which blocks of a weight matrix are still alive.
///
/// Blocks are numbered row-major over the block grid: block (br, bc) is
/// `br * blockColCount + bc` and covers element rows `br*r ..< min((br+1)*r, rows)`
/// and columns `bc*c ..< min((bc+1)*c, cols)`.
public struct BlockMask: Equatable, Sendable, Codable {
    public let rows: Int
    public let cols: Int
    public let block: BlockShape
    /// One flag per block of the grid, row-major.
    public private(set) var alive: [Bool]

    /// A mask with every block alive.
    public init(rows: Int, cols: Int, block: BlockShape) throws {
        try checkIndexRange("rows", rows)
        try checkIndexRange("cols", cols)
        self.rows = rows
        self.cols = cols
        self.block = block
        alive = [Bool](repeating: true, count: block.blockRowCount(rows) * block.blockColCount(cols))
    }

    public var blockRowCount: Int { block.blockRowCount(rows) }
    public var blockColCount: Int { block.blockColCount(cols) }
    /// Blocks in the grid.
    public var blockCount: Int { alive.count }
    public var aliveCount: Int { alive.reduce(0) { $0 + ($1 ? 1 : 0) } }
    public var prunedCount: Int { blockCount - aliveCount }
    /// Fraction of the blocks pruned.
    public var blockSparsity: Double { blockCount == 0 ? 0 : Double(prunedCount) / Double(blockCount) }

    /// The element range of block `index`.
    public func elements(ofBlock index: Int) -> (rows: Range<Int>, cols: Range<Int>) {
        let br = index / blockColCount, bc = index % blockColCount
        return (br * block.rows ..< min((br + 1) * block.rows, rows),
                bc * block.cols ..< min((bc + 1) * block.cols, cols))
    }

    /// Real (non-padding) elements of block `index`.
    public func elementCount(ofBlock index: Int) -> Int {
        let e = elements(ofBlock: index)
        return e.rows.count * e.cols.count
    }

    /// Fraction of the `rows * cols` weights that lie in pruned blocks.
    public var elementSparsity: Double {
        guard rows * cols > 0 else { return 0 }
        var pruned = 0
        for i in alive.indices where !alive[i] { pruned += elementCount(ofBlock: i) }
        return Double(pruned) / Double(rows * cols)
    }

    /// Weights in alive blocks.
    public var aliveElements: Int {
        var count = 0
        for i in alive.indices where alive[i] { count += elementCount(ofBlock: i) }
        return count
    }

    public func isAlive(row: Int, col: Int) -> Bool {
        alive[(row / block.rows) * blockColCount + col / block.cols]
    }

    /// Marks blocks as pruned (already-pruned indices are ignored).
    public mutating func prune(blocks: some Sequence<Int>) {
        for i in blocks { alive[i] = false }
    }

    /// The element mask: `rows * cols` entries, 1 in alive blocks, 0 elsewhere.
    public func elementMask() -> [Float] {
        var mask = [Float](repeating: 0, count: rows * cols)
        for i in alive.indices where alive[i] {
            let e = elements(ofBlock: i)
            for r in e.rows { for c in e.cols { mask[r * cols + c] = 1 } }
        }
        return mask
    }

    /// Sets every weight in a pruned block to exactly zero.
    public func apply(to weights: inout [Float]) {
        precondition(weights.count == rows * cols, "weights do not match the mask's shape")
        for i in alive.indices where !alive[i] {
            let e = elements(ofBlock: i)
            for r in e.rows { for c in e.cols { weights[r * cols + c] = 0 } }
        }
    }

    /// The pruned layer as BSR with this mask's block shape: every alive block
    /// is stored (so the kernels do exactly the work the structure implies),
    /// pruned blocks are not, and edge blocks are zero-padded.
    /// - Throws: ``MatrixError`` when `weights` has the wrong length.
    public func bsr(weights: [Float]) throws -> BSRMatrix {
        guard weights.count == rows * cols else {
            throw MatrixError.countMismatch(field: "weights", expected: rows * cols, actual: weights.count)
        }
        let r = block.rows, c = block.cols, kb = blockColCount
        var rowPointers = [Int32](repeating: 0, count: blockRowCount + 1)
        var columns: [Int32] = []
        var values: [Float] = []
        columns.reserveCapacity(aliveCount)
        values.reserveCapacity(aliveCount * r * c)
        for br in 0..<blockRowCount {
            for bc in 0..<kb where alive[br * kb + bc] {
                columns.append(Int32(bc))
                let base = values.count
                values.append(contentsOf: repeatElement(0, count: r * c))
                for ii in 0..<min(r, rows - br * r) {
                    for jj in 0..<min(c, cols - bc * c) {
                        values[base + ii * c + jj] = weights[(br * r + ii) * cols + bc * c + jj]
                    }
                }
            }
            rowPointers[br + 1] = Int32(columns.count)
        }
        return try BSRMatrix(rows: rows, cols: cols, block: block, rowPointers: rowPointers,
                             columnIndices: columns, values: values)
    }
}

/// Block scoring and the pruning rules.
public enum BlockPruning {
    /// Scores of every block of the grid (alive or not), row-major.
    public static func scores(_ weights: [Float], mask: BlockMask, score: BlockScore = .meanAbs) -> [Double] {
        precondition(weights.count == mask.rows * mask.cols, "weights do not match the mask's shape")
        return (0..<mask.blockCount).map { i in
            let e = mask.elements(ofBlock: i)
            var sum = 0.0, peak = 0.0
            for r in e.rows {
                for c in e.cols {
                    let w = Double(abs(weights[r * mask.cols + c]))
                    switch score {
                    case .meanAbs: sum += w
                    case .l2: sum += w * w
                    case .maxAbs: peak = max(peak, w)
                    }
                }
            }
            let n = Double(max(e.rows.count * e.cols.count, 1))
            switch score {
            case .meanAbs: return sum / n
            case .l2: return sum.squareRoot()
            case .maxAbs: return peak
            }
        }
    }

    /// Blocks one round removes from `alive` blocks at `fraction`: the
    /// fraction rounded to the nearest block, never the last alive block.
    public static func removalCount(fraction: Double, alive: Int) -> Int {
        guard alive > 1, fraction > 0 else { return 0 }
        let count = Int((min(fraction, 1) * Double(alive)).rounded())
        return min(count, alive - 1)
    }

    /// The `count` alive blocks with the lowest scores (ties: lower index first).
    public static func lowest(_ count: Int, of scores: [Double], mask: BlockMask) -> [Int] {
        let candidates = mask.alive.indices.filter { mask.alive[$0] }
        let sorted = candidates.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
        return Array(sorted.prefix(max(0, count)))
    }

    /// One iterative round: removes `fraction` of the still-alive blocks, those
    /// with the lowest scores, and zeroes their weights.
    /// - Returns: the removed block indices.
    @discardableResult
    public static func pruneRound(fraction: Double, weights: inout [Float], mask: inout BlockMask,
                                  score: BlockScore = .meanAbs) -> [Int] {
        let count = removalCount(fraction: fraction, alive: mask.aliveCount)
        let removed = lowest(count, of: scores(weights, mask: mask, score: score), mask: mask)
        mask.prune(blocks: removed)
        mask.apply(to: &weights)
        return removed
    }

    /// A copy of `weights` pruned in one shot to `target` block sparsity of
    /// `block` blocks by `score`, with the mask that says which blocks survive.
    public static func pruned(_ weights: DenseMatrix, block: BlockShape, toSparsity target: Double,
                              score: BlockScore = .meanAbs) throws -> (matrix: DenseMatrix, mask: BlockMask) {
        var values = (0..<weights.rows).flatMap { i in weights.values[(i * weights.ld)..<(i * weights.ld + weights.cols)] }
        var mask = try BlockMask(rows: weights.rows, cols: weights.cols, block: block)
        pruneToSparsity(target, weights: &values, mask: &mask, score: score)
        return (try DenseMatrix(rows: weights.rows, cols: weights.cols, values: values), mask)
    }

    /// One-shot pruning straight to a target block sparsity (fraction of all
    /// blocks of the grid), removing the lowest-scored alive blocks.
    /// - Returns: the removed block indices (none when already there).
    @discardableResult
    public static func pruneToSparsity(_ target: Double, weights: inout [Float], mask: inout BlockMask,
                                       score: BlockScore = .meanAbs) -> [Int] {
        let wanted = Int((min(max(target, 0), 1) * Double(mask.blockCount)).rounded())
        let count = min(max(0, wanted - mask.prunedCount), max(0, mask.aliveCount - 1))
        let removed = lowest(count, of: scores(weights, mask: mask, score: score), mask: mask)
        mask.prune(blocks: removed)
        mask.apply(to: &weights)
        return removed
    }

    /// The random baseline: removes `count` alive blocks chosen uniformly at
    /// random (partial Fisher–Yates over the alive blocks with SplitMix64).
    @discardableResult
    public static func pruneRandom(count: Int, weights: inout [Float], mask: inout BlockMask,
                                   rng: inout SplitMix64) -> [Int] {
        var candidates = mask.alive.indices.filter { mask.alive[$0] }
        let n = min(max(0, count), candidates.count)
        for i in 0..<n {
            let j = i + rng.nextIndex(below: candidates.count - i)
            candidates.swapAt(i, j)
        }
        let removed = Array(candidates.prefix(n))
        mask.prune(blocks: removed)
        mask.apply(to: &weights)
        return removed
    }
}
