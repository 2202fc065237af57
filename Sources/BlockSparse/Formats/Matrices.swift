/// Largest value the kernels' 32-bit indices can hold.
let indexLimit = Int(Int32.max)

@inline(__always)
func checkIndexRange(_ field: String, _ value: Int) throws {
    guard value >= 0 else { throw MatrixError.invalidDimension(field: field, value: value) }
    guard value <= indexLimit else { throw MatrixError.indexOverflow(field: field, value: value) }
}

// MARK: - Dense

/// A dense row-major fp32 matrix. Element (i, j) lives at `values[i * ld + j]`;
/// `ld >= cols` is the leading dimension (row stride, in elements).
public struct DenseMatrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    public let ld: Int
    public var values: [Float]

    /// Creates a validated dense matrix; `values` must hold `rows * ld` entries.
    /// - Throws: ``MatrixError`` naming the field at fault.
    public init(rows: Int, cols: Int, ld: Int? = nil, values: [Float]) throws {
        try checkIndexRange("rows", rows)
        try checkIndexRange("cols", cols)
        let ld = ld ?? cols
        guard ld >= cols else { throw MatrixError.leadingDimension(ld: ld, cols: cols) }
        let (count, overflow) = rows.multipliedReportingOverflow(by: ld)
        guard !overflow else { throw MatrixError.indexOverflow(field: "rows * ld", value: Int.max) }
        guard values.count == count else {
            throw MatrixError.countMismatch(field: "values", expected: count, actual: values.count)
        }
        self.rows = rows
        self.cols = cols
        self.ld = ld
        self.values = values
    }

    /// A zero matrix.
    public init(zeros rows: Int, _ cols: Int, ld: Int? = nil) throws {
        let ld = ld ?? cols
        try checkIndexRange("rows", rows)
        try checkIndexRange("cols", cols)
        guard ld >= cols else { throw MatrixError.leadingDimension(ld: ld, cols: cols) }
        try self.init(rows: rows, cols: cols, ld: ld, values: [Float](repeating: 0, count: rows * ld))
    }

    public subscript(row: Int, col: Int) -> Float {
        get { values[row * ld + col] }
        set { values[row * ld + col] = newValue }
    }

    /// Fraction of the logical elements that are exactly zero.
    public var sparsity: Double {
        guard rows * cols > 0 else { return 0 }
        var zeros = 0
        for i in 0..<rows {
            for j in 0..<cols where values[i * ld + j] == 0 { zeros += 1 }
        }
        return Double(zeros) / Double(rows * cols)
    }
}

// MARK: - CSR

/// Compressed Sparse Row, fp32 values and Int32 indices.
///
/// Row `i` holds the entries `rowPointers[i] ..< rowPointers[i + 1]` of
/// `columnIndices` and `values`; column indices are strictly increasing
/// within a row.
public struct CSRMatrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    public let rowPointers: [Int32]
    public let columnIndices: [Int32]
    public let values: [Float]

    /// Creates a validated CSR matrix.
    /// - Throws: ``MatrixError`` naming the field (and row) at fault.
    public init(rows: Int, cols: Int, rowPointers: [Int32], columnIndices: [Int32], values: [Float]) throws {
        try checkIndexRange("rows", rows)
        try checkIndexRange("cols", cols)
        try validateCompressed(rowCount: rows, colLimit: cols, rowPointers: rowPointers,
                               columnIndices: columnIndices)
        guard values.count == columnIndices.count else {
            throw MatrixError.countMismatch(field: "values", expected: columnIndices.count, actual: values.count)
        }
        self.init(unchecked: rows, cols, rowPointers, columnIndices, values)
    }

    /// Builds without validation. Only for trusted code that constructs the
    /// arrays itself (conversions, generators); debug builds still check.
    public init(unchecked rows: Int, _ cols: Int, _ rowPointers: [Int32], _ columnIndices: [Int32], _ values: [Float]) {
        self.rows = rows
        self.cols = cols
        self.rowPointers = rowPointers
        self.columnIndices = columnIndices
        self.values = values
        assert((try? validateCompressed(rowCount: rows, colLimit: cols, rowPointers: rowPointers,
                                        columnIndices: columnIndices)) != nil, "invalid CSR built unchecked")
    }

    /// Number of stored entries.
    public var nonzeros: Int { columnIndices.count }
    /// Fraction of the `rows * cols` elements not stored.
    public var sparsity: Double {
        rows * cols == 0 ? 0 : 1 - Double(nonzeros) / Double(rows * cols)
    }
}

// MARK: - BSR

