import Benchmarking
import BlockSparse
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Two entry points over the same targets (FuzzTargets.swift):
// - built with `-Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING`
//   (scripts/fuzz.sh), libFuzzer drives LLVMFuzzerTestOneInput; the target
//   is chosen by KERNELBENCH_FUZZ_TARGET;
// - in an ordinary build, `kernelbench-fuzz TARGET PATH...` replays files
//   (a committed corpus, a crash reproducer) through the same code.

#if FUZZING
import CLibFuzzer

nonisolated(unsafe) var fuzzTarget = FuzzTarget.mtx
nonisolated(unsafe) var fuzzScratch = ""

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>,
                           _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let name = ProcessInfo.processInfo.environment["KERNELBENCH_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("kernelbench-fuzz: set KERNELBENCH_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    fuzzTarget = target
    setenv("KERNELBENCH_MEMORY_LIMIT", fuzzMemoryLimit, 1)
    fuzzScratch = FuzzTarget.makeScratch()
    atexit { removeScratchFolders() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    do {
        _ = try fuzzTarget.run(data, scratch: fuzzScratch)
    } catch {
        FileHandle.standardError.write(Data("kernelbench-fuzz: \(fuzzTarget.rawValue): untyped error or inconsistent value: \(error)\n".utf8))
        abort()
    }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to this name): libFuzzer's driver.
@_cdecl("kernelbench_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzzTestOneInput($0, $1) }
}
#else
@main
struct Replay {
    static let usage = """
        USAGE: kernelbench-fuzz TARGET PATH...

        Replays inputs through one parser's fuzz target, the same code that
        scripts/fuzz.sh drives with libFuzzer. Each PATH is a file or a folder
        (its files, not recursive). Every input must end in a value or in a
        typed error (InputError, MatrixError); anything else is reported and
        the exit status is 1. Size fields are held to \(fuzzMemoryLimit)B of
        planned allocation, as under the fuzzer.

        TARGETS:
        \(FuzzTarget.allCases.map { "  \($0.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0))\($0.summary)" }.joined(separator: "\n"))

        EXAMPLE:
          kernelbench-fuzz mtx Tests/fuzz/corpus/mtx
        """

    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.isEmpty || args.contains("-h") || args.contains("--help") {
            print(usage)
            exit(args.isEmpty ? 2 : 0)
        }
        guard let target = FuzzTarget(rawValue: args[0]) else {
            fail("unknown target '\(args[0])' (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard args.count > 1 else { fail("give at least one file or folder to replay") }
        var files: [String] = []
        for path in args.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { fail("\(path): no such file or folder") }
            if isDirectory.boolValue {
                guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { fail("\(path): cannot list") }
                files += names.sorted().map { "\(path)/\($0)" }.filter {
                    var d: ObjCBool = false
                    return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue
                }
            } else {
                files.append(path)
            }
        }
        setenv("KERNELBENCH_MEMORY_LIMIT", fuzzMemoryLimit, 1)
        let scratch = FuzzTarget.makeScratch()
        defer { removeScratchFolders() }
        var values = 0, typed = 0, findings = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { fail("\(file): cannot read") }
            do {
                if try target.run(data, scratch: scratch) { values += 1 } else { typed += 1 }
            } catch {
                findings += 1
                print("FINDING \(file): \(error)")
            }
        }
        print("\(target.rawValue): \(files.count) inputs: \(values) values, \(typed) typed errors, \(findings) findings")
        if findings > 0 { removeScratchFolders(); exit(1) }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("kernelbench-fuzz: \(message)\n".utf8))
        removeScratchFolders()
        exit(2)
    }
}
#endif
