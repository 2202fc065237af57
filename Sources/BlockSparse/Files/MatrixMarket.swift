#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing Matrix Market (`.mtx`) files.
///
/// Supported on input: `%%MatrixMarket matrix coordinate {real|integer|pattern}
/// {general|symmetric|skew-symmetric}` and `%%MatrixMarket matrix array
/// {real|integer} {general|symmetric|skew-symmetric}`. Banner keywords are
/// case-insensitive; `double` is accepted as an alias of `real`.
///
/// Input rules, decided here once:
/// - Files are streamed through a 64 KiB buffer, never read whole. A header's
///   counts are not trusted for allocation: at most 2^20 entries are reserved
///   up front and storage grows with what is actually read.
/// - Lines end in LF or CRLF. Comment lines (`%` as the first non-blank
///   character) and blank lines may appear anywhere after the banner.
///   Fields are separated by spaces or tabs. A line may be at most 1 MiB.
/// - Dimensions and entry counts must fit the kernels' 32-bit indices.
/// - Values are parsed straight to `Float` (correctly rounded). NaN and
///   infinity are rejected, as are finite values beyond the fp32 range. An
///   `integer` field must hold integer literals. `pattern` entries get value 1.
/// - Coordinate entries may come in any order; each row is sorted. Explicit
///   zeros in a coordinate file are kept as stored entries. The same (i, j)
///   given twice is an error naming the line of the second occurrence (for
///   symmetric files, an entry and its mirror count as the same position).
/// - `symmetric` mirrors off-diagonal entries; `skew-symmetric` mirrors them
///   negated and must not list any diagonal entry. Either triangle is accepted.
///
/// Every problem with a file, including I/O failures while writing, is an
/// ``InputError`` naming the path and, for content errors, the 1-based line.
public enum MatrixMarket {
    /// Entries reserved before any are read, whatever the header claims.
    static let reserveLimit = 1 << 20

    // MARK: Reading

    /// Reads a Matrix Market file as a CSR matrix.
    ///
    /// Coordinate files keep every listed entry (explicit zeros included),
    /// expanded by their symmetry and sorted by column within each row. Array
    /// files are accepted too; their zeros are dropped.
    ///
    /// - Parameter path: The file to read.
    /// - Returns: The matrix, with strictly increasing columns in every row.
    /// - Throws: ``InputError`` with the 1-based line at fault for a missing or
    ///   malformed banner or size line, an unsupported kind (complex, hermitian,
    ///   vector), an index out of range, a non-numeric or non-finite value, a
    ///   wrong number of fields, more or fewer entries than declared (fewer:
    ///   the line is the file's last line), a duplicate entry, or an explicit
    ///   diagonal entry in a skew-symmetric file; without a line when the file
    ///   cannot be opened or read.
    public static func readCSR(path: String) throws -> CSRMatrix {
        let scanner = try MatrixMarketScanner(path: path)
        let header = scanner.header
        var coo = CoordinateList(reserving: min(header.entries, reserveLimit))
        let dropZeros = header.format == .array
        try scanner.forEachEntry { row, col, value, _ in
            if dropZeros && value == 0 { return }
            coo.append(row, col, value)
        }
        return try buildCSR(&coo, header: header, source: path)
    }

