import Foundation
import Testing
@testable import BlockSparse

/// A fresh directory under the system temporary directory, removed afterwards.
private func withScratchDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("mm-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url.path)
}

/// Writes `text` byte for byte to `dir/name` and returns the path.
@discardableResult
private func fixture(_ text: String, in dir: String, name: String = "m.mtx") throws -> String {
    let path = dir + "/" + name
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
}

private func contents(_ path: String) throws -> String {
    String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
}

private func randomCSR(_ rows: Int, _ cols: Int, _ r: Int, _ c: Int, sparsity: Double,
                       _ distribution: BlockDistribution = .uniform, seed: UInt64 = 11) throws -> CSRMatrix {
    let spec = GeneratorSpec(rows: rows, cols: cols, block: try BlockShape(rows: r, cols: c), sparsity: sparsity,
                             distribution: distribution, seed: seed)
    return CSRMatrix(bsr: try BSRMatrix.random(spec))
}

/// The same matrix with every entry of the given rows removed.
private func clearingRows(_ m: CSRMatrix, _ cleared: Set<Int>) throws -> CSRMatrix {
    var pointers: [Int32] = [0], columns: [Int32] = [], values: [Float] = []
    for i in 0..<m.rows {
        if !cleared.contains(i) {
            for p in Int(m.rowPointers[i])..<Int(m.rowPointers[i + 1]) {
                columns.append(m.columnIndices[p])
                values.append(m.values[p])
            }
        }
        pointers.append(Int32(columns.count))
    }
    return try CSRMatrix(rows: m.rows, cols: m.cols, rowPointers: pointers, columnIndices: columns, values: values)
}

private func denseRows(_ m: CSRMatrix) -> [[Float]] {
    let d = DenseMatrix(csr: m)
    return (0..<d.rows).map { i in (0..<d.cols).map { d[i, $0] } }
}

/// A malformed file, the line its error must name and a phrase of its message.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    let name: String
    let text: String
    let line: Int?
    let mentions: String
    var testDescription: String { name }
}

private let general = "%%MatrixMarket matrix coordinate real general\n"

