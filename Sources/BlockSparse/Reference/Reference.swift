import Foundation

/// The expected product C = A·B computed by plain loops in Double: the
/// oracle every kernel in the project is verified against.
///
/// Besides the values it keeps, per output element, the magnitude
/// `sum_k |a_ik|·|b_kj|` and the number of terms summed, which is what the
/// tolerance (``Reference/allowedError(magnitude:terms:)``) is derived from.
public struct Reference: Sendable {
    public let rows: Int
    public let cols: Int
    /// Row-major `rows x cols` expected values.
    public let values: [Double]
    /// Row-major `rows x cols` sums of |a|·|b| over the products summed.
    public let magnitudes: [Double]
    /// Products summed into each output row (stored entries of A's row).
    public let terms: [Int]

    /// Dense A times dense B.
    public init(_ a: DenseMatrix, _ b: DenseMatrix) throws {
        try Reference.checkShapes(a.rows, a.cols, b)
        self.init(Accumulator(rows: a.rows, b: b, units: a.rows) { i, c in
            for k in 0..<a.cols {
                c.add(row: i, weight: a.values[i * a.ld + k], bRow: k)
            }
            c.terms[i] = a.cols
        })
    }

    /// CSR A times dense B.
    public init(_ a: CSRMatrix, _ b: DenseMatrix) throws {
        try Reference.checkShapes(a.rows, a.cols, b)
        self.init(Accumulator(rows: a.rows, b: b, units: a.rows) { i, c in
            for p in Int(a.rowPointers[i])..<Int(a.rowPointers[i + 1]) {
                c.add(row: i, weight: a.values[p], bRow: Int(a.columnIndices[p]))
            }
            c.terms[i] = Int(a.rowPointers[i + 1] - a.rowPointers[i])
        })
    }

    /// BSR A times dense B (padding is never touched).
    public init(_ a: BSRMatrix, _ b: DenseMatrix) throws {
        try Reference.checkShapes(a.rows, a.cols, b)
        let r = a.block.rows, bc = a.block.cols
        self.init(Accumulator(rows: a.rows, b: b, units: a.blockRowCount) { br, c in
            for ii in 0..<min(r, a.rows - br * r) {
                let row = br * r + ii
                for p in Int(a.rowPointers[br])..<Int(a.rowPointers[br + 1]) {
                    let col0 = Int(a.columnIndices[p]) * bc
                    let width = min(bc, a.cols - col0)
                    for jj in 0..<width {
                        c.add(row: row, weight: a.values[p * r * bc + ii * bc + jj], bRow: col0 + jj)
                    }
                    c.terms[row] += width
                }
            }
        })
    }

    private init(_ c: Accumulator) {
        rows = c.rows
        cols = c.cols
        values = c.values
        magnitudes = c.magnitudes
        terms = c.terms
    }

    private static func checkShapes(_ m: Int, _ k: Int, _ b: DenseMatrix) throws {
        guard b.rows == k else {
            throw MatrixError.shapeMismatch("cannot multiply A (\(m)x\(k)) by B (\(b.rows)x\(b.cols)): inner dimensions differ")
        }
    }

    /// The output arrays, filled unit by unit (a row, or a block row of BSR)
    /// on every core: each output row belongs to one unit, so each element
    /// sums its products in the same order whichever thread runs it, and
    /// the values are those of one plain loop. (One thread took about 1.3 s
    /// for 4096x4096 at N = 64; the break-even search builds many such.)
    private struct Accumulator {
        let rows: Int, cols: Int
        var values: [Double], magnitudes: [Double], terms: [Int]

