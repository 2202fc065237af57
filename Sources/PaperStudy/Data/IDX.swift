import CZlib
import Foundation
import BlockSparse
import Benchmarking

/// An IDX array of unsigned bytes (the MNIST / Fashion-MNIST file format):
/// dimensions, outermost first, and the data in row-major order.
public struct IDXArray: Equatable, Sendable {
    public let dimensions: [Int]
    public let data: [UInt8]

    /// - Throws: ``MatrixError`` when `data` does not hold the product of the dimensions.
    public init(dimensions: [Int], data: [UInt8]) throws {
        let count = dimensions.reduce(1, *)
        guard dimensions.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }), data.count == count else {
            throw MatrixError.countMismatch(field: "data", expected: count, actual: data.count)
        }
        self.dimensions = dimensions
        self.data = data
    }
}

/// Reading and writing IDX files, gzipped (through zlib) or plain.
///
/// Layout: a 4-byte magic `00 00 TT RR` (TT = 0x08 for unsigned bytes, RR =
/// rank), RR big-endian 32-bit dimensions, then the data. Errors are
/// ``InputError``s naming the file and the byte offset in the (decompressed)
/// IDX stream.
public enum IDX {
    /// Type code of unsigned-byte data, the only type this reader takes.
    public static let unsignedByte: UInt8 = 0x08
    /// Largest element count accepted (sanity bound, checked before allocating).
    public static let maxElements = 1 << 32
    /// Size of the pieces the data is read in.
    static let chunkBytes = 1 << 20

