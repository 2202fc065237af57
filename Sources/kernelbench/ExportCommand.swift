import ArgumentParser
import BlockSparse
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a generated (or pruned) matrix as Matrix Market, so other tools can run the same matrix.",
        discussion: """
            The matrix is exactly the one `run` generates for the same shape, block, sparsity, \
            distribution and seed. With --safetensors/--tensor the real weights are written instead, \
            block-pruned by mean |w| when --prune-to is given.

            Examples:
              kernelbench export --shape 4096x4096 --block 8 --sparsity 0.9 --output a.mtx
              kernelbench export --safetensors model.safetensors --tensor fc1.weight --block 4 --prune-to 0.9 --output fc1.mtx
            """)

    @Option(help: "Matrix shape MxK.")
    var shape: String = "4096x4096"

    @Option(help: "Block size b or RxC.")
    var block: String = "8"

    @Option(help: "Target block sparsity in [0, 1].")
    var sparsity: Double = 0.9

    @Option(help: "Block distribution: uniform, powerlaw or banded.")
    var distribution: BlockDistribution = .uniform

    @Option(help: "Generator seed (the same as `run --seed`).")
    var seed: UInt64 = 42

    @Option(help: "A .safetensors file with real weights (use with --tensor).")
    var safetensors: String?

    @Option(help: "Tensor name inside --safetensors.")
    var tensor: String?

    @Option(name: .customLong("prune-to"), help: "Block-prune the real weights by mean |w| to this block sparsity.")
    var pruneTo: Double?

    @Option(help: "Output .mtx file.")
    var output: String

    @Flag(help: "Overwrite an existing output file.")
    var force = false

    func validate() throws {
        guard BlockShape(parsing: block) != nil else { throw ValidationError("--block '\(block)' is not a block size (e.g. 8 or 4x1)") }
        guard sparsity >= 0, sparsity <= 1 else { throw ValidationError("--sparsity must be in [0, 1] (got \(sparsity))") }
        if let p = pruneTo, !(p >= 0 && p <= 1) { throw ValidationError("--prune-to must be in [0, 1] (got \(p))") }
        if (safetensors == nil) != (tensor == nil) { throw ValidationError("--safetensors and --tensor go together") }
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
            }
            csr = CSRMatrix(dense: weights)
        } else {
            let (m, k) = try parseShape(shape)
            let spec = GeneratorSpec(rows: m, cols: k, block: blockShape, sparsity: sparsity,
                                     distribution: distribution, seed: seed)
            // Everything export holds at once, not just the non-zeros: the generator's
            // per-row lists and sampler, the BSR form and the CSR form built from it.
            try checkMemory(spec.exportPeakBytes, what: "exporting a \(m)x\(k) matrix with \(blockShape) blocks")
            let a = try BSRMatrix.random(spec)
            csr = CSRMatrix(bsr: a)
            comment = String(format: "kernelbench export: %dx%d, %@ blocks, %@ distribution, seed %llu, block sparsity %.4f",
                             m, k, blockShape.description, distribution.rawValue, seed, a.blockSparsity)
        }
        try MatrixMarket.write(csr, to: output, comment: comment)
        print("wrote \(output): \(csr.rows)x\(csr.cols), \(csr.nonzeros) non-zeros")
    }
}