private let malformedCases: [MalformedCase] = [
    // Banner.
    .init(name: "empty file", text: "", line: 1, mentions: "missing %%MatrixMarket banner"),
    .init(name: "no banner", text: "% just a comment\n2 2 1\n1 1 1\n", line: 1, mentions: "missing %%MatrixMarket banner"),
    .init(name: "short banner", text: "%%MatrixMarket matrix coordinate real\n1 1 0\n", line: 1, mentions: "banner must be"),
    .init(name: "vector object", text: "%%MatrixMarket vector coordinate real general\n", line: 1,
          mentions: "unsupported object 'vector'"),
    .init(name: "unknown format", text: "%%MatrixMarket matrix sparse real general\n", line: 1, mentions: "unknown format 'sparse'"),
    .init(name: "unknown field", text: "%%MatrixMarket matrix coordinate float general\n", line: 1, mentions: "unknown field 'float'"),
    .init(name: "complex field", text: "%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n", line: 1,
          mentions: "complex matrices are unsupported"),
    .init(name: "unknown symmetry", text: "%%MatrixMarket matrix coordinate real upper\n", line: 1,
          mentions: "unknown symmetry 'upper'"),
    .init(name: "hermitian", text: "%%MatrixMarket matrix coordinate real hermitian\n", line: 1, mentions: "hermitian"),
    .init(name: "array pattern", text: "%%MatrixMarket matrix array pattern general\n1 1\n", line: 1,
          mentions: "'pattern' is not allowed with the array format"),
    // Size line.
    .init(name: "missing size line", text: general + "% only comments\n\n% here\n", line: 4, mentions: "missing size line"),
    .init(name: "size not numeric", text: general + "% c\n3 x 2\n", line: 3, mentions: "columns 'x' is not a non-negative integer"),
    .init(name: "size negative", text: general + "-3 3 1\n", line: 2, mentions: "rows must be non-negative"),
    .init(name: "size too few fields", text: general + "\n3 3\n", line: 3, mentions: "expected 3 fields"),
    .init(name: "array size too many fields", text: "%%MatrixMarket matrix array real general\n3 3 9\n", line: 2,
          mentions: "expected 2 fields"),
    .init(name: "rows beyond Int32", text: general + "3000000000 3 1\n", line: 2, mentions: "rows = 3000000000 exceeds the 32-bit"),
    .init(name: "entries beyond Int32", text: general + "100000 100000 3000000000\n", line: 2,
          mentions: "entries = 3000000000 exceeds the 32-bit"),
    .init(name: "rows beyond Int64", text: general + "99999999999999999999 3 1\n", line: 2, mentions: "exceeds the 32-bit"),
    .init(name: "more entries than positions", text: general + "2 2 5\n", line: 2, mentions: "5 entries cannot fit a 2x2"),
    .init(name: "symmetric not square", text: "%%MatrixMarket matrix coordinate real symmetric\n2 3 1\n", line: 2,
          mentions: "must be square"),
    .init(name: "array too large", text: "%%MatrixMarket matrix array real general\n100000 100000\n", line: 2,
          mentions: "more than the 32-bit limit"),
    // Entries.
    .init(name: "row out of range", text: general + "3 3 2\n1 1 1\n4 1 2\n", line: 4, mentions: "row index 4 is outside 1...3"),
    .init(name: "column zero", text: general + "3 3 2\n% c\n1 0 1\n", line: 4, mentions: "column index 0 is outside 1...3"),
    .init(name: "negative index", text: general + "3 3 1\n-1 1 1\n", line: 3, mentions: "row index -1 is outside"),
    .init(name: "index not numeric", text: general + "3 3 1\n1.0 1 1\n", line: 3, mentions: "row index '1.0' is not an integer"),
    .init(name: "value not numeric", text: general + "3 3 2\n1 1 1\n2 2 abc\n", line: 4, mentions: "value 'abc' is not a number"),
    .init(name: "NaN value", text: general + "3 3 1\n1 1 nan\n", line: 3, mentions: "not finite"),
    .init(name: "infinite value", text: general + "3 3 1\n1 1 -inf\n", line: 3, mentions: "not finite"),
    .init(name: "value beyond fp32", text: general + "3 3 1\n1 1 1e39\n", line: 3, mentions: "out of the fp32 range"),
    .init(name: "integer field with fraction", text: "%%MatrixMarket matrix coordinate integer general\n2 2 1\n1 1 1.5\n",
          line: 3, mentions: "value '1.5' is not an integer"),
    .init(name: "too few fields", text: general + "2 2 1\n1 1\n", line: 3, mentions: "expected 3 fields (row column value), found 2"),
    .init(name: "too many fields", text: general + "2 2 1\n1 1 1 1\n", line: 3, mentions: "found 4"),
    .init(name: "pattern with value", text: "%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 1 1\n", line: 3,
          mentions: "expected 2 fields (row column), found 3"),
    .init(name: "array line with two values", text: "%%MatrixMarket matrix array real general\n2 1\n1\n2 3\n", line: 4,
          mentions: "expected 1 field"),
    .init(name: "too many entries", text: general + "2 2 1\n1 1 1\n% c\n2 2 2\n", line: 5,
          mentions: "too many entries: the size line (line 2) declared 1"),
    .init(name: "too many array values", text: "%%MatrixMarket matrix array real general\n1 2\n1\n2\n3\n", line: 5,
          mentions: "too many entries"),
    .init(name: "truncated", text: general + "3 3 3\n1 1 1\n2 2 2\n", line: 4,
          mentions: "unexpected end of file: the size line (line 2) declared 3 entries but only 2 were found"),
    .init(name: "truncated with trailing comments", text: general + "3 3 3\n1 1 1\n% c\n\n", line: 5,
          mentions: "declared 3 entries but only 1 were found"),
    .init(name: "truncated without final newline", text: general + "3 3 2\n1 1 1", line: 3, mentions: "unexpected end of file"),
    .init(name: "truncated array", text: "%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n", line: 5,
          mentions: "declared 4 entries but only 3"),
    .init(name: "skew-symmetric diagonal", text: "%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n2 1 1\n2 2 5\n",
          line: 4, mentions: "explicit diagonal entry (2, 2) in a skew-symmetric matrix"),
    .init(name: "duplicate entry", text: general + "3 3 3\n2 3 1\n% c\n1 1 1\n2 3 4\n", line: 6,
          mentions: "duplicate entry at row 2, column 3; first given on line 3"),
    .init(name: "duplicate through symmetry", text: "%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n3 1 1\n1 3 2\n",
          line: 4, mentions: "duplicate entry at row 1, column 3"),
    .init(name: "CRLF error line", text: general.replacingOccurrences(of: "\n", with: "\r\n") + "2 2 1\r\n\r\n1 x 1\r\n",
          line: 4, mentions: "column index 'x' is not an integer"),
]