    /// Reads an IDX file of unsigned bytes. gzip is detected by zlib
    /// (`gzread` reads plain files unchanged).
    /// - Parameter expectedRank: when given, a file of another rank is an error.
    /// - Throws: ``InputError`` for a missing file, bad magic, unsupported
    ///   type, wrong rank, impossible dimensions, truncated data or trailing bytes.
    public static func read(path: String, expectedRank: Int? = nil) throws -> IDXArray {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw InputError(source: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw InputError(source: path, "not a regular file") }
        guard let file = gzopen(path, "rb") else {
            throw InputError(source: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { gzclose(file) }
        var offset = 0

        /// Reads exactly `count` bytes into `buffer`, or reports how many were there.
        func readExactly(_ buffer: UnsafeMutableRawPointer, _ count: Int, what: String) throws {
            var done = 0
            while done < count {
                let chunk = UInt32(min(count - done, 1 << 30))
                let got = gzread(file, buffer + done, chunk)
                if got < 0 {
                    var code: Int32 = 0
                    let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
                    throw InputError(source: path, offset: offset + done, "cannot read \(what): \(message)")
                }
                if got == 0 {
                    throw InputError(source: path, offset: offset + done,
                                     "truncated: \(what) needs \(count) bytes but the file ends after \(done)")
                }
                done += Int(got)
            }
            offset += count
        }

        var magic = [UInt8](repeating: 0, count: 4)
        try magic.withUnsafeMutableBytes { try readExactly($0.baseAddress!, 4, what: "the 4-byte magic number") }
        let magicText = magic.map { String(format: "%02x", $0) }.joined()
        guard magic[0] == 0, magic[1] == 0 else {
            throw InputError(source: path, offset: 0,
                             "bad magic number 0x\(magicText): not an IDX file (expected 0x0000TTRR)")
        }
        guard magic[2] == unsignedByte else {
            throw InputError(source: path, offset: 2,
                             String(format: "unsupported IDX data type 0x%02x (only 0x08, unsigned byte, is read)", magic[2]))
        }
        let rank = Int(magic[3])
        guard rank >= 1 else { throw InputError(source: path, offset: 3, "IDX rank 0: no dimensions") }
        if let expectedRank, rank != expectedRank {
            throw InputError(source: path, offset: 3, "expected an IDX file of rank \(expectedRank), found rank \(rank)")
        }
        var header = [UInt8](repeating: 0, count: 4 * rank)
        try header.withUnsafeMutableBytes {
            try readExactly($0.baseAddress!, 4 * rank, what: "the \(rank) dimension(s)")
        }
        var dimensions: [Int] = []
        var count = 1
        for d in 0..<rank {
            let value = (0..<4).reduce(0) { ($0 << 8) | Int(header[4 * d + $1]) }
            guard value > 0 else {
                throw InputError(source: path, offset: 4 + 4 * d, "dimension \(d) is 0")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: value)
            guard !overflow, product <= maxElements else {
                throw InputError(source: path, offset: 4 + 4 * d,
                                 "dimensions \((dimensions + [value]).map(String.init).joined(separator: "x")) are implausibly large")
            }
            dimensions.append(value)
            count = product
        }
        // Memory is checked before allocating: a corrupt header must not take the machine down.
        do { try checkMemory(count, what: "the IDX data of \(path)") } catch let error as MatrixError {
            throw InputError(source: path, offset: 4, error.description)
        }
        // The header is not trusted for allocation either: the data grows in
        // 1 MiB pieces as it is actually read (at most 64 MiB reserved ahead),
        // so a 20-byte file claiming gigabytes fails at its end instead of
        // allocating first.
        var data: [UInt8] = []
        data.reserveCapacity(min(count, 64 << 20))
        let what = "the data (\(dimensions.map(String.init).joined(separator: "x")) bytes)"
        var piece = [UInt8](repeating: 0, count: min(count, chunkBytes))
        while data.count < count {
            let want = min(count - data.count, chunkBytes)
            do {
                try piece.withUnsafeMutableBytes { try readExactly($0.baseAddress!, want, what: what) }
            } catch let error as InputError {
                // Report the shortfall against the whole data section, not the piece.
                let got = (error.offset ?? offset) - 4 - 4 * rank
                throw InputError(source: path, offset: error.offset,
                                 error.message.hasPrefix("truncated")
                                     ? "truncated: \(what) needs \(count) bytes but the file ends after \(got)"
                                     : error.message)
            }
            data.append(contentsOf: piece[0..<want])
        }
        var extra: UInt8 = 0
        if gzread(file, &extra, 1) > 0 {
            throw InputError(source: path, offset: offset,
                             "unexpected data after the \(count) bytes the dimensions promise (wrong dimensions?)")
        }
        return try IDXArray(dimensions: dimensions, data: data)
    }

    /// Writes an IDX file of unsigned bytes, gzipped by zlib (`gzwrite`) or plain.
    /// - Throws: ``InputError`` naming the path.
    public static func write(_ array: IDXArray, to path: String, gzip: Bool = true) throws {
        var bytes: [UInt8] = [0, 0, unsignedByte, UInt8(array.dimensions.count)]
        for d in array.dimensions {
            bytes += [UInt8(truncatingIfNeeded: d >> 24), UInt8(truncatingIfNeeded: d >> 16),
                      UInt8(truncatingIfNeeded: d >> 8), UInt8(truncatingIfNeeded: d)]
        }
        bytes += array.data
        try writeRaw(bytes, to: path, gzip: gzip)
    }

    /// Writes raw bytes, gzipped or plain (tests use it to build broken files).
    public static func writeRaw(_ bytes: [UInt8], to path: String, gzip: Bool = true) throws {
        guard gzip else {
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
                throw InputError(source: path, "cannot write")
            }
            return
        }
        guard let file = gzopen(path, "wb") else {
            throw InputError(source: path, "cannot open for writing: \(String(cString: strerror(errno)))")
        }
        var done = 0
        while done < bytes.count {
            let chunk = min(bytes.count - done, 1 << 30)
            let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress! + done, UInt32(chunk)) }
            guard written > 0 else {
                gzclose(file)
                throw InputError(source: path, offset: done, "gzwrite failed")
            }
            done += Int(written)
        }
        guard gzclose(file) == Z_OK else { throw InputError(source: path, "cannot finish the gzip stream") }
    }
}
