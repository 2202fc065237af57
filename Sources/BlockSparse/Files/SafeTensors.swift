import Foundation

/// Reads 2-D tensors from `.safetensors` files (F32, F16, BF16 → fp32).
///
/// Format: an 8-byte little-endian header length `H`, then `H` bytes of
/// JSON mapping tensor names to `{"dtype", "shape", "data_offsets": [begin,
/// end]}` (offsets relative to the byte after the header), then the data.
/// Everything is validated before anything large is allocated: the header
/// length against the file size (and a 100 MiB cap), the JSON, the tensor's
/// dtype and rank, offsets inside the data section, and the byte count
/// against shape × element size.
public enum SafeTensors {
    /// Largest header accepted (the format's reference implementation uses 100 MB).
    public static let maxHeaderBytes = 100 << 20

    /// One tensor's header entry.
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        public let begin: Int
        public let end: Int
    }

    /// The tensors listed in a file's header.
    /// - Throws: ``InputError`` naming the file and the problem.
    public static func tensors(in path: String) throws -> [TensorInfo] {
        try readHeader(path).tensors
    }

    /// Reads tensor `name` as a dense fp32 matrix (rows = shape[0], cols = shape[1]).
    /// - Throws: ``InputError`` for a missing file or tensor, an unsupported
    ///   dtype or rank, a truncated or lying file; ``MatrixError/tooLarge`` if
    ///   it would not fit in memory.
    public static func readMatrix(path: String, tensor name: String) throws -> DenseMatrix {
        let header = try readHeader(path)
        guard let info = header.tensors.first(where: { $0.name == name }) else {
            let names = header.tensors.map(\.name).sorted()
            let shown = names.prefix(10).joined(separator: ", ") + (names.count > 10 ? ", ..." : "")
            throw InputError(source: path, "no tensor named '\(name)' (the file has: \(shown.isEmpty ? "none" : shown))")
        }
        guard info.shape.count == 2 else {
            throw InputError(source: path, "tensor '\(name)' has shape \(info.shape); a weight matrix must be 2-D")
        }
        let rows = info.shape[0], cols = info.shape[1]
        guard rows <= Int(Int32.max), cols <= Int(Int32.max) else {
            throw InputError(source: path, "tensor '\(name)' shape \(info.shape) exceeds the kernels' 32-bit indices")
        }
        let size: Int
        switch info.dtype {
        case "F32": size = 4
        case "F16", "BF16": size = 2
        default:
            throw InputError(source: path, "tensor '\(name)' has dtype \(info.dtype); supported: F32, F16, BF16")
        }
        let (count, overflow) = rows.multipliedReportingOverflow(by: cols)
        guard !overflow, count.multipliedReportingOverflow(by: size).overflow == false,
              info.end - info.begin == count * size else {
            throw InputError(source: path, offset: header.dataStart + info.begin,
                             "tensor '\(name)' has \(info.end - info.begin) bytes but shape \(info.shape) of \(info.dtype) needs \(count &* size)")
        }
        try checkMemory(count * (4 + size), what: "tensor '\(name)'")
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InputError(source: path, "cannot open")
        }
        defer { try? handle.close() }
        let bytes: Data
        do {
            try handle.seek(toOffset: UInt64(header.dataStart + info.begin))
            bytes = try handle.read(upToCount: info.end - info.begin) ?? Data()
        } catch {
            throw InputError(source: path, "read failed: \(error.localizedDescription)")
        }
        guard bytes.count == info.end - info.begin else {
            throw InputError(source: path, offset: header.dataStart + info.begin + bytes.count,
                             "file ends inside tensor '\(name)'")
        }
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            switch info.dtype {
            case "F32":
                for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case "BF16":
                for i in 0..<count {
                    let h = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    values[i] = Float(bitPattern: UInt32(h) << 16)
                }
            default:
                for i in 0..<count {
                    values[i] = halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            }
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw InputError(source: path, offset: header.dataStart + info.begin + bad * size,
                             "tensor '\(name)' holds a non-finite value at element \(bad) (row \(bad / max(cols, 1)))")
        }
        return try DenseMatrix(rows: rows, cols: cols, values: values)
    }

    /// IEEE 754 binary16 → binary32, exact (subnormals, infinities and NaN included).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    private struct Header {
        let tensors: [TensorInfo]
        let dataStart: Int
    }

    private static func readHeader(_ path: String) throws -> Header {
        try refuseDirectory(path, expected: "a .safetensors file")
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InputError(source: path, FileManager.default.fileExists(atPath: path) ? "cannot open (permission?)" : "no such file")
        }
        defer { try? handle.close() }
        let fileSize: Int
        do { fileSize = Int(try handle.seekToEnd()); try handle.seek(toOffset: 0) } catch {
            throw InputError(source: path, "cannot read: \(error.localizedDescription)")
        }
        guard let lengthBytes = try? handle.read(upToCount: 8), lengthBytes.count == 8 else {
            throw InputError(source: path, offset: 0, "too short for a safetensors header (need 8 bytes, file has \(fileSize))")
        }
        let length = lengthBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length <= UInt64(maxHeaderBytes) else {
            throw InputError(source: path, offset: 0, "header length \(length) exceeds the \(maxHeaderBytes)-byte limit: not a safetensors file?")
        }
        guard Int(length) <= fileSize - 8 else {
            throw InputError(source: path, offset: 0, "header claims \(length) bytes but the file has only \(fileSize - 8) after the length: truncated")
        }
        guard let json = try? handle.read(upToCount: Int(length)), json.count == Int(length) else {
            throw InputError(source: path, offset: 8, "cannot read the \(length)-byte header")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: json) } catch {
            throw InputError(source: path, offset: 8, "header is not valid JSON")
        }
        guard let dict = object as? [String: Any] else {
            throw InputError(source: path, offset: 8, "header is not a JSON object")
        }
        let dataSize = fileSize - 8 - Int(length)
        var tensors: [TensorInfo] = []
        for (name, value) in dict where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Any], let offsets = entry["data_offsets"] as? [Any], offsets.count == 2 else {
                throw InputError(source: path, offset: 8, "header entry '\(name)' lacks dtype, shape or data_offsets")
            }
            let dims = shape.compactMap { ($0 as? NSNumber)?.intValue }
            let bounds = offsets.compactMap { ($0 as? NSNumber)?.intValue }
            guard dims.count == shape.count, dims.allSatisfy({ $0 >= 0 }), bounds.count == 2 else {
                throw InputError(source: path, offset: 8, "header entry '\(name)' has a malformed shape or data_offsets")
            }
            guard bounds[0] >= 0, bounds[0] <= bounds[1], bounds[1] <= dataSize else {
                throw InputError(source: path, offset: 8,
                                 "tensor '\(name)' data_offsets \(bounds) lie outside the \(dataSize)-byte data section (truncated file?)")
            }
            tensors.append(TensorInfo(name: name, dtype: dtype, shape: dims, begin: bounds[0], end: bounds[1]))
        }
        return Header(tensors: tensors, dataStart: 8 + Int(length))
    }

    /// Writes F32 tensors (used by tests and examples); atomic.
    public static func write(_ tensors: [(name: String, matrix: DenseMatrix)], to path: String) throws {
        var header: [String: Any] = [:]
        var data = Data()
        for (name, m) in tensors {
            let begin = data.count
            for i in 0..<m.rows {
                for j in 0..<m.cols {
                    withUnsafeBytes(of: m[i, j].bitPattern.littleEndian) { data.append(contentsOf: $0) }
                }
            }
            header[name] = ["dtype": "F32", "shape": [m.rows, m.cols], "data_offsets": [begin, data.count]]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(data)
        try writeAtomically(file, to: path)
    }
}
