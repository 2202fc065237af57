import Foundation
import Testing
@testable import BlockSparse
@testable import PaperStudy

@Suite struct PaperIDXTests {
    /// A fresh temporary folder for one test.
    static func folder(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "paper-idx-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func header(rank: Int, _ dims: [UInt32], type: UInt8 = 0x08) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, type, UInt8(rank)]
        for d in dims { bytes += [UInt8(d >> 24), UInt8((d >> 16) & 0xff), UInt8((d >> 8) & 0xff), UInt8(d & 0xff)] }
        return bytes
    }

    static func inputError(_ body: () throws -> Void) -> InputError? {
        do { try body() } catch let error as InputError { return error } catch { return nil }
        return nil
    }

    @Test func roundTripsGzippedAndPlain() throws {
        let dir = try Self.folder("roundtrip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let array = try IDXArray(dimensions: [2, 3, 4], data: (0..<24).map { UInt8($0 * 7) })
        for gzip in [true, false] {
            let path = dir + "/a.idx" + (gzip ? ".gz" : "")
            try IDX.write(array, to: path, gzip: gzip)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect((bytes.prefix(2) == Data([0x1f, 0x8b])) == gzip)  // gzip magic only when compressed
            #expect(try IDX.read(path: path, expectedRank: 3) == array)
        }
    }

    @Test func badMagicIsAnErrorAtByteZero() throws {
        let dir = try Self.folder("magic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bad.gz"
        try IDX.writeRaw([0x50, 0x4b, 3, 4] + [UInt8](repeating: 1, count: 32), to: path)
        let error = Self.inputError { _ = try IDX.read(path: path) }
        #expect(error?.offset == 0)
        #expect(error?.message.contains("magic") == true)
        #expect(error?.description.hasPrefix(path + " (byte 0)") == true)

        try IDX.writeRaw([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0], to: path)  // float data
        #expect(Self.inputError { _ = try IDX.read(path: path) }?.offset == 2)
        try IDX.writeRaw([0, 0], to: path)  // shorter than the magic
        #expect(Self.inputError { _ = try IDX.read(path: path) }?.message.contains("truncated") == true)
    }

    @Test func truncatedDataReportsTheOffset() throws {
        let dir = try Self.folder("truncated")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/t.gz"
        // The header promises 2x3x4 = 24 bytes; only 20 follow.
        try IDX.writeRaw(Self.header(rank: 3, [2, 3, 4]) + [UInt8](repeating: 9, count: 20), to: path)
        let error = Self.inputError { _ = try IDX.read(path: path) }
        #expect(error?.offset == 16 + 20)
        #expect(error?.message.contains("truncated") == true)
        // A tiny file claiming 40000 x 28 x 28 images (31 MB, many read pieces):
        // it fails where the file ends, with the whole section's count, and
        // nothing of the claimed size is allocated up front.
        try IDX.writeRaw(Self.header(rank: 3, [40000, 28, 28]) + [UInt8](repeating: 1, count: 100), to: path)
        let claim = Self.inputError { _ = try IDX.read(path: path) }
        #expect(claim?.offset == 16 + 100)
        #expect(claim?.message.contains("needs 31360000 bytes but the file ends after 100") == true, "\(String(describing: claim))")
        // A header cut inside the dimensions.
        try IDX.writeRaw(Self.header(rank: 3, [2, 3, 4]).prefix(10).map { $0 }, to: path)
        let cut = Self.inputError { _ = try IDX.read(path: path) }
        #expect(cut?.offset == 10 && cut?.message.contains("dimension") == true)
        // A gzip stream cut in the middle (corrupt compressed file).
        try IDX.write(try IDXArray(dimensions: [4000], data: (0..<4000).map { UInt8(truncatingIfNeeded: $0 * 31 + $0 / 7) }),
                      to: path)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
        #expect(Self.inputError { _ = try IDX.read(path: path) } != nil)
    }

    @Test func wrongDimensionsAreErrors() throws {
        let dir = try Self.folder("dims")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/d.gz"
        // Rank 1 where images (rank 3) are expected.
        try IDX.write(try IDXArray(dimensions: [5], data: [1, 2, 3, 4, 5]), to: path)
        let rank = Self.inputError { _ = try IDX.read(path: path, expectedRank: 3) }
        #expect(rank?.offset == 3 && rank?.message.contains("rank 3") == true)
        // More data than the dimensions promise.
        try IDX.writeRaw(Self.header(rank: 1, [3]) + [1, 2, 3, 4], to: path)
        let extra = Self.inputError { _ = try IDX.read(path: path) }
        #expect(extra?.offset == 8 + 3 && extra?.message.contains("after") == true)
        // A zero and an absurd dimension fail before anything is allocated.
        try IDX.writeRaw(Self.header(rank: 2, [3, 0]), to: path)
        #expect(Self.inputError { _ = try IDX.read(path: path) }?.offset == 8)
        try IDX.writeRaw(Self.header(rank: 3, [0xffff_ffff, 0xffff_ffff, 0xffff_ffff]), to: path)
        let huge = Self.inputError { _ = try IDX.read(path: path) }
        #expect(huge?.message.contains("large") == true)
        // A missing file.
        #expect(Self.inputError { _ = try IDX.read(path: dir + "/missing.gz") }?.message.contains("cannot open") == true)
    }

    @Test func loadsAFashionMNISTShapedFolder() throws {
        let dir = try Self.folder("fmnist")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (prefix, n) in [("train", 6), ("t10k", 3)] {
            let pixels = (0..<(n * 28 * 28)).map { UInt8(truncatingIfNeeded: $0 * 13) }
            try IDX.write(try IDXArray(dimensions: [n, 28, 28], data: pixels), to: "\(dir)/\(prefix)-images-idx3-ubyte.gz")
            try IDX.write(try IDXArray(dimensions: [n], data: (0..<n).map { UInt8($0 % 10) }),
                          to: "\(dir)/\(prefix)-labels-idx1-ubyte.gz")
        }
        let (train, test) = try FashionMNIST.load(directory: dir)
        #expect(train.count == 6 && test.count == 3 && train.features == 784 && train.classes == 10)
        #expect(train.x.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(train.x[1] == Float(13) / 255)
        #expect(test.y == [0, 1, 2])

        // Labels that do not match the images, and a label out of range.
        try IDX.write(try IDXArray(dimensions: [2], data: [1, 2]), to: "\(dir)/t10k-labels-idx1-ubyte.gz")
        #expect(Self.inputError { _ = try FashionMNIST.load(directory: dir) }?.message.contains("labels for the 3 images") == true)
        try IDX.write(try IDXArray(dimensions: [3], data: [1, 12, 2]), to: "\(dir)/t10k-labels-idx1-ubyte.gz")
        #expect(Self.inputError { _ = try FashionMNIST.load(directory: dir) }?.offset == 9)
        // A missing file, and a missing folder.
        try FileManager.default.removeItem(atPath: "\(dir)/t10k-labels-idx1-ubyte.gz")
        #expect(Self.inputError { _ = try FashionMNIST.load(directory: dir) }?.message.contains("missing") == true)
        #expect(Self.inputError { _ = try FashionMNIST.load(directory: dir + "/nope") }?.message.contains("no such data folder") == true)
    }
}
