import Foundation

/// How stored blocks are spread over the block grid.
public enum BlockDistribution: String, CaseIterable, Sendable, Codable {
    /// Every block equally likely: exactly `round((1 - s) * blocks)` are kept.
    case uniform
    /// Block-row occupancy follows a power law (weights `(rank + 1)^-1.5`
    /// over a random permutation of the block rows), so a few rows are heavy
    /// and many are nearly empty; columns within a row are uniform.
    case powerlaw
    /// Blocks nearest the (scaled) diagonal of each block row.
    case banded
}

/// A request for a seeded block-sparse matrix.
public struct GeneratorSpec: Hashable, Sendable, Codable {
    public var rows: Int
    public var cols: Int
    public var block: BlockShape
    /// Target fraction of the block grid that is empty, in [0, 1].
    public var sparsity: Double
    public var distribution: BlockDistribution
    public var seed: UInt64

    public init(rows: Int, cols: Int, block: BlockShape, sparsity: Double,
                distribution: BlockDistribution = .uniform, seed: UInt64 = 42) {
        self.rows = rows
        self.cols = cols
        self.block = block
        self.sparsity = sparsity
        self.distribution = distribution
        self.seed = seed
    }
}

extension GeneratorSpec {
    /// Blocks the generator keeps: `round((1 - sparsity) * blocks)`.
    var keptBlocks: Int {
        let total = Double(block.blockRowCount(rows)) * Double(block.blockColCount(cols))
        return Int(min(((1 - sparsity) * total).rounded(), Double(Int.max / 2)))
    }

    /// An upper estimate of the bytes ``BSRMatrix/random(_:)`` holds at its
    /// peak for this spec: the per-block-row lists of chosen blocks (one array
    /// per block row, each with its allocation overhead, and its first draw), the sampler's table
    /// (a hash table of up to one entry per kept block for `uniform`, per-row
    /// tables for `powerlaw`), and the BSR arrays. Saturates at `Int.max`.
    public var generatorPeakBytes: Int {
        let mb = Double(block.blockRowCount(rows)), kb = Double(block.blockColCount(cols))
        let keep = Double(keptBlocks)
        let usedRows = min(mb, keep)
        // [[Int]]: 8 bytes per row; a non-empty row is a heap array (32-byte
        // header + malloc overhead, about 48 bytes with its first element) and
        // each further element costs at most 16 bytes with the doubling growth.
        // And 8 bytes per row for where its values' draws start.
        let perRow = 16 * mb + 48 * usedRows + 16 * max(0, keep - usedRows)
        // A hash table of n Int pairs: 16 bytes per bucket, at most 3/4 full,
        // a power of two of buckets; the table being grown also holds the old half.
        func table(_ n: Double) -> Double { n < 1 ? 0 : 24 * exp2(log2(n * 4 / 3).rounded(.up)) }
        let sampler: Double
        switch distribution {
        case .uniform: sampler = table(keep)
        case .powerlaw: sampler = 32 * mb + table(min(kb, keep))  // order, weights, counts, open; one row's table
        case .banded: sampler = 0
        }
        return saturated(perRow + max(sampler, Double(bsrBytes)))
    }

    /// Bytes of the BSR matrix itself: row pointers, column indices and the
    /// blocks' values, padding included.
    package var bsrBytes: Int {
        saturated(BSRMatrix.storageBytes(blockRows: Double(block.blockRowCount(rows)), blocks: Double(keptBlocks),
                                         block: block))
    }

    /// An upper bound on the logical non-zeros of the generated matrix.
    public var maxNonzeros: Int {
        saturated(min(Double(keptBlocks) * Double(block.area), Double(rows) * Double(cols)))
    }

    /// An upper estimate of the peak bytes of generating the matrix and
    /// converting it to CSR (``CSRMatrix/init(bsr:keepExplicitZeros:)``,
    /// while the BSR form is still held), as `kernelbench export` does.
    public var exportPeakBytes: Int {
        let csr = Double(CSRMatrix.conversionPeakBytes(rows: rows, nonzeros: maxNonzeros))
        return saturated(max(Double(generatorPeakBytes), Double(bsrBytes) + csr))
    }
}

extension CSRMatrix {
    /// An upper estimate of the bytes a CSR matrix of `rows` rows and
    /// `nonzeros` entries needs while it is built by appending (as the
    /// conversions do): the row pointers, and the column and value arrays
    /// with their doubling growth (both the old and the new buffer alive
    /// while one of them grows). Saturates at `Int.max`.
    public static func conversionPeakBytes(rows: Int, nonzeros: Int) -> Int {
        saturated(4 * (Double(rows) + 1) + 20 * Double(nonzeros))
    }
}

/// `bytes` as an Int, saturating at `Int.max` (for estimates that may overflow).
package func saturated(_ bytes: Double) -> Int {
    bytes.isNaN || bytes >= Double(Int.max) ? Int.max : Int(max(bytes, 0))
}

