import Foundation

/// Why outside input (a file or a stream) could not be read: the one error
/// type of the input layer. It names the source and, when known, the line
/// (text formats) or byte offset (binary formats) at fault.
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    /// File path, or a label such as "<stdin>".
    public var source: String
    /// 1-based line number for text formats.
    public var line: Int?
    /// Byte offset for binary formats.
    public var offset: Int?
    public var message: String

    public init(source: String, line: Int? = nil, offset: Int? = nil, _ message: String) {
        self.source = source
        self.line = line
        self.offset = offset
        self.message = message
    }

    public var description: String {
        if let line { return "\(source):\(line): \(message)" }
        if let offset { return "\(source) (byte \(offset)): \(message)" }
        return "\(source): \(message)"
    }
}

/// Throws ``InputError`` naming `path` when it is a directory, so that a
/// reader says so instead of the system's error (or a size) for reading one.
/// - Parameter what: what the path should have been, e.g. "a result file".
public func refuseDirectory(_ path: String, expected what: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw InputError(source: path, "is a directory, not \(what)")
    }
}

/// Reads a whole input file that is parsed in memory (JSON, lists of lines):
/// refuses a directory, checks first that `parseFactor` times its size fits
/// in memory (parsing builds far more than the bytes: a 200 MB JSON array of
/// zeros took over 4 GB), and names the file in every error.
/// - Parameter what: what the file should be, e.g. "a result file".
public func readInputFile(_ path: String, expected what: String, parseFactor: Int = 32) throws -> Data {
    try refuseDirectory(path, expected: what)
    if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int {
        do { try checkMemory(saturated(Double(size) * Double(parseFactor)), what: "parsing this \(formatBytes(size)) file") }
        catch let error as MatrixError { throw InputError(source: path, error.description) }
    }
    do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        let exists = FileManager.default.fileExists(atPath: path)
        throw InputError(source: path, exists ? "cannot read: \(error.localizedDescription)" : "no such file")
    }
}
