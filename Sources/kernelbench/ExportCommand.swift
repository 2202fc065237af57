import ArgumentParser
import Benchmarking
import BlockSparse
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a generated (or pruned) matrix as Matrix Market, so other tools can run the same matrix.",
        discussion: """
            The matrix is exactly the one `run` generates for the same shape, block, sparsity, \
            distribution and seed. With --safetensors/--tensor the real weights are written instead, \
            block-pruned by mean |w| when --prune-to is given; --shape, --sparsity, --distribution \
            and --seed describe a generated matrix and are refused there, as is --prune-to without \
            --safetensors. A warning on standard error says when the block sparsity achieved differs \
            from the target by more than one percentage point (a matrix of few blocks can only reach \
            multiples of 1/blocks).

            Examples:
              kernelbench export --shape 4096x4096 --block 8 --sparsity 0.9 --output a.mtx
              kernelbench export --safetensors model.safetensors --tensor fc1.weight --block 4 --prune-to 0.9 --output fc1.mtx
            """)

    // Generator options are optional so that giving one with --safetensors is
    // detected; their defaults are applied in run().
    @Option(help: "Matrix shape MxK (default 4096x4096; generated matrices only).")
    var shape: String?

    @Option(help: "Block size b or RxC (the pruning block with --prune-to).")
    var block: String = "8"

    @Option(help: "Target block sparsity in [0, 1] (default 0.9; generated matrices only, see --prune-to).")
    var sparsity: Double?

    @Option(help: "Block distribution: uniform, powerlaw or banded (default uniform; generated matrices only).")
    var distribution: BlockDistribution?

    @Option(help: "Generator seed, the same as `run --seed` (default 42; generated matrices only).")
    var seed: UInt64?

    @Option(help: "A .safetensors file with real weights (use with --tensor).")
    var safetensors: String?

    @Option(help: "Tensor name inside --safetensors.")
    var tensor: String?

    @Option(name: .customLong("prune-to"), help: "Block-prune the real weights by mean |w| to this block sparsity (needs --safetensors).")
    var pruneTo: Double?

    @Option(help: "Output .mtx file.")
    var output: String

    @Flag(help: "Overwrite an existing output file.")
    var force = false

    func validate() throws {
        guard BlockShape(parsing: block) != nil else { throw ValidationError("--block '\(block)' is not a block size (e.g. 8 or 4x1)") }
        if let sparsity, !(sparsity >= 0 && sparsity <= 1) { throw ValidationError("--sparsity must be in [0, 1] (got \(sparsity))") }
        if let p = pruneTo, !(p >= 0 && p <= 1) { throw ValidationError("--prune-to must be in [0, 1] (got \(p))") }
        if (safetensors == nil) != (tensor == nil) { throw ValidationError("--safetensors and --tensor go together") }
        if safetensors != nil {
            let generatorOnly = [("--shape", shape != nil), ("--sparsity", sparsity != nil),
                                 ("--distribution", distribution != nil), ("--seed", seed != nil)]
                .filter(\.1).map(\.0)
            if !generatorOnly.isEmpty {
                throw ValidationError("\(generatorOnly.joined(separator: ", ")) describe\(generatorOnly.count == 1 ? "s" : "") a generated "
                    + "matrix and cannot go with --safetensors (the tensor has its own shape; prune it with --prune-to)")
            }
        } else if pruneTo != nil {
            throw ValidationError("--prune-to prunes real weights: it needs --safetensors and --tensor "
                + "(for a generated matrix, give its block sparsity with --sparsity)")
        }
        guard !output.isEmpty else { throw ValidationError("--output is empty: name the .mtx file to write") }
        try refuseToOverwrite([output], force: force)
    }

    func run() throws {
        let blockShape = BlockShape(parsing: block)!
        let csr: CSRMatrix
        var comment: String
        if let safetensors, let tensor {
            var weights = try SafeTensors.readMatrix(path: safetensors, tensor: tensor)
            comment = "kernelbench export: \(tensor) from \((safetensors as NSString).lastPathComponent)"
            if let pruneTo {
                let pruned = try BlockPruning.pruned(weights, block: blockShape, toSparsity: pruneTo)
                weights = pruned.matrix
                comment += String(format: ", block-pruned by mean |w| to %.1f%% of %@ blocks", pruned.mask.blockSparsity * 100, blockShape.description)
                warnIfSparsityMissed(blockSparsityWarning(target: pruneTo, achieved: pruned.mask.blockSparsity,
                                                          blocks: pruned.mask.blockCount,
                                                          matrix: "tensor '\(tensor)' (\(weights.rows)x\(weights.cols))",
                                                          block: blockShape, pruned: true))
            }
            csr = CSRMatrix(dense: weights)
        } else {
            let (m, k) = try parseShape(shape ?? "4096x4096")
            let sparsity = sparsity ?? 0.9
            let spec = GeneratorSpec(rows: m, cols: k, block: blockShape, sparsity: sparsity,
                                     distribution: distribution ?? .uniform, seed: seed ?? 42)
            // Everything export holds at once, not just the non-zeros: the generator's
            // per-row lists and sampler, the BSR form and the CSR form built from it.
            try checkMemory(spec.exportPeakBytes, what: "exporting a \(m)x\(k) matrix with \(blockShape) blocks")
            let a = try BSRMatrix.random(spec)
            csr = CSRMatrix(bsr: a)
            comment = String(format: "kernelbench export: %dx%d, %@ blocks, %@ distribution, seed %llu, block sparsity %.4f",
                             m, k, blockShape.description, spec.distribution.rawValue, spec.seed, a.blockSparsity)
            warnIfSparsityMissed(blockSparsityWarning(target: sparsity, achieved: a.blockSparsity,
                                                      blocks: a.blockRowCount * a.blockColCount, matrix: "a \(m)x\(k) matrix",
                                                      block: blockShape))
        }
        try MatrixMarket.write(csr, to: output, comment: comment)
        print("wrote \(output): \(csr.rows)x\(csr.cols), \(csr.nonzeros) non-zeros")
    }

    /// Prints the warning for a block sparsity that missed its target.
    func warnIfSparsityMissed(_ warning: String?) {
        if let warning { note("kernelbench: " + warning + " (choose a smaller --block or a larger matrix).") }
    }
}
