import BlockSparse
import Foundation

/// A run as a user asks for it (`kernelbench run`): a named suite, and the
/// axes and inputs that replace the suite's own. ``config(note:)`` turns it
/// into the ``SuiteConfig`` the runner plans.
public struct SuiteRequest: Sendable {
    public var suite: SuitePreset = .default
    /// Generated matrix shapes (rows x cols of A); empty: the suite's, unless files are given.
    public var shapes: [(rows: Int, cols: Int)] = []
    public var distribution: BlockDistribution = .uniform
    /// Matrix Market files used instead of generated matrices.
    public var matrixFiles: [String] = []
    /// A weight tensor of a .safetensors file, block-pruned per block shape to `pruneTo` when given.
    public var safetensors: (path: String, tensor: String, pruneTo: Double?)?
    /// Axes; nil: the suite's.
    public var blocks: [BlockShape]?
    public var sparsities: [Double]?
    public var ns: [Int]?
    public var threads: [Int]?
    public var formats: [CaseFormat] = CaseFormat.builtIn
    /// Vendor libraries whose case is added beside each of KernelBench's formats.
    public var peers: [Peer] = []
    public var repetitions: Int?
    public var minTime: Double?
    public var seed: UInt64 = 42
    public var filter: String?
    public var strategies: [PartitionStrategy] = [.balanced]
    public var runtimes: [ThreadingRuntime] = [.team]
    public var spinWindow: Double = WorkerTeam.defaultSpinWindow
    public var bPlacement: BPlacement?
    /// The break-even search; nil: on for the plain default suite (no axis given) when dense runs.
    public var breakEven: Bool?

    public init() {}

    /// The default suite as `make run` runs it: no axis or input of its own.
    public var isPlainDefaultSuite: Bool {
        suite == .default && shapes.isEmpty && blocks == nil && sparsities == nil && ns == nil && threads == nil
            && matrixFiles.isEmpty && safetensors == nil && filter == nil
    }

    /// The suite's block shapes unless the request names its own.
    public var blockShapes: [BlockShape] {
        blocks ?? suite.blocks.compactMap { BlockShape(parsing: $0) }
    }

    /// The configuration to plan: inputs read (and pruned), the suite's axes
    /// where the request gives none, each peer's format beside each of
    /// KernelBench's, "all" threads as `cpus`. `note` receives what a user
    /// should know about the inputs.
    /// - Throws: ``InputError`` for an unreadable or empty input.
    public func config(cpus: Int = Topology.detect().cpuCount, note: (String) -> Void = { _ in }) throws -> SuiteConfig {
        var sources: [MatrixSource] = []
        for path in matrixFiles {
            let csr = try MatrixMarket.readCSR(path: path)
            guard csr.rows >= 1, csr.cols >= 1 else {  // as a generated shape: nothing to multiply
                throw InputError(source: path, "a \(csr.rows)x\(csr.cols) matrix has nothing to multiply")
            }
            let stem = Self.sanitize(((path as NSString).lastPathComponent as NSString).deletingPathExtension)
            // Files with the same name in different folders: name the later ones stem-2, stem-3, ...
            var label = stem, copy = 1
            while sources.contains(where: { $0.label == label }) { copy += 1; label = "\(stem)-\(copy)" }
            if copy > 1 { note("kernelbench: \(path) is named \(label) in the results (another --matrix has the same name)") }
            sources.append(.fixed(label: label, matrix: csr, only: nil))
        }
        if let (path, tensor, pruneTo) = safetensors {
            let weights = try SafeTensors.readMatrix(path: path, tensor: tensor)
            if let pruneTo {
                // Block-prune by mean |w| once per block shape; each pruned
                // matrix is benchmarked at the block shape it was pruned for.
                for block in blockShapes {
                    let (pruned, mask) = try BlockPruning.pruned(weights, block: block, toSparsity: pruneTo)
                    if let warning = blockSparsityWarning(target: pruneTo, achieved: mask.blockSparsity, blocks: mask.blockCount,
                                                          matrix: "tensor '\(tensor)' (\(weights.rows)x\(weights.cols))",
                                                          block: block, pruned: true) {
                        note("kernelbench: " + warning + " (achieved_sparsity in the results)")
                    }
                    sources.append(.fixed(label: "\(Self.sanitize(tensor))-pruned\(SuiteConfig.percentLabel(pruneTo))",
                                          matrix: CSRMatrix(dense: pruned), only: block, target: pruneTo))
                }
            } else {
                sources.append(.fixed(label: Self.sanitize(tensor), matrix: CSRMatrix(dense: weights), only: nil))
            }
        }
        if shapes.isEmpty && sources.isEmpty {
            for (label, m, k) in suite.shapes {
                sources.append(.generated(label: label, rows: m, cols: k, distribution: distribution))
            }
        }
        for (m, k) in shapes {
            sources.append(.generated(label: "\(m)x\(k)", rows: m, cols: k, distribution: distribution))
        }
        var formatList = formats
        for peer in peers {
            formatList += formats.filter { $0.peer == nil }.map { peer.format(for: $0) }
        }
        var seenFormats = Set<CaseFormat>()
        formatList = formatList.filter { seenFormats.insert($0).inserted }
        var timing = suite.timing
        if let repetitions { timing.minRepetitions = repetitions }
        if let minTime { timing.minTime = minTime }
        let search = breakEven ?? (isPlainDefaultSuite && suite.breakEven && formatList.contains(.dense))
        var seenThreads = Set<Int>()
        let suiteThreads = suite.threads.map { $0 == "all" ? max(1, cpus) : Int($0)! }.filter { seenThreads.insert($0).inserted }
        return SuiteConfig(sources: sources, blocks: blockShapes, sparsities: sparsities ?? suite.sparsities,
                           ns: ns ?? suite.ns, threads: threads ?? suiteThreads,
                           formats: formatList, timing: timing, seed: seed, filter: filter, strategies: strategies,
                           runtimes: runtimes, spinWindow: spinWindow, bPlacement: bPlacement,
                           breakEven: search ? BreakEvenSearch() : nil)
    }

    /// A file or tensor name as a case-name label: characters other than
    /// letters, digits, `-`, `_` and `.` become `-`.
    static func sanitize(_ label: String) -> String {
        String(label.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "-" })
    }
}