extension BSRMatrix {
    /// Bytes of a BSR matrix with `blockRows` block rows and `blocks` stored
    /// blocks: row pointers, column indices and values, edge padding included
    /// (Double: estimates of absurd shapes must not overflow).
    package static func storageBytes(blockRows: Double, blocks: Double, block: BlockShape) -> Double {
        4 * (blockRows + 1) + 4 * blocks + 4 * blocks * Double(block.area)
    }

    /// A seeded random block-sparse matrix: the same spec gives the same
    /// matrix on every machine. Values are uniform in ±[1/64, 1), never zero;
    /// edge-block padding is zero. Check ``blockSparsity`` for what was
    /// achieved (powerlaw rows saturate, so it can differ slightly).
    /// - Throws: ``MatrixError`` for bad dimensions or a sparsity outside [0, 1].
    public static func random(_ spec: GeneratorSpec) throws -> BSRMatrix {
        try checkIndexRange("rows", spec.rows)
        try checkIndexRange("cols", spec.cols)
        guard spec.sparsity >= 0, spec.sparsity <= 1, !spec.sparsity.isNaN else {
            throw MatrixError.shapeMismatch("sparsity must be in [0, 1] (got \(spec.sparsity))")
        }
        let block = spec.block
        let mb = block.blockRowCount(spec.rows), kb = block.blockColCount(spec.cols)
        let total = mb * kb
        let keep = Int(((1 - spec.sparsity) * Double(total)).rounded())
        var rng = SplitMix64(seed: spec.seed)
        let perRow: [[Int]]
        switch spec.distribution {
        case .uniform: perRow = uniformBlocks(mb: mb, kb: kb, keep: keep, rng: &rng)
        case .powerlaw: perRow = powerlawBlocks(mb: mb, kb: kb, keep: keep, rng: &rng)
        case .banded: perRow = bandedBlocks(mb: mb, kb: kb, keep: keep)
        }
        let r = block.rows, c = block.cols
        var rowPointers = [Int32](repeating: 0, count: mb + 1)
        var columns = [Int32](repeating: 0, count: keep)
        // Each in-bounds element takes two draws (``SplitMix64/nextWeight()``),
        // block row by block row: where each block row's draws start.
        var firstDraw = [Int](repeating: 0, count: mb + 1)
        var at = 0
        for br in 0..<mb {
            let h = min(r, spec.rows - br * r)
            var elements = 0
            for bc in perRow[br] {
                columns[at] = Int32(bc)
                at += 1
                elements += h * min(c, spec.cols - bc * c)
            }
            rowPointers[br + 1] = Int32(at)
            firstDraw[br + 1] = firstDraw[br] + 2 * elements
        }
        var values = [Float](repeating: 0, count: keep * r * c)
        // Drawn on every core, each block row from its own place in the stream:
        // the values of one loop (drawing them took most of a large matrix's generation).
        let chunks = keep * r * c < 1 << 16 ? 1 : min(mb, 8 * ProcessInfo.processInfo.activeProcessorCount)
        values.withUnsafeMutableBufferPointer { buffer in
            let values = DrawTarget(values: buffer.baseAddress)
            let (start, rowPointers, columns, firstDraw) = (rng, rowPointers, columns, firstDraw)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                var rng = start
                let first = mb * chunk / chunks, last = mb * (chunk + 1) / chunks
                rng.skip(firstDraw[first])
                var at = Int(rowPointers[first]) * r * c
                for br in first..<last {
                    let h = min(r, spec.rows - br * r)
                    for p in Int(rowPointers[br])..<Int(rowPointers[br + 1]) {
                        let w = min(c, spec.cols - Int(columns[p]) * c)
                        for ii in 0..<r {
                            for jj in 0..<c {
                                if ii < h && jj < w { values.values![at] = rng.nextWeight() }
                                at += 1
                            }
                        }
                    }
                }
            }
        }
        return BSRMatrix(unchecked: spec.rows, spec.cols, block, rowPointers, columns, values)
    }
}

/// Where the threads of ``BSRMatrix/random(_:)`` draw values: disjoint places of one array.
private struct DrawTarget: @unchecked Sendable { let values: UnsafeMutablePointer<Float>? }