    /// Reads a Matrix Market file as a dense row-major matrix (`ld == cols`).
    ///
    /// Array files (column-major, as the format specifies) are the natural
    /// input; coordinate files are accepted too and filled in with zeros.
    ///
    /// - Parameter path: The file to read.
    /// - Returns: The matrix, expanded by its symmetry.
    /// - Throws: ``InputError`` as ``readCSR(path:)`` does, and for a matrix of
    ///   more than `Int32.max` elements (reported on the size line, before
    ///   anything is allocated).
    public static func readDense(path: String) throws -> DenseMatrix {
        let scanner = try MatrixMarketScanner(path: path)
        let header = scanner.header
        let (elements, _) = header.rows.multipliedReportingOverflow(by: header.cols)
        guard elements <= indexLimit else {
            throw InputError(source: path, line: header.sizeLine,
                             "a \(header.rows)x\(header.cols) dense matrix has more than \(indexLimit) elements")
        }
        try checkMemory(elements * 4, what: "a \(header.rows)x\(header.cols) dense matrix from \(path)")
        switch header.format {
        case .coordinate:
            var coo = CoordinateList(reserving: min(header.entries, reserveLimit))
            try scanner.forEachEntry { row, col, value, _ in coo.append(row, col, value) }
            return DenseMatrix(csr: try buildCSR(&coo, header: header, source: path))
        case .array:
            var raw: [Float] = []
            raw.reserveCapacity(min(header.entries, reserveLimit))
            try scanner.forEachEntry { _, _, value, _ in raw.append(value) }
            // Every value is in and the count matches the header: now allocate.
            var values = [Float](repeating: 0, count: elements)
            var cursor = ArrayCursor(rows: header.rows, symmetry: header.symmetry)
            let sign: Float = header.symmetry == .skewSymmetric ? -1 : 1
            for v in raw {
                let i = cursor.row, j = cursor.col
                values[i * header.cols + j] = v
                if header.symmetry != .general && i != j { values[j * header.cols + i] = sign * v }
                cursor.advance()
            }
            return try DenseMatrix(rows: header.rows, cols: header.cols, values: values)
        }
    }

    // MARK: Writing

    /// Writes a CSR matrix as `%%MatrixMarket matrix coordinate real general`.
    ///
    /// Entries are written row by row with 1-based indices; each value is
    /// printed in its shortest form that parses back to the identical `Float`.
    /// The file is written to a temporary file in the same directory and then
    /// renamed over `path`, so `path` is never left half-written.
    ///
    /// - Parameters:
    ///   - m: The matrix; explicit zeros are written as stored.
    ///   - path: Destination file, replaced if it exists.
    ///   - comment: Optional text written as `%` comment lines after the banner
    ///     (one comment line per line of text).
    /// - Throws: ``InputError`` naming `path` when a value is NaN or infinite
    ///   (such a file could not be read back) or when creating, writing or
    ///   renaming the file fails.
    public static func write(_ m: CSRMatrix, to path: String, comment: String? = nil) throws {
        for i in 0..<m.rows {
            for p in Int(m.rowPointers[i])..<Int(m.rowPointers[i + 1]) where !m.values[p].isFinite {
                throw InputError(source: path, "cannot write non-finite value \(m.values[p]) at row \(i + 1), column \(Int(m.columnIndices[p]) + 1)")
            }
        }
        try AtomicFile.write(path: path) { out in
            out.append("%%MatrixMarket matrix coordinate real general\n")
            out.appendComment(comment)
            out.appendInt(m.rows); out.append(" ")
            out.appendInt(m.cols); out.append(" ")
            out.appendInt(m.nonzeros); out.append("\n")
            for i in 0..<m.rows {
                for p in Int(m.rowPointers[i])..<Int(m.rowPointers[i + 1]) {
                    out.appendInt(i + 1); out.append(" ")
                    out.appendInt(Int(m.columnIndices[p]) + 1); out.append(" ")
                    out.append(m.values[p].description); out.append("\n")
                }
                try out.flushIfFull()
            }
        }
    }

    /// Writes a dense matrix as `%%MatrixMarket matrix array real general`
    /// (column-major, one value per line; padding beyond `cols` is not written).
    ///
    /// - Parameters:
    ///   - m: The matrix.
    ///   - path: Destination file, replaced atomically as by the CSR writer.
    ///   - comment: Optional text written as `%` comment lines after the banner.
    /// - Throws: ``InputError`` naming `path` for a NaN or infinite value or
    ///   when creating, writing or renaming the file fails.
    public static func write(_ m: DenseMatrix, to path: String, comment: String? = nil) throws {
        for i in 0..<m.rows {
            for j in 0..<m.cols where !m.values[i * m.ld + j].isFinite {
                throw InputError(source: path, "cannot write non-finite value \(m.values[i * m.ld + j]) at row \(i + 1), column \(j + 1)")
            }
        }
        try AtomicFile.write(path: path) { out in
            out.append("%%MatrixMarket matrix array real general\n")
            out.appendComment(comment)
            out.appendInt(m.rows); out.append(" ")
            out.appendInt(m.cols); out.append("\n")
            for j in 0..<m.cols {
                for i in 0..<m.rows {
                    out.append(m.values[i * m.ld + j].description); out.append("\n")
                }
                try out.flushIfFull()
            }
        }
    }

