import Foundation

/// Why a matrix could not be built: the one error type of the matrix layer.
///
/// Every case names the field at fault (`rowPointers`, `columnIndices`,
/// `values`, `rows`, ...) and, where it applies, the row and position, so a
/// caller can print one precise line.
public enum MatrixError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A dimension is negative or otherwise unusable.
    case invalidDimension(field: String, value: Int)
    /// A block shape with a side below 1.
    case invalidBlockShape(rows: Int, cols: Int)
    /// An array has the wrong number of entries.
    case countMismatch(field: String, expected: Int, actual: Int)
    /// `rowPointers[0]` is not 0.
    case rowPointerStart(actual: Int)
    /// `rowPointers[row + 1] < rowPointers[row]`.
    case rowPointerNotMonotone(row: Int)
    /// `rowPointers.last` differs from the number of stored indices.
    case rowPointerEnd(expected: Int, actual: Int)
    /// A column index outside `0..<limit` (limit counts blocks for BSR).
    case columnOutOfRange(row: Int, position: Int, column: Int, limit: Int)
    /// Column indices within a row not strictly increasing.
    case columnsUnsorted(row: Int, position: Int)
    /// The same column index twice within a row.
    case duplicateColumn(row: Int, position: Int, column: Int)
    /// A count or dimension that does not fit the kernels' Int32 indices.
    case indexOverflow(field: String, value: Int)
    /// Operand shapes that cannot be multiplied or combined.
    case shapeMismatch(String)
    /// A leading dimension smaller than the row length.
    case leadingDimension(ld: Int, cols: Int)
    /// A request whose memory would exceed what the machine has.
    case tooLarge(what: String, bytes: Int, available: Int)

    public var description: String {
        switch self {
        case let .invalidDimension(field, value):
            return "\(field) must be non-negative (got \(value))"
        case let .invalidBlockShape(rows, cols):
            return "block shape \(rows)x\(cols) is invalid: both sides must be at least 1"
        case let .countMismatch(field, expected, actual):
            return "\(field) has \(actual) entries, expected \(expected)"
        case let .rowPointerStart(actual):
            return "rowPointers[0] must be 0 (got \(actual))"
        case let .rowPointerNotMonotone(row):
            return "rowPointers decreases at row \(row) (rowPointers[\(row + 1)] < rowPointers[\(row)])"
        case let .rowPointerEnd(expected, actual):
            return "rowPointers ends at \(actual) but \(expected) column indices are stored"
        case let .columnOutOfRange(row, position, column, limit):
            return "columnIndices[\(position)] = \(column) in row \(row) is outside 0..<\(limit)"
        case let .columnsUnsorted(row, position):
            return "columnIndices not sorted in row \(row) at position \(position)"
        case let .duplicateColumn(row, position, column):
            return "column \(column) appears twice in row \(row) (position \(position))"
        case let .indexOverflow(field, value):
            return "\(field) = \(value) does not fit the kernels' 32-bit indices (max \(Int32.max))"
        case let .shapeMismatch(message):
            return message
        case let .leadingDimension(ld, cols):
            return "leading dimension \(ld) is smaller than the row length \(cols)"
        case let .tooLarge(what, bytes, available):
            // Int.max stands for "more than can be counted" (callers clamp absurd sizes to it).
            let need = bytes == Int.max ? "more than \(formatBytes(bytes))" : formatBytes(bytes)
            return "\(what) needs \(need) but only \(formatBytes(available)) of memory is available"
        }
    }
}

/// Human-readable byte count ("1.5 GiB").
public func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