@Suite struct MatrixMarketTests {
    // MARK: Round trips

    static let roundTripShapes: [(Int, Int, Int, Int, Double, BlockDistribution)] = [
        (37, 53, 4, 4, 0.5, .uniform), (64, 64, 2, 2, 0.8, .powerlaw), (33, 40, 16, 1, 0.6, .banded),
        (9, 7, 1, 4, 0.3, .uniform), (1, 1, 1, 1, 0, .uniform), (0, 5, 2, 2, 0.5, .uniform), (5, 0, 2, 2, 0.5, .uniform),
        (300, 400, 4, 4, 0.3, .uniform),  // ~1.7 MB of text: many 64 KiB buffer refills
    ]

    @Test(arguments: roundTripShapes)
    func csrRoundTrip(_ shape: (Int, Int, Int, Int, Double, BlockDistribution)) throws {
        let (m, k, r, c, sparsity, distribution) = shape
        var csr = try randomCSR(m, k, r, c, sparsity: sparsity, distribution, seed: UInt64(m * 131 + k))
        if m > 2 { csr = try clearingRows(csr, [0, m / 2, m - 1]) }  // empty first, middle and last rows
        try withScratchDirectory { dir in
            let path = dir + "/a.mtx"
            try MatrixMarket.write(csr, to: path, comment: "seeded \(m)x\(k)\nsecond line")
            let back = try MatrixMarket.readCSR(path: path)
            #expect(back == csr)
            #expect(try MatrixMarket.readDense(path: path) == DenseMatrix(csr: csr))
            let text = try contents(path)
            #expect(text.hasPrefix("%%MatrixMarket matrix coordinate real general\n% seeded \(m)x\(k)\n% second line\n"))
        }
    }

    @Test func ragged37x53HasEmptyRowsAndRoundTrips() throws {
        let csr = try clearingRows(try randomCSR(37, 53, 4, 4, sparsity: 0.4), [5])
        #expect(csr.rowPointers[5] == csr.rowPointers[6])
        try withScratchDirectory { dir in
            try MatrixMarket.write(csr, to: dir + "/r.mtx")
            #expect(try MatrixMarket.readCSR(path: dir + "/r.mtx") == csr)
        }
    }

    @Test func bsrWritesItsLogicalNonzeros() throws {
        let spec = GeneratorSpec(rows: 37, cols: 53, block: try BlockShape(square: 4), sparsity: 0.5, seed: 3)
        let bsr = try BSRMatrix.random(spec)
        try withScratchDirectory { dir in
            try MatrixMarket.write(bsr, to: dir + "/b.mtx")
            let back = try MatrixMarket.readCSR(path: dir + "/b.mtx")
            #expect(back == CSRMatrix(bsr: bsr))
            #expect(BSRMatrix.converting(back, block: bsr.block).matrix == bsr)
        }
    }