    /// Writes the logical non-zeros of a BSR matrix (``CSRMatrix/init(bsr:keepExplicitZeros:)``:
    /// padding and zeros stored inside blocks are left out) as a coordinate file.
    ///
    /// - Parameters:
    ///   - m: The matrix.
    ///   - path: Destination file, replaced atomically.
    ///   - comment: Optional text written as `%` comment lines after the banner.
    /// - Throws: ``InputError`` as the CSR writer does.
    public static func write(_ m: BSRMatrix, to path: String, comment: String? = nil) throws {
        try write(CSRMatrix(bsr: m), to: path, comment: comment)
    }

    // MARK: Assembly

    /// Expands, sorts and checks coordinate entries into CSR. Empties `coo`.
    private static func buildCSR(_ coo: inout CoordinateList, header: MatrixMarketHeader,
                                 source: String) throws -> CSRMatrix {
        let rows = header.rows
        let mirror = header.symmetry != .general
        let sign: Float = header.symmetry == .skewSymmetric ? -1 : 1
        // Row pointers (building and final) and twice the entries (mirrors).
        try checkMemory((rows + 1) * 12 + coo.count * 16, what: "a \(rows)-row matrix from \(source)")
        var starts = [Int](repeating: 0, count: rows + 1)
        for k in 0..<coo.count {
            let i = Int(coo.rows[k]), j = Int(coo.cols[k])
            starts[i + 1] += 1
            if mirror && i != j { starts[j + 1] += 1 }
        }
        for i in 0..<rows { starts[i + 1] += starts[i] }
        let total = starts[rows]
        guard total <= indexLimit else {
            throw InputError(source: source, line: header.sizeLine,
                             "the \(header.symmetry.rawValue) matrix expands to \(total) entries, more than the 32-bit index limit \(indexLimit)")
        }
        var columns = [Int32](repeating: 0, count: total)
        var values = [Float](repeating: 0, count: total)
        var next = starts
        for k in 0..<coo.count {
            let i = Int(coo.rows[k]), j = Int(coo.cols[k]), v = coo.values[k]
            columns[next[i]] = Int32(j); values[next[i]] = v; next[i] += 1
            if mirror && i != j {
                columns[next[j]] = Int32(i); values[next[j]] = sign * v; next[j] += 1
            }
        }
        coo = CoordinateList(reserving: 0)
        var pairs: [(Int32, Float)] = []
        for i in 0..<rows {
            let start = starts[i], end = starts[i + 1]
            guard end - start > 1 else { continue }
            var sorted = true
            for p in (start + 1)..<end where columns[p] <= columns[p - 1] { sorted = false; break }
            if sorted { continue }
            pairs.removeAll(keepingCapacity: true)
            for p in start..<end { pairs.append((columns[p], values[p])) }
            pairs.sort { $0.0 < $1.0 }
            for (offset, pair) in pairs.enumerated() {
                columns[start + offset] = pair.0
                values[start + offset] = pair.1
            }
            for p in (start + 1)..<end where columns[p] == columns[p - 1] {
                throw duplicateError(source: source, symmetry: header.symmetry, row: i, col: Int(columns[p]))
            }
        }
        let rowPointers = starts.map { Int32($0) }
        return CSRMatrix(unchecked: rows, header.cols, rowPointers, columns, values)
    }

