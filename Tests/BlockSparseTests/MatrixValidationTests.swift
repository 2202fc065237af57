import Testing
@testable import BlockSparse
import TestSupport

@Suite struct MatrixValidationTests {
    let s2 = shape(2, 2)

    @Test func validCSRAndBSRBuild() throws {
        let csr = try CSRMatrix(rows: 2, cols: 3, rowPointers: [0, 2, 3], columnIndices: [0, 2, 1], values: [1, 2, 3])
        #expect(csr.nonzeros == 3)
        let bsr = try BSRMatrix(rows: 3, cols: 3, block: s2, rowPointers: [0, 1, 2], columnIndices: [1, 0],
                                values: [1, 0, 2, 0, 3, 4, 0, 0])
        #expect(bsr.blockCount == 2)
        #expect(bsr.blockRowCount == 2 && bsr.blockColCount == 2)
    }

    @Test func rowPointerErrors() {
        #expect(throws: MatrixError.rowPointerStart(actual: 1)) {
            try CSRMatrix(rows: 1, cols: 2, rowPointers: [1, 1], columnIndices: [0], values: [1])
        }
        #expect(throws: MatrixError.rowPointerNotMonotone(row: 1)) {
            try CSRMatrix(rows: 2, cols: 2, rowPointers: [0, 2, 1], columnIndices: [0, 1], values: [1, 2])
        }
        #expect(throws: MatrixError.rowPointerEnd(expected: 2, actual: 1)) {
            try CSRMatrix(rows: 1, cols: 2, rowPointers: [0, 1], columnIndices: [0, 1], values: [1, 2])
        }
        #expect(throws: MatrixError.countMismatch(field: "rowPointers", expected: 3, actual: 2)) {
            try CSRMatrix(rows: 2, cols: 2, rowPointers: [0, 1], columnIndices: [0], values: [1])
        }
        #expect(throws: MatrixError.rowPointerEnd(expected: 1, actual: 3)) {
            try CSRMatrix(rows: 2, cols: 2, rowPointers: [0, 3, 3], columnIndices: [0], values: [1])
        }
    }

    @Test func columnErrors() {
        #expect(throws: MatrixError.columnOutOfRange(row: 0, position: 1, column: 2, limit: 2)) {
            try CSRMatrix(rows: 1, cols: 2, rowPointers: [0, 2], columnIndices: [0, 2], values: [1, 2])
        }
        #expect(throws: MatrixError.columnOutOfRange(row: 0, position: 0, column: -1, limit: 2)) {
            try CSRMatrix(rows: 1, cols: 2, rowPointers: [0, 1], columnIndices: [-1], values: [1])
        }
        #expect(throws: MatrixError.columnsUnsorted(row: 1, position: 2)) {
            try CSRMatrix(rows: 2, cols: 3, rowPointers: [0, 1, 3], columnIndices: [0, 2, 1], values: [1, 2, 3])
        }
        #expect(throws: MatrixError.duplicateColumn(row: 0, position: 1, column: 1)) {
            try CSRMatrix(rows: 1, cols: 3, rowPointers: [0, 2], columnIndices: [1, 1], values: [1, 2])
        }
        // BSR column limit counts blocks: 5 columns with 2-wide blocks = 3 block columns.
        #expect(throws: MatrixError.columnOutOfRange(row: 0, position: 0, column: 3, limit: 3)) {
            try BSRMatrix(rows: 2, cols: 5, block: s2, rowPointers: [0, 1], columnIndices: [3], values: [0, 0, 0, 0])
        }
    }

    @Test func valueCountAndDimensionErrors() {
        #expect(throws: MatrixError.countMismatch(field: "values", expected: 1, actual: 2)) {
            try CSRMatrix(rows: 1, cols: 2, rowPointers: [0, 1], columnIndices: [0], values: [1, 2])
        }
        #expect(throws: MatrixError.countMismatch(field: "values", expected: 4, actual: 3)) {
            try BSRMatrix(rows: 2, cols: 2, block: s2, rowPointers: [0, 1], columnIndices: [0], values: [1, 2, 3])
        }
        #expect(throws: MatrixError.invalidDimension(field: "rows", value: -1)) {
            try CSRMatrix(rows: -1, cols: 2, rowPointers: [0], columnIndices: [], values: [])
        }
        #expect(throws: MatrixError.indexOverflow(field: "cols", value: Int(Int32.max) + 1)) {
            try CSRMatrix(rows: 0, cols: Int(Int32.max) + 1, rowPointers: [0], columnIndices: [], values: [])
        }
        #expect(throws: MatrixError.invalidBlockShape(rows: 0, cols: 4)) { try BlockShape(rows: 0, cols: 4) }
        #expect(throws: MatrixError.leadingDimension(ld: 2, cols: 3)) {
            try DenseMatrix(rows: 1, cols: 3, ld: 2, values: [1, 2])
        }
        #expect(throws: MatrixError.countMismatch(field: "values", expected: 6, actual: 5)) {
            try DenseMatrix(rows: 2, cols: 3, values: [1, 2, 3, 4, 5])
        }
    }

    @Test func bsrRowPointerCountMustMatchBlockRows() {
        // 5 rows with 2-row blocks = 3 block rows = 4 row pointers.
        #expect(throws: MatrixError.countMismatch(field: "rowPointers", expected: 4, actual: 3)) {
            try BSRMatrix(rows: 5, cols: 2, block: s2, rowPointers: [0, 0, 0], columnIndices: [], values: [])
        }
    }

    @Test func nonzeroPaddingRejected() {
        // 3x3 with 2x2 blocks: block (1,1) covers only element (2,2); the rest is padding.
        #expect(throws: MatrixError.self) {
            try BSRMatrix(rows: 3, cols: 3, block: s2, rowPointers: [0, 0, 1], columnIndices: [1],
                          values: [5, 1, 0, 0])
        }
    }

    @Test func blockShapeParsing() {
        #expect(BlockShape(parsing: "8") == shape(8, 8))
        #expect(BlockShape(parsing: "4x1") == shape(4, 1))
        #expect(BlockShape(parsing: "16X1") == shape(16, 1))
        #expect(BlockShape(parsing: "0") == nil)
        #expect(BlockShape(parsing: "x4") == nil)
        #expect(BlockShape(parsing: "4x4x4") == nil)
        #expect(BlockShape(parsing: "-2") == nil)
    }

    @Test func errorMessagesNameTheField() {
        let e = MatrixError.columnOutOfRange(row: 3, position: 7, column: 9, limit: 4)
        #expect(e.description.contains("columnIndices[7]"))
        #expect(e.description.contains("row 3"))
        #expect(MatrixError.tooLarge(what: "A", bytes: 3 << 30, available: 1 << 30).description.contains("3.0 GiB"))
    }
}