        init(rows: Int, b: DenseMatrix, units: Int, fill: @Sendable (Int, inout Rows) -> Void) {
            self.rows = rows
            cols = b.cols
            values = [Double](repeating: 0, count: rows * b.cols)
            magnitudes = values
            terms = [Int](repeating: 0, count: rows)
            let chunks = min(units, 8 * ProcessInfo.processInfo.activeProcessorCount)
            guard chunks > 0 else { return }
            let cols = cols
            values.withUnsafeMutableBufferPointer { v in
                magnitudes.withUnsafeMutableBufferPointer { m in
                    terms.withUnsafeMutableBufferPointer { t in
                        b.values.withUnsafeBufferPointer { bv in
                            let output = Rows(values: v.baseAddress!, magnitudes: m.baseAddress!, terms: t.baseAddress!,
                                              b: bv.baseAddress!, ld: b.ld, cols: cols)
                            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                                var rows = output
                                for unit in units * chunk / chunks..<units * (chunk + 1) / chunks {
                                    fill(unit, &rows)
                                    rows.flush()
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Where a unit adds its products: the output rows (its own only, so
    /// threads never write the same element) and B.
    ///
    /// Products are added in the order they come, but up to four of one row
    /// are held back and then added in one pass over the row, the running
    /// sums kept in registers: the same additions in the same order as one
    /// pass per product (so the same values), with a quarter of the loads
    /// and stores of the output rows, which bounded the one-pass loop.
    private struct Rows: @unchecked Sendable {
        let values: UnsafeMutablePointer<Double>, magnitudes: UnsafeMutablePointer<Double>
        let terms: UnsafeMutablePointer<Int>
        let b: UnsafePointer<Float>
        let ld: Int, cols: Int
        private var heldRow = 0, held = 0
        private var heldWeights = SIMD4<Double>(), heldBRows = SIMD4<Int>()

        init(values: UnsafeMutablePointer<Double>, magnitudes: UnsafeMutablePointer<Double>,
             terms: UnsafeMutablePointer<Int>, b: UnsafePointer<Float>, ld: Int, cols: Int) {
            (self.values, self.magnitudes, self.terms, self.b, self.ld, self.cols) = (values, magnitudes, terms, b, ld, cols)
        }

        /// Adds weight x row `bRow` of B to output row `row`.
        @inline(__always)
        mutating func add(row: Int, weight: Float, bRow: Int) {
            if held > 0 && heldRow != row { flush() }
            heldRow = row
            heldWeights[held] = Double(weight)
            heldBRows[held] = bRow
            held += 1
            if held == 4 { flush() }
        }

        /// Adds the products held back.
        mutating func flush() {
            let out = values + heldRow * cols, mag = magnitudes + heldRow * cols
            if held == 4 {
                let (w0, w1, w2, w3) = (heldWeights[0], heldWeights[1], heldWeights[2], heldWeights[3])
                let (a0, a1, a2, a3) = (abs(w0), abs(w1), abs(w2), abs(w3))
                let x0 = b + heldBRows[0] * ld, x1 = b + heldBRows[1] * ld
                let x2 = b + heldBRows[2] * ld, x3 = b + heldBRows[3] * ld
                for j in 0..<cols {
                    let y0 = Double(x0[j]), y1 = Double(x1[j]), y2 = Double(x2[j]), y3 = Double(x3[j])
                    out[j] = out[j] + w0 * y0 + w1 * y1 + w2 * y2 + w3 * y3
                    mag[j] = mag[j] + a0 * abs(y0) + a1 * abs(y1) + a2 * abs(y2) + a3 * abs(y3)
                }
            } else {
                for t in 0..<held {
                    let w = heldWeights[t], aw = abs(w), x = b + heldBRows[t] * ld
                    for j in 0..<cols {
                        let y = Double(x[j])
                        out[j] += w * y
                        mag[j] += aw * abs(y)
                    }
                }
            }
            held = 0
        }
    }

    // MARK: Tolerance

    /// fp32 unit roundoff, 2^-24.
    public static let unitRoundoff = 0x1p-24

    /// The allowed absolute error of one fp32 output element that sums
    /// `terms` products whose absolute values add up to `magnitude`.
    ///
    /// Any summation order (blocked, vectorised, with or without FMA) has a
    /// worst-case error of at most γ_n·magnitude, γ_n = n·u/(1 − n·u), but that
    /// bound is so loose at large n that it would hide a dropped term. Rounding
    /// errors of real kernels behave like a random walk, so we use the
    /// probabilistic bound of Higham & Mary (2019), λ·√n·u·magnitude, with a
    /// generous λ = 16 (exceeded with probability far below 1e-20 per
    /// element), plus 2u for the final rounding to fp32, and never more than
    /// the worst-case bound. Dropping or doubling a single average product
    /// (≈ magnitude/n) exceeds it for every n up to about 2^16.
    public static func allowedError(magnitude: Double, terms: Int) -> Double {
        let u = unitRoundoff
        let n = Double(max(terms, 1))
        let probabilistic = (2 + 16 * n.squareRoot()) * u
        let worstCase = n * u / max(1 - n * u, 1e-3) + 2 * u
        return min(probabilistic, worstCase) * magnitude + Double(Float.leastNormalMagnitude)
    }

    /// Compares an fp32 result (row-major, leading dimension `ld`, starting
    /// at column 0) against these expected values, optionally after adding
    /// `initial` (the C that an accumulating kernel started from).
    public func verify(_ actual: UnsafeBufferPointer<Float>, ld: Int, initial: DenseMatrix? = nil) -> Verification {
        var v = Verification()
        for i in 0..<rows {
            for j in 0..<cols {
                var expected = values[i * cols + j], magnitude = magnitudes[i * cols + j]
                var n = terms[i]
                if let initial {
                    let c0 = Double(initial.values[i * initial.ld + j])
                    expected += c0
                    magnitude += abs(c0)
                    n += 1
                }
                let got = Double(actual[i * ld + j])
                let error = abs(got - expected)
                let allowed = Reference.allowedError(magnitude: magnitude, terms: n)
                let relative = error / max(abs(expected), Double(Float.leastNormalMagnitude))
                if !(error <= allowed) {  // NaN fails too
                    v.failures += 1
                    if v.firstFailure == nil { v.firstFailure = (i, j, expected, got, allowed) }
                }
                if !(error <= v.maxAbsoluteError) { v.maxAbsoluteError = error }
                if relative > v.maxRelativeError && abs(expected) > 1e-30 { v.maxRelativeError = relative }
                v.checked += 1
            }
        }
        return v
    }
}

/// The outcome of comparing a kernel's output with the ``Reference``.
public struct Verification: Sendable, CustomStringConvertible {
    public var checked = 0
    public var failures = 0
    public var maxAbsoluteError = 0.0
    public var maxRelativeError = 0.0
    /// Row, column, expected, got, allowed for the first element out of tolerance.
    public var firstFailure: (row: Int, col: Int, expected: Double, got: Double, allowed: Double)?

    public var passed: Bool { failures == 0 }

    public var description: String {
        var text = String(format: "%@: %d elements, max abs error %.3g, max rel error %.3g",
                          passed ? "verified" : "MISMATCH", checked, maxAbsoluteError, maxRelativeError)
        if let f = firstFailure {
            text += String(format: "; first bad C[%d,%d] = %.9g, expected %.9g (allowed error %.3g), %d elements bad",
                           f.row, f.col, f.got, f.expected, f.allowed, failures)
        }
        return text
    }
}

/// Why a product did not match the reference: a runtime failure (exit 1), never a usage error.
public struct VerificationFailure: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}