    /// Finds the lines of a duplicated position by scanning the file again
    /// (only on this error path, so entries need not carry their line numbers).
    private static func duplicateError(source: String, symmetry: MatrixMarketHeader.Symmetry,
                                       row: Int, col: Int) -> InputError {
        let what = "duplicate entry at row \(row + 1), column \(col + 1)"
            + (symmetry == .general ? "" : " (an entry and its mirror count as the same position)")
        var first: Int?
        do {
            let scanner = try MatrixMarketScanner(path: source)
            try scanner.forEachEntry { i, j, _, line in
                let hit = (i == row && j == col) || (symmetry != .general && i == col && j == row)
                guard hit else { return }
                if let first { throw InputError(source: source, line: line, "\(what); first given on line \(first)") }
                first = line
            }
        } catch let error as InputError {
            return error
        } catch {}
        return InputError(source: source, what)
    }
}

// MARK: - Header and entry scanning

struct MatrixMarketHeader: Sendable {
    enum Format: String, Sendable { case coordinate, array }
    enum Field: String, Sendable { case real, integer, pattern }
    enum Symmetry: String, Sendable {
        case general, symmetric
        case skewSymmetric = "skew-symmetric"
    }

    var format: Format
    var field: Field
    var symmetry: Symmetry
    var rows: Int
    var cols: Int
    /// Data lines that must follow the size line.
    var entries: Int
    /// 1-based line of the size line.
    var sizeLine: Int
}

/// Reads the banner and size line on creation, then hands out entries.
struct MatrixMarketScanner {
    let source: String
    let header: MatrixMarketHeader
    private let lines: LineReader

    /// Opens `path` and parses its banner and size line.
    init(path: String) throws {
        let lines = try LineReader(path: path)
        self.lines = lines
        source = path
        guard let banner = try lines.next() else {
            throw InputError(source: path, line: 1, "empty file: missing %%MatrixMarket banner")
        }
        let (format, field, symmetry) = try Self.parseBanner(banner, source: path)
        var sizeFields: [String]?
        while let line = try lines.next() {
            if isBlankOrComment(line) { continue }
            var cursor = FieldCursor(line)
            var fields: [String] = []
            while let f = cursor.next(), fields.count < 8 { fields.append(text(f)) }
            sizeFields = fields
            break
        }
        guard let fields = sizeFields else {
            throw InputError(source: path, line: max(1, lines.lineNumber), "unexpected end of file: missing size line")
        }
        let sizeLine = lines.lineNumber
        func fail(_ message: String) -> InputError { InputError(source: path, line: sizeLine, "size line: " + message) }

        let names = format == .coordinate ? ["rows", "columns", "entries"] : ["rows", "columns"]
        guard fields.count == names.count else {
            throw fail("expected \(names.count) fields (\(names.joined(separator: " "))), found \(fields.count)")
        }
        var numbers: [Int] = []
        for (name, field) in zip(names, fields) {
            switch parseInteger(field.utf8) {
            case .invalid:
                throw fail("\(name) '\(clip(field))' is not a non-negative integer")
            case .overflow(negative: true):
                throw fail("\(name) must be non-negative (got \(clip(field)))")
            case .overflow(negative: false):
                throw fail("\(name) = \(clip(field)) exceeds the 32-bit index limit \(indexLimit)")
            case .value(let n):
                guard n >= 0 else { throw fail("\(name) must be non-negative (got \(n))") }
                guard n <= indexLimit else { throw fail("\(name) = \(n) exceeds the 32-bit index limit \(indexLimit)") }
                numbers.append(n)
            }
        }
        let rows = numbers[0], cols = numbers[1]
        if symmetry != .general && rows != cols {
            throw fail("a \(symmetry.rawValue) matrix must be square (got \(rows)x\(cols))")
        }
        // Positions a file of this shape and symmetry can hold (< 2^62: no overflow).
        let capacity: Int
        switch symmetry {
        case .general: capacity = rows * cols
        case .symmetric: capacity = rows * (rows + 1) / 2
        case .skewSymmetric: capacity = rows * max(rows - 1, 0) / 2
        }
        let entries: Int
        if format == .coordinate {
            entries = numbers[2]
            guard entries <= capacity else {
                throw fail("\(entries) entries cannot fit a \(rows)x\(cols) \(symmetry.rawValue) matrix (at most \(capacity))")
            }
        } else {
            entries = capacity
            guard entries <= indexLimit else {
                throw fail("a \(rows)x\(cols) array holds \(entries) values, more than the 32-bit limit \(indexLimit)")
            }
        }
        header = MatrixMarketHeader(format: format, field: field, symmetry: symmetry, rows: rows, cols: cols,
                                    entries: entries, sizeLine: sizeLine)
    }

