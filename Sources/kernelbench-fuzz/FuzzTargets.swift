import Benchmarking
import BlockSparse
import PaperStudy
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The parsers that read input from outside the project, each with what a
/// user does after reading: a read result is also rendered, compared or
/// converted, so a value that parses but breaks the next step is found too.
///
/// Contract checked for every input: it ends in a value or in a typed error
/// (``InputError`` or ``MatrixError``). Anything else thrown is a finding;
/// a trap, a sanitizer report, a hang or an allocation past the fuzzer's
/// limit is found by the fuzzer itself.
enum FuzzTarget: String, CaseIterable {
    /// Matrix Market, read as CSR and as dense.
    case mtx
    /// IDX, gzipped or plain (zlib detects which).
    case idx
    /// safetensors: the header, then every tensor it lists.
    case safetensors
    /// `kernelbench compare` input: kernelbench or Google Benchmark JSON,
    /// compared against itself and rendered.
    case compare
    /// `kernelbench report` input: a kernelbench result file, rendered in every format.
    case report
    /// `kernelbench paper --render` input: a study's results.json, rendered.
    case paper

    var summary: String {
        switch self {
        case .mtx: return "Matrix Market (.mtx) as CSR and dense"
        case .idx: return "IDX files, gzipped or plain"
        case .safetensors: return "safetensors header and tensors"
        case .compare: return "kernelbench / Google Benchmark JSON for compare"
        case .report: return "kernelbench result JSON for report"
        case .paper: return "paper study results.json for paper --render"
        }
    }

    /// Runs one input. Returns false when it ended in a typed error.
    func run(_ data: Data, scratch: String) throws -> Bool {
        do {
            switch self {
            case .mtx:
                let path = try Self.stage(data, scratch, "input.mtx")
                let csr = try MatrixMarket.readCSR(path: path)
                let dense = try MatrixMarket.readDense(path: path)
                guard dense.rows == csr.rows, dense.cols == csr.cols else {
                    throw FuzzFinding("readCSR gave \(csr.rows)x\(csr.cols), readDense \(dense.rows)x\(dense.cols)")
                }
            case .idx:
                let array = try IDX.read(path: try Self.stage(data, scratch, "input.idx"))
                guard array.data.count == array.dimensions.reduce(1, *) else {
                    throw FuzzFinding("IDX data count \(array.data.count) != dimensions \(array.dimensions)")
                }
            case .safetensors:
                let path = try Self.stage(data, scratch, "input.safetensors")
                for tensor in try SafeTensors.tensors(in: path) {
                    do { _ = try SafeTensors.readMatrix(path: path, tensor: tensor.name) } catch is InputError {
                        continue  // one bad tensor (dtype, rank) must not hide the others
                    }
                }
            case .compare:
                let file = try ResultFile.parse(data, source: "input.json")
                let comparison = try Comparison(base: file, new: file)
                _ = comparison.markdown()
                _ = comparison.exitStatus()
            case .report:
                let report = try BenchmarkReport.load(path: try Self.stage(data, scratch, "input.json"))
                _ = ReportRenderer.markdown(report)
                _ = ReportRenderer.csv(report)
                _ = ReportRenderer.html(report)
            case .paper:
                let result = try StudyResult.decode(data, source: "results.json")
                _ = StudyReport.markdown(result)
                _ = StudyReport.html(result)
            }
            return true
        } catch is InputError {
            return false
        } catch is MatrixError {
            return false
        }
    }

    /// Writes the input to a file in `scratch` (the path parsers read files).
    static func stage(_ data: Data, _ scratch: String, _ name: String) throws -> String {
        let path = scratch + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FuzzFinding("harness: cannot create \(path): errno \(errno)") }
        defer { close(fd) }
        let written = data.withUnsafeBytes { raw in raw.count == 0 ? 0 : write(fd, raw.baseAddress, raw.count) }
        guard written == data.count else { throw FuzzFinding("harness: short write to \(path)") }
        return path
    }

    /// A private folder for staged inputs, removed at exit.
    static func makeScratch() -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/kernelbench-fuzz.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            FileHandle.standardError.write(Data("kernelbench-fuzz: cannot create a scratch folder in \(base)\n".utf8))
            exit(1)
        }
        let path = String(cString: made)
        atexit_paths.append(path)
        return path
    }
}

/// What a parser did that breaks the contract (an untyped error or an inconsistent value).
struct FuzzFinding: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

nonisolated(unsafe) var atexit_paths: [String] = []

/// Removes the scratch folders (registered once with atexit).
func removeScratchFolders() {
    for path in atexit_paths { try? FileManager.default.removeItem(atPath: path) }
}

/// Memory the parsers may plan to allocate while fuzzing: size fields in a
/// file must be refused by the memory check before they become allocations
/// (libFuzzer's -malloc_limit_mb sits above this).
let fuzzMemoryLimit = "256M"
