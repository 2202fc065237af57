import Testing
@testable import BlockSparse
import TestSupport

@Suite struct ConversionTests {
    static let shapes: [(Int, Int, Int, Int)] = [
        (16, 16, 4, 4), (37, 53, 4, 4), (30, 17, 8, 8), (9, 7, 1, 4), (13, 5, 4, 1), (33, 40, 16, 1), (5, 5, 8, 8),
        (1, 1, 2, 2), (0, 4, 2, 2), (4, 0, 2, 2),
    ]

    @Test(arguments: shapes)
    func roundTrips(_ dims: (Int, Int, Int, Int)) throws {
        let (m, k, r, c) = dims
        for sparsity in [0.0, 0.5, 0.9, 1.0] {
            let bsr = randomBSR(m, k, r, c, sparsity: sparsity, seed: UInt64(m * 31 + k))
            let dense = DenseMatrix(bsr: bsr)
            // dense -> BSR reproduces the same blocks (generated values are never zero).
            #expect(BSRMatrix(dense: dense, block: bsr.block) == bsr)
            let csr = CSRMatrix(bsr: bsr)
            #expect(DenseMatrix(csr: csr) == dense)
            #expect(CSRMatrix(dense: dense) == csr)
            let back = BSRMatrix.converting(csr, block: bsr.block)
            #expect(back.matrix == bsr)
            #expect(back.fillIn == 0)
            #expect(csr.nonzeros == bsr.storedLogicalElements)
        }
    }

    @Test func fillInIsReported() throws {
        // Two entries in one 4x4 block: 16 stored, 14 of them explicit zeros.
        let csr = try CSRMatrix(rows: 4, cols: 4, rowPointers: [0, 1, 1, 2, 2], columnIndices: [0, 3], values: [1, 2])
        let conversion = BSRMatrix.converting(csr, block: shape(4, 4))
        #expect(conversion.matrix.blockCount == 1)
        #expect(conversion.fillIn == 14)
        #expect(conversion.fillRatio == 8)
        // An edge block only counts its logical elements: 3x3 matrix, 2x2 blocks.
        let edge = try CSRMatrix(rows: 3, cols: 3, rowPointers: [0, 0, 0, 1], columnIndices: [2], values: [7])
        let e = BSRMatrix.converting(edge, block: shape(2, 2))
        #expect(e.fillIn == 0)
        #expect(e.matrix.values == [7, 0, 0, 0])
        #expect(CSRMatrix(bsr: e.matrix) == edge)
    }

    @Test func emptyRowsSurvive() throws {
        let dense = try DenseMatrix(rows: 4, cols: 3, values: [0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 3, 0])
        let csr = CSRMatrix(dense: dense)
        #expect(csr.rowPointers == [0, 0, 2, 2, 3])
        let bsr = BSRMatrix(dense: dense, block: shape(2, 2))
        #expect(DenseMatrix(bsr: bsr) == dense)
        #expect(bsr.rowPointers == [0, 2, 3])
    }

    @Test func explicitZerosCanBeKept() {
        let bsr = randomBSR(8, 8, 4, 4, sparsity: 0.5)
        #expect(CSRMatrix(bsr: bsr, keepExplicitZeros: true).nonzeros == bsr.blockCount * 16)
    }

    @Test func denseWithLeadingDimension() throws {
        let dense = try DenseMatrix(rows: 2, cols: 2, ld: 3, values: [1, 0, 99, 0, 2, 99])
        #expect(CSRMatrix(dense: dense).values == [1, 2])
        #expect(BSRMatrix(dense: dense, block: shape(1, 1)).values == [1, 2])
    }
}