    private static func parseBanner(_ line: UnsafeBufferPointer<UInt8>, source: String) throws
        -> (MatrixMarketHeader.Format, MatrixMarketHeader.Field, MatrixMarketHeader.Symmetry) {
        func fail(_ message: String) -> InputError { InputError(source: source, line: 1, message) }
        var cursor = FieldCursor(line)
        var words: [String] = []
        while let f = cursor.next(), words.count < 8 { words.append(text(f).lowercased()) }
        guard words.first == "%%matrixmarket" else {
            throw fail("missing %%MatrixMarket banner on the first line")
        }
        guard words.count == 5 else {
            throw fail("banner must be '%%MatrixMarket matrix <format> <field> <symmetry>' (found \(words.count - 1) words after %%MatrixMarket)")
        }
        guard words[1] == "matrix" else {
            throw fail("unsupported object '\(clip(words[1]))' (only 'matrix' is supported)")
        }
        guard let format = MatrixMarketHeader.Format(rawValue: words[2]) else {
            throw fail("unknown format '\(clip(words[2]))' (expected coordinate or array)")
        }
        let field: MatrixMarketHeader.Field
        switch words[3] {
        case "real", "double": field = .real
        case "integer": field = .integer
        case "pattern": field = .pattern
        case "complex": throw fail("complex matrices are unsupported (field 'complex'); only real, integer and pattern are read")
        default: throw fail("unknown field '\(clip(words[3]))' (expected real, integer or pattern)")
        }
        if format == .array && field == .pattern {
            throw fail("field 'pattern' is not allowed with the array format")
        }
        let symmetry: MatrixMarketHeader.Symmetry
        switch words[4] {
        case "general": symmetry = .general
        case "symmetric": symmetry = .symmetric
        case "skew-symmetric": symmetry = .skewSymmetric
        case "hermitian": throw fail("hermitian symmetry is unsupported (it needs complex values)")
        default: throw fail("unknown symmetry '\(clip(words[4]))' (expected general, symmetric or skew-symmetric)")
        }
        return (format, field, symmetry)
    }

    /// Calls `body(row, col, value, line)` (0-based row and column, 1-based
    /// line) for every entry, in file order; array entries get the position
    /// their place in the column-major sequence gives. Checks the entry count.
    func forEachEntry(_ body: (_ row: Int, _ col: Int, _ value: Float, _ line: Int) throws -> Void) throws {
        let h = header
        var count = 0
        var cursor = ArrayCursor(rows: h.rows, symmetry: h.symmetry)
        while let line = try lines.next() {
            if isBlankOrComment(line) { continue }
            let n = lines.lineNumber
            func fail(_ message: String) -> InputError { InputError(source: source, line: n, message) }
            guard count < h.entries else {
                throw fail("too many entries: the size line (line \(h.sizeLine)) declared \(h.entries)")
            }
            count += 1
            var fields = FieldCursor(line)
            switch h.format {
            case .coordinate:
                let expected = h.field == .pattern ? 2 : 3
                let a = fields.next(), b = fields.next(), c = expected == 3 ? fields.next() : nil
                guard let a, let b, expected == 2 || c != nil, fields.next() == nil else {
                    let layout = expected == 2 ? "row column" : "row column value"
                    throw fail("expected \(expected) fields (\(layout)), found \(FieldCursor.count(line))")
                }
                let i = try index(a, name: "row", limit: h.rows, fail)
                let j = try index(b, name: "column", limit: h.cols, fail)
                if h.symmetry == .skewSymmetric && i == j {
                    throw fail("explicit diagonal entry (\(i + 1), \(j + 1)) in a skew-symmetric matrix; its diagonal must be absent")
                }
                let v: Float = try c.map { try value($0, integer: h.field == .integer, fail) } ?? 1
                try body(i, j, v, n)
            case .array:
                guard let a = fields.next(), fields.next() == nil else {
                    throw fail("expected 1 field (value) on an array entry line, found \(FieldCursor.count(line))")
                }
                let v = try value(a, integer: h.field == .integer, fail)
                try body(cursor.row, cursor.col, v, n)
                cursor.advance()
            }
        }
        guard count == h.entries else {
            throw InputError(source: source, line: max(1, lines.lineNumber),
                             "unexpected end of file: the size line (line \(h.sizeLine)) declared \(h.entries) entries but only \(count) were found")
        }
    }