/// Exactly `keep` distinct cells of the mb x kb grid (partial Fisher–Yates
/// over a virtual identity permutation: the cells moved so far are held in
/// a dictionary when few are kept, in an array of every cell when many are,
/// where the dictionary took most of a 4096x4096 1x1 matrix's generation).
/// Both hold the same permutation: the same cells for the same draws.
private func uniformBlocks(mb: Int, kb: Int, keep: Int, rng: inout SplitMix64) -> [[Int]] {
    let total = mb * kb
    if keep >= total / 16 && total <= 1 << 26 {
        // (and the picked cells marked in a grid read back in order: no per-row appends and sorts)
        var cells = (0..<UInt32(total)).map { $0 }
        var picked = [Bool](repeating: false, count: total)
        for i in 0..<keep {
            let j = i + rng.nextIndex(below: total - i)
            picked[Int(cells[j])] = true
            cells[j] = cells[i]
        }
        return (0..<mb).map { r in (0..<kb).filter { picked[r * kb + $0] } }
    }
    var swapped = [Int: Int]()
    var rows = [[Int]](repeating: [], count: mb)
    for i in 0..<keep {
        let j = i + rng.nextIndex(below: total - i)
        let cell = swapped[j] ?? j
        swapped[j] = swapped[i] ?? i
        rows[cell / kb].append(cell % kb)
    }
    for i in rows.indices { rows[i].sort() }
    return rows
}

/// Power-law row occupancy: counts proportional to (rank+1)^-1.5 over a
/// random permutation of rows, capped at kb with the overflow handed on.
private func powerlawBlocks(mb: Int, kb: Int, keep: Int, rng: inout SplitMix64) -> [[Int]] {
    guard mb > 0, kb > 0 else { return [[Int]](repeating: [], count: mb) }
    var order = Array(0..<mb)
    for i in stride(from: mb - 1, to: 0, by: -1) { order.swapAt(i, rng.nextIndex(below: i + 1)) }
    let weights = (0..<mb).map { 1 / pow(Double($0 + 1), 1.5) }
    var counts = [Int](repeating: 0, count: mb)
    var remaining = keep
    var open = Array(0..<mb)  // ranks not yet saturated
    while remaining > 0, !open.isEmpty {
        let weightSum = open.reduce(0) { $0 + weights[$1] }
        var assigned = 0
        for rank in open {
            let share = Int((Double(remaining) * weights[rank] / weightSum).rounded(.down))
            let add = min(share, kb - counts[rank])
            counts[rank] += add
            assigned += add
        }
        if assigned == 0 {  // hand out the remainder one by one, heaviest first
            for rank in open where remaining - assigned > 0 && counts[rank] < kb {
                counts[rank] += 1
                assigned += 1
            }
        }
        remaining -= assigned
        open.removeAll { counts[$0] >= kb }
    }
    var rows = [[Int]](repeating: [], count: mb)
    for rank in 0..<mb {
        rows[order[rank]] = Array(uniformBlocks(mb: 1, kb: kb, keep: counts[rank], rng: &rng)[0])
    }
    return rows
}

/// The `keep` cells nearest each row's scaled diagonal, spread evenly over rows.
private func bandedBlocks(mb: Int, kb: Int, keep: Int) -> [[Int]] {
    var rows = [[Int]](repeating: [], count: mb)
    guard mb > 0, kb > 0 else { return rows }
    for br in 0..<mb {
        let count = min(kb, keep / mb + (br < keep % mb ? 1 : 0))
        let centre = mb == 1 ? 0 : Int((Double(br) * Double(kb - 1) / Double(mb - 1)).rounded())
        var start = max(0, centre - count / 2)
        start = min(start, kb - count)
        rows[br] = Array(start..<(start + count))
    }
    return rows
}

extension DenseMatrix {
    /// A seeded dense matrix with entries uniform in ±[1/64, 1).
    public static func random(rows: Int, cols: Int, ld: Int? = nil, seed: UInt64) throws -> DenseMatrix {
        var m = try DenseMatrix(zeros: rows, cols, ld: ld)
        var rng = SplitMix64(seed: seed)
        for i in 0..<rows {
            for j in 0..<cols { m.values[i * m.ld + j] = rng.nextWeight() }
        }
        return m
    }
}

/// The warning for a block sparsity that lands more than one percentage
/// point from its target, or nil when it does not: with few blocks only
/// multiples of 1/blocks exist, and pruning keeps at least one block.
/// `matrix` names it ("a 16x16 matrix", "tensor 'fc1' (300x784)").
public func blockSparsityWarning(target: Double, achieved: Double, blocks: Int, matrix: String, block: BlockShape,
                                 pruned: Bool = false) -> String? {
    guard abs(achieved - target) > 0.01 else { return nil }
    let why = blocks == 0 ? "it has no blocks"
        : pruned && achieved < target ? "pruning keeps at least one of the \(blocks) blocks of \(block) in \(matrix)"
        : blocks < 100 ? "too few blocks: \(matrix) has only \(blocks) block\(blocks == 1 ? "" : "s") of \(block), "
            + String(format: "so its block sparsity moves in steps of %.1f%%", 100 / Double(blocks))
        : "the distribution cannot place the blocks asked for"
    return String(format: "warning: block sparsity achieved %.1f%%, target %.1f%%: ", achieved * 100, target * 100) + why
}
