import Foundation
import Testing
@testable import BlockSparse
import TestSupport

@Suite struct SafeTensorsTests {
    private let folder = TemporaryFolder(prefix: "kb-st")
    var dir: String { folder.path }

    /// Builds a file by hand: header JSON + raw bytes.
    func file(_ header: String, _ data: [UInt8], lengthOverride: UInt64? = nil) -> String {
        var bytes = Data()
        withUnsafeBytes(of: (lengthOverride ?? UInt64(header.utf8.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: data)
        let path = dir + "/\(UUID().uuidString).safetensors"
        #expect(FileManager.default.createFile(atPath: path, contents: bytes))
        return path
    }

    @Test func f32RoundTrip() throws {
        let m = try DenseMatrix.random(rows: 7, cols: 5, seed: 3)
        let path = dir + "/w.safetensors"
        try SafeTensors.write([("fc.weight", m), ("other", try DenseMatrix.random(rows: 2, cols: 2, seed: 4))], to: path)
        #expect(try SafeTensors.readMatrix(path: path, tensor: "fc.weight") == m)
        #expect(try SafeTensors.tensors(in: path).map(\.name).sorted() == ["fc.weight", "other"])
    }

    @Test func halfAndBFloat() throws {
        // 1.0, -2.0, 0.5, 65504 in binary16; 1.0, -2.0, 0.5, 3.0 in bfloat16.
        let f16: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x7BFF]
        let bf16: [UInt16] = [0x3F80, 0xC000, 0x3F00, 0x4040]
        func le(_ xs: [UInt16]) -> [UInt8] { xs.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }
        let p1 = file(#"{"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}}"#, le(f16))
        #expect(try SafeTensors.readMatrix(path: p1, tensor: "h").values == [1, -2, 0.5, 65504])
        let p2 = file(#"{"b":{"dtype":"BF16","shape":[1,4],"data_offsets":[0,8]},"__metadata__":{"x":"y"}}"#, le(bf16))
        #expect(try SafeTensors.readMatrix(path: p2, tensor: "b").values == [1, -2, 0.5, 3])
        #expect(SafeTensors.halfToFloat(0x0001) == 0x1p-24)  // smallest subnormal
    }

    func expectInputError(_ path: String, _ tensor: String = "t", _ phrase: String) {
        do {
            _ = try SafeTensors.readMatrix(path: path, tensor: tensor)
            Issue.record("expected an error mentioning '\(phrase)'")
        } catch let e as InputError {
            #expect(e.description.contains(phrase), "\(e)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func badFilesAreClearErrors() {
        let ok = #"{"t":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}"#
        expectInputError(dir + "/missing.safetensors", "t", "no such file")
        expectInputError(file(ok, [0, 0, 0, 0]), "t", "outside")                     // truncated data
        expectInputError(file(ok, [], lengthOverride: 1 << 40), "t", "exceeds")     // absurd header length
        expectInputError(file(ok, [], lengthOverride: 200), "t", "truncated")       // header longer than file
        expectInputError(file("{not json", [0]), "t", "not valid JSON")
        expectInputError(file(ok, [UInt8](repeating: 0, count: 8)), "nope", "no tensor named 'nope'")
        expectInputError(file(#"{"t":{"dtype":"I8","shape":[1,2],"data_offsets":[0,2]}}"#, [0, 0]), "t", "dtype I8")
        expectInputError(file(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, [UInt8](repeating: 0, count: 8)), "t", "2-D")
        expectInputError(file(#"{"t":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}}"#, [UInt8](repeating: 0, count: 8)), "t", "needs 16")
        expectInputError(file(#"{"t":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}}"#, [0, 0, 0xC0, 0x7F]), "t", "non-finite")
        expectInputError(file(#"{"t":{"shape":[1,1],"data_offsets":[0,4]}}"#, [0, 0, 0, 0]), "t", "lacks dtype")
        let short = dir + "/short"
        #expect(FileManager.default.createFile(atPath: short, contents: Data([1, 2, 3])))
        expectInputError(short, "t", "too short")
        expectInputError(dir, "t", "\(dir): is a directory, not a .safetensors file")  // not "file has 9223372036854775807"
    }
}