    private func index(_ field: UnsafeBufferPointer<UInt8>, name: String, limit: Int,
                       _ fail: (String) -> InputError) throws -> Int {
        switch parseInteger(field[...]) {
        case .invalid: throw fail("\(name) index '\(clip(text(field)))' is not an integer")
        case .overflow: throw fail("\(name) index \(clip(text(field))) is outside 1...\(limit)")
        case .value(let k):
            guard k >= 1, k <= limit else {
                throw fail(limit == 0 ? "\(name) index \(k) given but the matrix has no \(name)s"
                                      : "\(name) index \(k) is outside 1...\(limit)")
            }
            return k - 1
        }
    }

    private func value(_ field: UnsafeBufferPointer<UInt8>, integer: Bool,
                       _ fail: (String) -> InputError) throws -> Float {
        let s = text(field)
        if integer, case .invalid = parseInteger(field[...]) {
            throw fail("value '\(clip(s))' is not an integer (the field is integer)")
        }
        guard let v = Float(s) else { throw fail("value '\(clip(s))' is not a number") }
        guard v.isFinite else {
            let lower = s.lowercased()
            if lower.contains("n") || lower.contains("i") {
                throw fail("value '\(clip(s))' is not finite: NaN and infinity are rejected")
            }
            throw fail("value '\(clip(s))' is out of the fp32 range")
        }
        return v
    }
}

/// Walks the positions of an array file: column-major, only the lower
/// triangle (strictly, for skew-symmetric) when the matrix is symmetric.
struct ArrayCursor {
    let rows: Int
    let triangular: Bool
    let skip: Int
    private(set) var row: Int
    private(set) var col = 0

    init(rows: Int, symmetry: MatrixMarketHeader.Symmetry) {
        self.rows = rows
        triangular = symmetry != .general
        skip = symmetry == .skewSymmetric ? 1 : 0
        row = skip
    }

    mutating func advance() {
        row += 1
        if row >= rows {
            col += 1
            row = triangular ? col + skip : 0
        }
    }
}

/// Coordinate entries as read (0-based), before symmetry expansion.
struct CoordinateList {
    var rows: [Int32] = []
    var cols: [Int32] = []
    var values: [Float] = []

    init(reserving capacity: Int) {
        rows.reserveCapacity(capacity)
        cols.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    var count: Int { rows.count }

    mutating func append(_ row: Int, _ col: Int, _ value: Float) {
        rows.append(Int32(row))
        cols.append(Int32(col))
        values.append(value)
    }
}

// MARK: - Byte-level helpers

@inline(__always) private func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }

/// Whether a line is empty, only blanks, or a `%` comment.
private func isBlankOrComment(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
    for b in line where !isSpace(b) { return b == UInt8(ascii: "%") }
    return true
}

private func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

/// A field quoted in a message, cut to a readable length.
private func clip(_ s: String) -> String { s.count <= 40 ? s : String(s.prefix(40)) + "..." }

