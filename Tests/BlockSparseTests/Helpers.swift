import Foundation
import Testing
@testable import BlockSparse

/// FNV-1a over the bit patterns of a matrix's arrays: a checksum that pins
/// generator output across machines.
func checksum(_ m: BSRMatrix) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ x: UInt64) { h = (h ^ x) &* 0x100_0000_01b3 }
    for p in m.rowPointers { mix(UInt64(UInt32(bitPattern: p))) }
    for c in m.columnIndices { mix(UInt64(UInt32(bitPattern: c))) }
    for v in m.values { mix(UInt64(v.bitPattern)) }
    return h
}

func shape(_ r: Int, _ c: Int) -> BlockShape { try! BlockShape(rows: r, cols: c) }

func randomBSR(_ rows: Int, _ cols: Int, _ r: Int, _ c: Int, sparsity: Double,
               _ distribution: BlockDistribution = .uniform, seed: UInt64 = 7) -> BSRMatrix {
    try! BSRMatrix.random(GeneratorSpec(rows: rows, cols: cols, block: shape(r, c), sparsity: sparsity,
                                        distribution: distribution, seed: seed))
}

/// Runs the built `kernelbench` executable in a fresh temporary folder, the
/// way a user types it: the process helper of the end-to-end CLI suites.
struct CLIRunner {
    struct Result { let code: Int32; let out: String; let err: String }

    static let binary: String? = {
        // The test bundle sits in the same build folder as the executable.
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("kernelbench").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    /// The working folder of every command this runner starts.
    let dir: String

    init(prefix: String) {
        dir = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    /// Runs the executable with `args` in `dir`; with `shell`, runs /bin/sh
    /// with `args` instead (to set a ulimit first).
    func run(_ args: [String], env: [String: String] = [:], shell: Bool = false) throws -> Result {
        let path = try #require(CLIRunner.binary, "kernelbench executable not found next to the test bundle (swift build first)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: shell ? "/bin/sh" : path)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(code: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }
}
