import Testing
@testable import BlockSparse
import TestSupport

@Suite struct ReferenceTests {
    @Test func referencesAgree() throws {
        for (m, k, n, r, c) in [(37, 53, 7, 4, 4), (16, 16, 16, 8, 8), (9, 7, 1, 4, 1), (0, 3, 2, 2, 2), (3, 0, 2, 2, 2)] {
            let a = randomBSR(m, k, r, c, sparsity: 0.6, seed: 3)
            let b = try DenseMatrix.random(rows: k, cols: n, seed: 4)
            let fromBSR = try Reference(a, b)
            let fromCSR = try Reference(CSRMatrix(bsr: a), b)
            let fromDense = try Reference(DenseMatrix(bsr: a), b)
            #expect(fromBSR.values.count == m * n)
            for i in 0..<(m * n) {
                #expect(abs(fromBSR.values[i] - fromCSR.values[i]) <= 1e-12 * max(1, fromBSR.magnitudes[i]))
                #expect(abs(fromBSR.values[i] - fromDense.values[i]) <= 1e-12 * max(1, fromBSR.magnitudes[i]))
            }
            #expect(fromBSR.terms == fromCSR.terms)
        }
    }

    /// Rows are computed on every core, many per thread: each element still
    /// sums its products in one plain loop's order, so the values are exact.
    @Test func rowsOnAllCoresEqualOnePlainLoop() throws {
        let a = randomBSR(203, 61, 3, 5, sparsity: 0.4, seed: 8)  // a partial block row and block column
        let b = try DenseMatrix.random(rows: 61, cols: 9, seed: 9)
        let dense = DenseMatrix(bsr: a)
        var values = [Double](repeating: 0, count: 203 * 9), magnitudes = values
        for i in 0..<203 {
            for k in 0..<61 {
                let w = Double(dense.values[i * dense.ld + k])
                for j in 0..<9 {
                    let x = Double(b.values[k * b.ld + j])
                    values[i * 9 + j] += w * x
                    magnitudes[i * 9 + j] += abs(w) * abs(x)
                }
            }
        }
        let fromDense = try Reference(dense, b)
        #expect(fromDense.values == values && fromDense.magnitudes == magnitudes)
        #expect(fromDense.terms == [Int](repeating: 61, count: 203))
        let fromBSR = try Reference(a, b)
        let stored = try Reference(CSRMatrix(bsr: a), b)
        #expect(fromBSR.magnitudes == magnitudes && stored.magnitudes == magnitudes)
        #expect(fromBSR.values == stored.values)
    }

    @Test func knownProduct() throws {
        let a = try DenseMatrix(rows: 2, cols: 2, values: [1, 2, 3, 4])
        let b = try DenseMatrix(rows: 2, cols: 1, values: [5, -6])
        let ref = try Reference(a, b)
        #expect(ref.values == [-7, -9])
        #expect(ref.magnitudes == [17, 39])
    }

    @Test func shapeMismatchIsAnError() throws {
        let a = randomBSR(4, 5, 2, 2, sparsity: 0)
        let b = try DenseMatrix.random(rows: 4, cols: 3, seed: 1)
        #expect(throws: MatrixError.self) { try Reference(a, b) }
    }

    @Test func toleranceScalesWithLengthAndMagnitude() {
        let small = Reference.allowedError(magnitude: 1, terms: 16)
        let long = Reference.allowedError(magnitude: 1, terms: 4096)
        #expect(long > small)
        #expect(Reference.allowedError(magnitude: 10, terms: 16) > 9 * small)
        // Never looser than the worst-case bound, and tight enough that one
        // average product (magnitude / n) out of 4096 is caught.
        #expect(long < 1.0 / 4096)
        #expect(Reference.allowedError(magnitude: 1, terms: 1) <= 3.01 * Reference.unitRoundoff)
    }

    @Test func verificationCatchesErrorsAndNaN() throws {
        let a = randomBSR(8, 64, 4, 4, sparsity: 0.2)
        let b = try DenseMatrix.random(rows: 64, cols: 5, seed: 2)
        let ref = try Reference(a, b)
        var c = ref.values.map { Float($0) }
        #expect(c.withUnsafeBufferPointer { ref.verify($0, ld: 5) }.passed)
        // Drop one product from one element: must be caught.
        let p0 = Double(a.values[0]) * Double(b.values[0])
        c[0] = Float(ref.values[0] - p0)
        #expect(!c.withUnsafeBufferPointer { ref.verify($0, ld: 5) }.passed)
        c[0] = .nan
        let v = c.withUnsafeBufferPointer { ref.verify($0, ld: 5) }
        #expect(!v.passed && v.failures == 1)
        #expect(v.description.contains("MISMATCH"))
    }
}