/// Block Sparse Row with `block.rows x block.cols` blocks, fp32 values and
/// Int32 block indices — the layout the kernels take (see
/// `CKernels/include/kernelbench.h`).
///
/// - Block row `i` covers element rows `i*r ..< min((i+1)*r, rows)`; its blocks
///   are `rowPointers[i] ..< rowPointers[i + 1]`, with strictly increasing
///   block column indices in `columnIndices`.
/// - `values` holds the blocks one after another, each block row-major
///   (`r * c` floats): element (ii, jj) of block p is `values[p*r*c + ii*c + jj]`.
/// - When `r` does not divide `rows` (or `c` does not divide `cols`) the last
///   block row (column) is padded; the logical shape stays `rows x cols` and
///   every padded entry is stored as exactly 0.
public struct BSRMatrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    public let block: BlockShape
    public let rowPointers: [Int32]
    public let columnIndices: [Int32]
    public let values: [Float]

    /// Creates a validated BSR matrix.
    /// - Throws: ``MatrixError`` naming the field (and block row) at fault,
    ///   including non-zero values stored in the padding of edge blocks.
    public init(rows: Int, cols: Int, block: BlockShape, rowPointers: [Int32], columnIndices: [Int32],
                values: [Float]) throws {
        try checkIndexRange("rows", rows)
        try checkIndexRange("cols", cols)
        let mb = block.blockRowCount(rows), kb = block.blockColCount(cols)
        try validateCompressed(rowCount: mb, colLimit: kb, rowPointers: rowPointers, columnIndices: columnIndices)
        let (expected, overflow) = columnIndices.count.multipliedReportingOverflow(by: block.area)
        guard !overflow else { throw MatrixError.indexOverflow(field: "values", value: Int.max) }
        guard values.count == expected else {
            throw MatrixError.countMismatch(field: "values", expected: expected, actual: values.count)
        }
        self.init(unchecked: rows, cols, block, rowPointers, columnIndices, values)
        if let (row, position) = firstNonzeroPadding() {
            throw MatrixError.shapeMismatch(
                "values: block \(position) in block row \(row) stores a non-zero value in edge padding outside the \(rows)x\(cols) matrix")
        }
    }

    /// Builds without validation; only for trusted code. Debug builds check.
    public init(unchecked rows: Int, _ cols: Int, _ block: BlockShape, _ rowPointers: [Int32],
                _ columnIndices: [Int32], _ values: [Float]) {
        self.rows = rows
        self.cols = cols
        self.block = block
        self.rowPointers = rowPointers
        self.columnIndices = columnIndices
        self.values = values
        assert((try? validateCompressed(rowCount: block.blockRowCount(rows), colLimit: block.blockColCount(cols),
                                        rowPointers: rowPointers, columnIndices: columnIndices)) != nil
                   && values.count == columnIndices.count * block.area,
               "invalid BSR built unchecked")
    }

    /// Block rows (`ceil(rows / r)`) and block columns (`ceil(cols / c)`).
    public var blockRowCount: Int { block.blockRowCount(rows) }
    public var blockColCount: Int { block.blockColCount(cols) }
    /// Number of stored blocks.
    public var blockCount: Int { columnIndices.count }
    /// Fraction of the block grid that is not stored.
    public var blockSparsity: Double {
        let total = blockRowCount * blockColCount
        return total == 0 ? 0 : 1 - Double(blockCount) / Double(total)
    }

    /// Logical elements covered by stored blocks (padding excluded): the
    /// "useful" multiply-adds per output column.
    public var storedLogicalElements: Int {
        var total = 0
        let r = block.rows, c = block.cols
        for br in 0..<blockRowCount {
            let h = min(r, rows - br * r)
            for p in Int(rowPointers[br])..<Int(rowPointers[br + 1]) {
                total += h * min(c, cols - Int(columnIndices[p]) * c)
            }
        }
        return total
    }

    private func firstNonzeroPadding() -> (Int, Int)? {
        let r = block.rows, c = block.cols
        guard rows % r != 0 || cols % c != 0 else { return nil }
        for br in 0..<blockRowCount {
            let h = min(r, rows - br * r)
            for p in Int(rowPointers[br])..<Int(rowPointers[br + 1]) {
                let w = min(c, cols - Int(columnIndices[p]) * c)
                if h == r && w == c { continue }
                let base = p * r * c
                for ii in 0..<r {
                    for jj in 0..<c where (ii >= h || jj >= w) && values[base + ii * c + jj] != 0 {
                        return (br, p)
                    }
                }
            }
        }
        return nil
    }
}

/// Validates compressed row pointers and sorted, in-range column indices.
func validateCompressed(rowCount: Int, colLimit: Int, rowPointers: [Int32], columnIndices: [Int32]) throws {
    guard rowPointers.count == rowCount + 1 else {
        throw MatrixError.countMismatch(field: "rowPointers", expected: rowCount + 1, actual: rowPointers.count)
    }
    guard columnIndices.count <= indexLimit else {
        throw MatrixError.indexOverflow(field: "columnIndices.count", value: columnIndices.count)
    }
    guard rowPointers[0] == 0 else { throw MatrixError.rowPointerStart(actual: Int(rowPointers[0])) }
    for row in 0..<rowCount {
        let start = Int(rowPointers[row]), end = Int(rowPointers[row + 1])
        guard end >= start else { throw MatrixError.rowPointerNotMonotone(row: row) }
        guard end <= columnIndices.count else {
            throw MatrixError.rowPointerEnd(expected: columnIndices.count, actual: end)
        }
        var previous = -1
        for p in start..<end {
            let col = Int(columnIndices[p])
            guard col >= 0, col < colLimit else {
                throw MatrixError.columnOutOfRange(row: row, position: p, column: col, limit: colLimit)
            }
            if col == previous { throw MatrixError.duplicateColumn(row: row, position: p, column: col) }
            guard col > previous else { throw MatrixError.columnsUnsorted(row: row, position: p) }
            previous = col
        }
    }
    guard Int(rowPointers[rowCount]) == columnIndices.count else {
        throw MatrixError.rowPointerEnd(expected: columnIndices.count, actual: Int(rowPointers[rowCount]))
    }
}