/// Blank-separated fields of one line.
struct FieldCursor {
    let line: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ line: UnsafeBufferPointer<UInt8>) { self.line = line }

    mutating func next() -> UnsafeBufferPointer<UInt8>? {
        while position < line.count && isSpace(line[position]) { position += 1 }
        guard position < line.count else { return nil }
        let start = position
        while position < line.count && !isSpace(line[position]) { position += 1 }
        return UnsafeBufferPointer(rebasing: line[start..<position])
    }

    static func count(_ line: UnsafeBufferPointer<UInt8>) -> Int {
        var cursor = FieldCursor(line), n = 0
        while cursor.next() != nil { n += 1 }
        return n
    }
}

enum IntegerParse: Equatable {
    case value(Int)
    case overflow(negative: Bool)
    case invalid
}

/// An optionally signed decimal integer, nothing else.
func parseInteger<C: Collection>(_ bytes: C) -> IntegerParse where C.Element == UInt8 {
    var it = bytes.makeIterator()
    guard var b = it.next() else { return .invalid }
    var negative = false
    if b == UInt8(ascii: "-") || b == UInt8(ascii: "+") {
        negative = b == UInt8(ascii: "-")
        guard let n = it.next() else { return .invalid }
        b = n
    }
    var value = 0
    var overflow = false
    while true {
        guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return .invalid }
        if !overflow {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(b - UInt8(ascii: "0")))
            overflow = o1 || o2
            value = s
        }
        guard let n = it.next() else { break }
        b = n
    }
    if overflow { return .overflow(negative: negative) }
    return .value(negative ? -value : value)
}

func systemMessage(_ code: Int32) -> String { String(cString: strerror(code)) }

// MARK: - Streaming line reader

/// Reads a file line by line through a 64 KiB buffer (grown only for a line
/// longer than that, up to 1 MiB including its line end). A returned line excludes its LF and a
/// trailing CR and stays valid until the next call to `next()`.
final class LineReader {
    static let chunk = 64 * 1024
    static let maxLine = 1 << 20

    let source: String
    /// 1-based number of the line last returned (0 before the first).
    private(set) var lineNumber = 0
    private let fd: Int32
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var scanned = 0
    private var atEOF = false

    init(path: String) throws {
        source = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw InputError(source: path, code == ENOENT ? "file not found" : "cannot open: \(systemMessage(code))")
        }
        self.fd = fd
        capacity = Self.chunk
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    func next() throws -> UnsafeBufferPointer<UInt8>? {
        while true {
            if scanned < end, let hit = memchr(buffer + scanned, 0x0A, end - scanned) {
                let newline = hit.assumingMemoryBound(to: UInt8.self) - buffer
                return take(upTo: newline, consumed: newline + 1)
            }
            scanned = end
            if atEOF {
                guard start < end else { return nil }
                return take(upTo: end, consumed: end)
            }
            try fill()
        }
    }

    private func take(upTo lineEnd: Int, consumed: Int) -> UnsafeBufferPointer<UInt8> {
        var stop = lineEnd
        if stop > start && buffer[stop - 1] == 0x0D { stop -= 1 }
        let line = UnsafeBufferPointer(start: buffer + start, count: stop - start)
        start = consumed
        scanned = consumed
        lineNumber += 1
        return line
    }

    private func fill() throws {
        if start > 0 {
            let pending = end - start
            if pending > 0 { memmove(buffer, buffer + start, pending) }
            end = pending
            scanned -= start
            start = 0
        }
        if end == capacity {
            guard capacity < Self.maxLine else {
                throw InputError(source: source, line: lineNumber + 1, "line is longer than \(Self.maxLine) bytes")
            }
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            grown.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = grown
            capacity *= 2
        }
        while true {
            let n = read(fd, buffer + end, capacity - end)
            if n > 0 { end += n; return }
            if n == 0 { atEOF = true; return }
            let code = errno
            if code == EINTR { continue }
            throw InputError(source: source, "read failed: \(systemMessage(code))")
        }
    }
}
