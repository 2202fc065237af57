/// The shape of one BSR block: `rows` x `cols` elements.
///
/// Square blocks (`b x b`) are the paper's case; rectangular shapes such as
/// 1x4, 4x1, 8x1 and 16x1 are representable too. A 1x1 block makes BSR
/// equivalent to CSR.
public struct BlockShape: Hashable, Sendable, CustomStringConvertible, Codable {
    public let rows: Int
    public let cols: Int

    /// The longest side a block may have.
    public static let maxSide = 4096

    /// Creates a block shape; both sides must be in 1...``maxSide``.
    /// - Throws: ``MatrixError/invalidBlockShape(rows:cols:)``.
    public init(rows: Int, cols: Int) throws {
        guard rows >= 1, cols >= 1, rows <= Self.maxSide, cols <= Self.maxSide else {
            throw MatrixError.invalidBlockShape(rows: rows, cols: cols)
        }
        self.rows = rows
        self.cols = cols
    }

    /// A square `size x size` block.
    public init(square size: Int) throws { try self.init(rows: size, cols: size) }

    /// Parses "8" (square) or "4x1" / "4X1".
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        if parts.count == 1, let s = Int(parts[0]) {
            guard let shape = try? BlockShape(square: s) else { return nil }
            self = shape
        } else if parts.count == 2, let r = Int(parts[0]), let c = Int(parts[1]) {
            guard let shape = try? BlockShape(rows: r, cols: c) else { return nil }
            self = shape
        } else {
            return nil
        }
    }

    public var area: Int { rows * cols }
    public var description: String { "\(rows)x\(cols)" }

    /// Number of blocks needed to cover `extent` elements along rows / cols.
    package func blockRowCount(_ extent: Int) -> Int { (extent + rows - 1) / rows }
    package func blockColCount(_ extent: Int) -> Int { (extent + cols - 1) / cols }
}
