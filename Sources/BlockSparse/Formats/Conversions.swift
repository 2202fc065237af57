// Conversions between the three formats. All of them keep the logical shape.

extension CSRMatrix {
    /// The non-zero entries of a dense matrix.
    public init(dense: DenseMatrix) {
        var rowPointers = [Int32](repeating: 0, count: dense.rows + 1)
        var columns: [Int32] = []
        var values: [Float] = []
        for i in 0..<dense.rows {
            for j in 0..<dense.cols {
                let v = dense.values[i * dense.ld + j]
                if v != 0 {
                    columns.append(Int32(j))
                    values.append(v)
                }
            }
            rowPointers[i + 1] = Int32(columns.count)
        }
        self.init(unchecked: dense.rows, dense.cols, rowPointers, columns, values)
    }

    /// The entries of a BSR matrix. Padding is never emitted; explicit zeros
    /// stored inside blocks are dropped unless `keepExplicitZeros` is set.
    public init(bsr: BSRMatrix, keepExplicitZeros: Bool = false) {
        let r = bsr.block.rows, c = bsr.block.cols
        let capacity = bsr.storedLogicalElements
        var rowPointers = [Int32](repeating: 0, count: bsr.rows + 1)
        // Written in place, not appended: appends took most of a large matrix's conversion.
        var values: [Float] = []
        var stored = 0
        let columns = [Int32](unsafeUninitializedCapacity: capacity) { columnBuffer, columnCount in
            values = [Float](unsafeUninitializedCapacity: capacity) { valueBuffer, valueCount in
                for br in 0..<bsr.blockRowCount {
                    let start = Int(bsr.rowPointers[br]), end = Int(bsr.rowPointers[br + 1])
                    for ii in 0..<min(r, bsr.rows - br * r) {
                        let row = br * r + ii
                        for p in start..<end {
                            let col0 = Int(bsr.columnIndices[p]) * c
                            for jj in 0..<min(c, bsr.cols - col0) {
                                let v = bsr.values[p * r * c + ii * c + jj]
                                if v != 0 || keepExplicitZeros {
                                    columnBuffer[stored] = Int32(col0 + jj)
                                    valueBuffer[stored] = v
                                    stored += 1
                                }
                            }
                        }
                        rowPointers[row + 1] = Int32(stored)
                    }
                }
                valueCount = stored
            }
            columnCount = stored
        }
        self.init(unchecked: bsr.rows, bsr.cols, rowPointers, columns, values)
    }
}

/// The result of converting CSR to BSR: the matrix and its fill-in.
public struct BSRConversion: Sendable {
    public let matrix: BSRMatrix
    /// Entries of the source CSR matrix.
    public let sourceNonzeros: Int
    /// Zeros the BSR form stores inside the logical shape to complete blocks
    /// (edge padding outside the matrix is not counted).
    public var fillIn: Int { matrix.storedLogicalElements - sourceNonzeros }
    /// Stored logical elements per source non-zero (1.0 = no fill-in).
    public var fillRatio: Double { sourceNonzeros == 0 ? 1 : Double(matrix.storedLogicalElements) / Double(sourceNonzeros) }
}

extension BSRMatrix {
    /// The blocks of a dense matrix that hold at least one non-zero.
    /// Dimensions that the block does not divide are padded with zeros.
    public init(dense: DenseMatrix, block: BlockShape) {
        let r = block.rows, c = block.cols
        let mb = block.blockRowCount(dense.rows), kb = block.blockColCount(dense.cols)
        var rowPointers = [Int32](repeating: 0, count: mb + 1)
        var columns: [Int32] = []
        var values: [Float] = []
        var tile = [Float](repeating: 0, count: r * c)
        for br in 0..<mb {
            let h = min(r, dense.rows - br * r)
            for bc in 0..<kb {
                let w = min(c, dense.cols - bc * c)
                var any = false
                for ii in 0..<r {
                    for jj in 0..<c {
                        let v: Float = (ii < h && jj < w) ? dense.values[(br * r + ii) * dense.ld + bc * c + jj] : 0
                        tile[ii * c + jj] = v
                        if v != 0 { any = true }
                    }
                }
                if any {
                    columns.append(Int32(bc))
                    values.append(contentsOf: tile)
                }
            }
            rowPointers[br + 1] = Int32(columns.count)
        }
        self.init(unchecked: dense.rows, dense.cols, block, rowPointers, columns, values)
    }

    /// Converts CSR to BSR: every block holding at least one CSR entry is
    /// stored whole, so the result reports its fill-in.
    public static func converting(_ csr: CSRMatrix, block: BlockShape) -> BSRConversion {
        let r = block.rows, c = block.cols
        let mb = block.blockRowCount(csr.rows)
        var rowPointers = [Int32](repeating: 0, count: mb + 1)
        var columns: [Int32] = []
        var values: [Float] = []
        var slot = [Int: Int]()  // block column -> block index within this block row
        for br in 0..<mb {
            slot.removeAll(keepingCapacity: true)
            let rowStart = br * r, rowEnd = min(rowStart + r, csr.rows)
            var present: [Int] = []
            for row in rowStart..<rowEnd {
                for p in Int(csr.rowPointers[row])..<Int(csr.rowPointers[row + 1]) {
                    let bc = Int(csr.columnIndices[p]) / c
                    if slot[bc] == nil {
                        slot[bc] = 0
                        present.append(bc)
                    }
                }
            }
            present.sort()
            let first = columns.count
            for (i, bc) in present.enumerated() {
                slot[bc] = first + i
                columns.append(Int32(bc))
            }
            values.append(contentsOf: repeatElement(0, count: present.count * r * c))
            for row in rowStart..<rowEnd {
                for p in Int(csr.rowPointers[row])..<Int(csr.rowPointers[row + 1]) {
                    let col = Int(csr.columnIndices[p])
                    let index = slot[col / c]!
                    values[index * r * c + (row - rowStart) * c + col % c] = csr.values[p]
                }
            }
            rowPointers[br + 1] = Int32(columns.count)
        }
        let matrix = BSRMatrix(unchecked: csr.rows, csr.cols, block, rowPointers, columns, values)
        return BSRConversion(matrix: matrix, sourceNonzeros: csr.nonzeros)
    }
}

extension DenseMatrix {
    /// The dense form of a BSR matrix (padding dropped).
    public init(bsr: BSRMatrix) {
        let r = bsr.block.rows, c = bsr.block.cols
        var values = [Float](repeating: 0, count: bsr.rows * bsr.cols)
        for br in 0..<bsr.blockRowCount {
            let h = min(r, bsr.rows - br * r)
            for p in Int(bsr.rowPointers[br])..<Int(bsr.rowPointers[br + 1]) {
                let col0 = Int(bsr.columnIndices[p]) * c
                for ii in 0..<h {
                    for jj in 0..<min(c, bsr.cols - col0) {
                        values[(br * r + ii) * bsr.cols + col0 + jj] = bsr.values[p * r * c + ii * c + jj]
                    }
                }
            }
        }
        self.rows = bsr.rows
        self.cols = bsr.cols
        self.ld = bsr.cols
        self.values = values
    }

    /// The dense form of a CSR matrix.
    public init(csr: CSRMatrix) {
        var values = [Float](repeating: 0, count: csr.rows * csr.cols)
        for i in 0..<csr.rows {
            for p in Int(csr.rowPointers[i])..<Int(csr.rowPointers[i + 1]) {
                values[i * csr.cols + Int(csr.columnIndices[p])] = csr.values[p]
            }
        }
        self.rows = csr.rows
        self.cols = csr.cols
        self.ld = csr.cols
        self.values = values
    }
}