    @Test func valuesRoundTripBitForBit() throws {
        let specials: [Float] = [0.1, -1.0 / 3, .pi, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
                                 -.greatestFiniteMagnitude, 16_777_218, 1e20, -0.0, 0, 3.4028e38, 1.0000001]
        let csr = try CSRMatrix(rows: 1, cols: specials.count, rowPointers: [0, Int32(specials.count)],
                                columnIndices: (0..<specials.count).map { Int32($0) }, values: specials)
        try withScratchDirectory { dir in
            try MatrixMarket.write(csr, to: dir + "/s.mtx")
            let back = try MatrixMarket.readCSR(path: dir + "/s.mtx")
            #expect(back.values.map(\.bitPattern) == specials.map(\.bitPattern))
        }
    }

    @Test func denseArrayRoundTrip() throws {
        let dense = try DenseMatrix.random(rows: 37, cols: 53, ld: 60, seed: 5)
        try withScratchDirectory { dir in
            let path = dir + "/d.mtx"
            try MatrixMarket.write(dense, to: path)
            let back = try MatrixMarket.readDense(path: path)
            #expect(back.rows == 37 && back.cols == 53 && back.ld == 53)
            for i in 0..<37 {
                for j in 0..<53 { #expect(back[i, j].bitPattern == dense[i, j].bitPattern) }
            }
            #expect(try MatrixMarket.readCSR(path: path) == CSRMatrix(dense: back))
            #expect(try contents(path).hasPrefix("%%MatrixMarket matrix array real general\n37 53\n"))
        }
    }

    @Test func arrayIsColumnMajorAndCSRDropsZeros() throws {
        try withScratchDirectory { dir in
            let path = try fixture("%%MatrixMarket matrix array real general\n% 2x3\n2 3\n1\n0\n0\n4\n5.5\n0\n", in: dir)
            let dense = try MatrixMarket.readDense(path: path)
            #expect(dense.values == [1, 0, 5.5, 0, 4, 0])
            let csr = try MatrixMarket.readCSR(path: path)
            #expect(csr.rowPointers == [0, 2, 3])
            #expect(csr.columnIndices == [0, 2, 1])
            #expect(csr.values == [1, 5.5, 4])
        }
    }

    @Test func emptyMatricesRoundTrip() throws {
        try withScratchDirectory { dir in
            let empty = try CSRMatrix(rows: 4, cols: 3, rowPointers: [0, 0, 0, 0, 0], columnIndices: [], values: [])
            try MatrixMarket.write(empty, to: dir + "/e.mtx")
            #expect(try MatrixMarket.readCSR(path: dir + "/e.mtx") == empty)
            let none = try DenseMatrix(zeros: 0, 0)
            try MatrixMarket.write(none, to: dir + "/z.mtx")
            #expect(try MatrixMarket.readDense(path: dir + "/z.mtx") == none)
        }
    }

    // MARK: Fields and symmetry

    @Test func symmetricMirrorsOffDiagonal() throws {
        try withScratchDirectory { dir in
            let path = try fixture("""
                %%MatrixMarket matrix coordinate real symmetric
                3 3 4
                1 1 2.0
                2 1 -1.5
                3 2 4
                3 3 1

                """, in: dir)
            let csr = try MatrixMarket.readCSR(path: path)
            #expect(denseRows(csr) == [[2, -1.5, 0], [-1.5, 0, 4], [0, 4, 1]])
            #expect(csr.nonzeros == 6)
        }
    }

    @Test func skewSymmetricMirrorsNegated() throws {
        try withScratchDirectory { dir in
            let path = try fixture("""
                %%MatrixMarket matrix coordinate real skew-symmetric
                3 3 2
                3 1 -2
                2 1 3

                """, in: dir)
            #expect(denseRows(try MatrixMarket.readCSR(path: path)) == [[0, -3, 2], [3, 0, 0], [-2, 0, 0]])
        }
    }

    @Test func patternEntriesAreOnesAndRowsAreSorted() throws {
        try withScratchDirectory { dir in
            let path = try fixture("""
                %%MatrixMarket matrix coordinate pattern general
                3 4 4
                3 4
                1 2
                3 1
                1 1

                """, in: dir)
            let csr = try MatrixMarket.readCSR(path: path)
            #expect(csr.rowPointers == [0, 2, 2, 4])
            #expect(csr.columnIndices == [0, 1, 0, 3])
            #expect(csr.values == [1, 1, 1, 1])

            let symmetric = try fixture("%%MatrixMarket matrix coordinate pattern symmetric\n2 2 2\n2 1\n2 2\n", in: dir,
                                        name: "ps.mtx")
            #expect(denseRows(try MatrixMarket.readCSR(path: symmetric)) == [[0, 1], [1, 1]])
        }
    }

    @Test func integerField() throws {
        try withScratchDirectory { dir in
            let path = try fixture("%%MatrixMarket matrix coordinate integer general\n2 2 3\n1 1 7\n2 1 -3\n2 2 +12\n", in: dir)
            #expect(denseRows(try MatrixMarket.readCSR(path: path)) == [[7, 0], [-3, 12]])
            let array = try fixture("%%MatrixMarket matrix array integer general\n1 2\n4\n-5\n", in: dir, name: "ai.mtx")
            #expect(try MatrixMarket.readDense(path: array).values == [4, -5])
        }
    }

    @Test func symmetricAndSkewArrays() throws {
        try withScratchDirectory { dir in
            let sym = try fixture("%%MatrixMarket matrix array real symmetric\n3 3\n1\n2\n3\n4\n5\n6\n", in: dir)
            let d = try MatrixMarket.readDense(path: sym)
            #expect(d.values == [1, 2, 3, 2, 4, 5, 3, 5, 6])
            let skew = try fixture("%%MatrixMarket matrix array real skew-symmetric\n3 3\n1\n2\n3\n", in: dir, name: "k.mtx")
            #expect(try MatrixMarket.readDense(path: skew).values == [0, -1, -2, 1, 0, -3, 2, 3, 0])
            #expect(try MatrixMarket.readCSR(path: skew).nonzeros == 6)
        }
    }

    @Test func commentsBlanksTabsAndCaseAreAccepted() throws {
        try withScratchDirectory { dir in
            let path = try fixture(
                "%%matrixmarket MATRIX Coordinate Real GENERAL\n% c\n\n  \t\n2 3 2\n% between\n\t2\t3  1.5e+00\n\n 1 1 .25\n% end\n",
                in: dir)
            let csr = try MatrixMarket.readCSR(path: path)
            #expect(denseRows(csr) == [[0.25, 0, 0], [0, 0, 1.5]])
        }
    }

    @Test func crlfLineEndingsAreAccepted() throws {
        let text = "%%MatrixMarket matrix coordinate real general\n% made on Windows\n3 3 3\n3 3 3.5\n1 2 -1\n2 1 2\n"
        try withScratchDirectory { dir in
            let lf = try fixture(text, in: dir, name: "lf.mtx")
            let crlf = try fixture(text.replacingOccurrences(of: "\n", with: "\r\n"), in: dir, name: "crlf.mtx")
            let expected = try MatrixMarket.readCSR(path: lf)
            #expect(try MatrixMarket.readCSR(path: crlf) == expected)
            #expect(expected.nonzeros == 3)
            let array = try fixture("%%MatrixMarket matrix array real general\r\n1 2\r\n1.5\r\n2", in: dir, name: "a.mtx")
            #expect(try MatrixMarket.readDense(path: array).values == [1.5, 2])
        }
    }

    // MARK: Errors

    @Test(arguments: malformedCases)
    func malformedFileNamesTheLine(_ c: MalformedCase) throws {
        try withScratchDirectory { dir in
            let path = try fixture(c.text, in: dir)
            let error = #expect(throws: InputError.self) { try MatrixMarket.readCSR(path: path) }
            #expect(error?.source == path)
            #expect(error?.line == c.line)
            #expect(error?.message.contains(c.mentions) == true, "message: \(error?.message ?? "none")")
        }
    }

    @Test func hugeDeclaredCountWithTwoEntriesIsTruncated() throws {
        // 2e9 entries would be 24 GB of coordinate storage if the header were trusted.
        try withScratchDirectory { dir in
            let path = try fixture(general + "100000 100000 2000000000\n1 1 1\n2 2 2\n", in: dir)
            let error = #expect(throws: InputError.self) { try MatrixMarket.readCSR(path: path) }
            #expect(error?.line == 4)
            #expect(error?.message.contains("declared 2000000000 entries but only 2 were found") == true)
        }
    }

    @Test func overlongLineIsRejected() throws {
        try withScratchDirectory { dir in
            let path = try fixture(general + "% " + String(repeating: "x", count: 1_100_000) + "\n1 1 0\n", in: dir)
            let error = #expect(throws: InputError.self) { try MatrixMarket.readCSR(path: path) }
            #expect(error?.line == 2)
            #expect(error?.message.contains("longer than") == true)
        }
    }

    @Test func missingAndUnreadableFiles() throws {
        try withScratchDirectory { dir in
            let missing = #expect(throws: InputError.self) { try MatrixMarket.readCSR(path: dir + "/absent.mtx") }
            #expect(missing?.line == nil)
            #expect(missing?.message == "file not found")
            let directory = #expect(throws: InputError.self) { try MatrixMarket.readDense(path: dir) }
            #expect(directory?.line == nil)
            #expect(directory?.source == dir)
        }
    }

    @Test func denseReadRefusesHugeShapeBeforeAllocating() throws {
        try withScratchDirectory { dir in
            let path = try fixture(general + "100000 100000 1\n1 1 1\n", in: dir)
            #expect(try MatrixMarket.readCSR(path: path).nonzeros == 1)
            let error = #expect(throws: InputError.self) { try MatrixMarket.readDense(path: path) }
            #expect(error?.line == 2)
            #expect(error?.message.contains("dense matrix has more than") == true)
        }
    }

    // MARK: Atomic writes

    @Test func failedWritesLeaveNothingBehind() throws {
        try withScratchDirectory { dir in
            let path = dir + "/keep.mtx"
            let good = try CSRMatrix(rows: 1, cols: 2, rowPointers: [0, 2], columnIndices: [0, 1], values: [1, 2])
            try MatrixMarket.write(good, to: path)
            let before = try contents(path)

            let bad = try CSRMatrix(rows: 1, cols: 2, rowPointers: [0, 2], columnIndices: [0, 1], values: [1, .nan])
            let error = #expect(throws: InputError.self) { try MatrixMarket.write(bad, to: path) }
            #expect(error?.message.contains("non-finite") == true)
            var dense = try DenseMatrix(zeros: 2, 2)
            dense[1, 0] = .infinity
            #expect(throws: InputError.self) { try MatrixMarket.write(dense, to: path) }
            #expect(try contents(path) == before)

            let nowhere = dir + "/no/such/dir/x.mtx"
            let dirError = #expect(throws: InputError.self) { try MatrixMarket.write(good, to: nowhere) }
            #expect(dirError?.source == nowhere)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["keep.mtx"])
        }
    }

    @Test func writeReplacesAnExistingFile() throws {
        try withScratchDirectory { dir in
            let path = dir + "/m.mtx"
            let first = try randomCSR(20, 20, 2, 2, sparsity: 0.5, seed: 1)
            let second = try randomCSR(7, 9, 1, 1, sparsity: 0.2, seed: 2)
            try MatrixMarket.write(first, to: path)
            try MatrixMarket.write(second, to: path, comment: "replaced")
            #expect(try MatrixMarket.readCSR(path: path) == second)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["m.mtx"])
        }
    }

    @Test func integerParsing() {
        #expect(parseInteger("42".utf8) == .value(42))
        #expect(parseInteger("-7".utf8) == .value(-7))
        #expect(parseInteger("+0".utf8) == .value(0))
        #expect(parseInteger("".utf8) == .invalid)
        #expect(parseInteger("-".utf8) == .invalid)
        #expect(parseInteger("1e3".utf8) == .invalid)
        #expect(parseInteger("99999999999999999999".utf8) == .overflow(negative: false))
        #expect(parseInteger("-99999999999999999999".utf8) == .overflow(negative: true))
    }
}
