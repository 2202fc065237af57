import Foundation
import Testing
@testable import BlockSparse
@testable import PaperStudy
import TestSupport

@Suite struct PaperPruningTests {
    // 3x5 with 2x2 blocks: a 2x3 grid whose last block row and column are edge blocks.
    static let weights: [Float] = [
        1, -1, 2, 2, 4,
        1, 1, -2, 2, 8,
        3, 0, 0, 0, -6,
    ]

    @Test func scoresUseRealElementsOfEdgeBlocksOnly() throws {
        let mask = try BlockMask(rows: 3, cols: 5, block: shape(2, 2))
        #expect(mask.blockRowCount == 2 && mask.blockColCount == 3 && mask.blockCount == 6)
        #expect((0..<6).map { mask.elementCount(ofBlock: $0) } == [4, 4, 2, 2, 2, 1])
        #expect(BlockPruning.scores(Self.weights, mask: mask, score: .meanAbs) == [1, 2, 6, 1.5, 0, 6])
        #expect(BlockPruning.scores(Self.weights, mask: mask, score: .maxAbs) == [1, 2, 8, 3, 0, 6])
        let l2 = BlockPruning.scores(Self.weights, mask: mask, score: .l2)
        let expected = [2, 4, 80.0.squareRoot(), 3, 0, 6]
        for (a, b) in zip(l2, expected) { #expect(abs(a - b) < 1e-12) }
    }

    @Test func roundRemovesLowestScoredFractionOfAliveBlocks() throws {
        var w = Self.weights
        var mask = try BlockMask(rows: 3, cols: 5, block: shape(2, 2))
        // 6 alive, 1/3 → 2 blocks: the scores 0 (block 4) and 1 (block 0).
        let removed = BlockPruning.pruneRound(fraction: 1.0 / 3, weights: &w, mask: &mask)
        #expect(removed == [4, 0])
        #expect(mask.alive == [false, true, true, true, false, true])
        #expect(Array(w[0..<2]) == [0, 0] && Array(w[5..<7]) == [0, 0])
        #expect(w[2] == 2 && w[10] == 3)  // untouched blocks keep their values
        // Element sparsity counts real elements: 4 + 2 of 15.
        #expect(abs(mask.elementSparsity - 6.0 / 15) < 1e-12)
        #expect(abs(mask.blockSparsity - 2.0 / 6) < 1e-12)

        // 20% of the *alive* blocks each round: 100 → 80 → 64 → 51.
        var big: [Float] = (0..<100).map { (i: Int) -> Float in
            let magnitude = Float(i + 1)
            return i % 2 == 0 ? magnitude : -magnitude
        }
        var m = try BlockMask(rows: 10, cols: 10, block: shape(1, 1))
        let first = BlockPruning.pruneRound(fraction: 0.2, weights: &big, mask: &m)
        #expect(first == Array(0..<20))
        #expect(m.aliveCount == 80)
        BlockPruning.pruneRound(fraction: 0.2, weights: &big, mask: &m)
        #expect(m.aliveCount == 64)
        #expect(!m.alive[35] && m.alive[36])
        BlockPruning.pruneRound(fraction: 0.2, weights: &big, mask: &m)
        #expect(m.aliveCount == 51)  // 12.8 rounds to 13
        #expect(big.filter { $0 == 0 }.count == 49)
    }

    @Test func removalCountNeverEmptiesALayer() {
        #expect(BlockPruning.removalCount(fraction: 0.1, alive: 7) == 1)
        #expect(BlockPruning.removalCount(fraction: 0.1, alive: 4) == 0)
        #expect(BlockPruning.removalCount(fraction: 1, alive: 5) == 4)
        #expect(BlockPruning.removalCount(fraction: 0.5, alive: 1) == 0)
        #expect(BlockPruning.removalCount(fraction: 0, alive: 100) == 0)
    }

    @Test func oneShotPrunesToTargetSparsity() throws {
        let original: [Float] = (0..<(12 * 9)).map { (i: Int) -> Float in Float((i * 37) % 101) - 50 }
        var w = original
        var mask = try BlockMask(rows: 12, cols: 9, block: shape(3, 3))  // 4x3 = 12 blocks
        let removed = BlockPruning.pruneToSparsity(0.75, weights: &w, mask: &mask)
        #expect(removed.count == 9)
        #expect(mask.prunedCount == 9)
        let scores = BlockPruning.scores(original, mask: try BlockMask(rows: 12, cols: 9, block: shape(3, 3)))
        let kept = mask.alive.indices.filter { mask.alive[$0] }.map { scores[$0] }
        let dropped = removed.map { scores[$0] }
        #expect(dropped.max()! <= kept.min()!)
        // Already at (or past) a lower target: nothing more is removed.
        #expect(BlockPruning.pruneToSparsity(0.5, weights: &w, mask: &mask).isEmpty)
        #expect(BlockPruning.pruneToSparsity(1.0, weights: &w, mask: &mask).count == 2)  // the last block stays
        #expect(mask.aliveCount == 1)
    }

    @Test func randomBaselineRemovesTheSameCount() throws {
        var w = [Float](repeating: 1, count: 40 * 30)
        var mask = try BlockMask(rows: 40, cols: 30, block: shape(4, 4))  // 10 x 8 = 80 blocks
        var scored = w
        var scoredMask = mask
        let byScore = BlockPruning.pruneRound(fraction: 0.2, weights: &scored, mask: &scoredMask)
        var rng = SplitMix64(seed: 5)
        let random = BlockPruning.pruneRandom(count: byScore.count, weights: &w, mask: &mask, rng: &rng)
        #expect(random.count == byScore.count && mask.prunedCount == scoredMask.prunedCount)
        #expect(Set(random).count == random.count)
        // A second round only removes alive blocks; the same seed gives the same choice.
        let again = BlockPruning.pruneRandom(count: 10, weights: &w, mask: &mask, rng: &rng)
        #expect(Set(again).isDisjoint(with: random) && mask.prunedCount == 26)
        var rng2 = SplitMix64(seed: 5)
        var m2 = try BlockMask(rows: 40, cols: 30, block: shape(4, 4))
        var w2 = [Float](repeating: 1, count: 40 * 30)
        #expect(BlockPruning.pruneRandom(count: byScore.count, weights: &w2, mask: &m2, rng: &rng2) == random)
        // More than are alive: all alive go.
        #expect(BlockPruning.pruneRandom(count: 1000, weights: &w, mask: &mask, rng: &rng).count == 54)
        #expect(w.allSatisfy { $0 == 0 })
    }

    @Test func masksKeepPrunedWeightsZeroThroughTraining() throws {
        let data = Dataset.synthetic(count: 64, features: 7, classes: 3, seed: 3)
        for optimizer in [Optimizer.adam(learningRate: 1e-2), .sgd(learningRate: 0.1, momentum: 0.9)] {
            var model = MLP(sizes: [7, 6, 5, 3], seed: 11)
            let trainer = Trainer(model: model, optimizer: optimizer, batchSize: 32, seed: 1)
            trainer.trainEpoch(data)  // non-zero optimiser state before pruning
            model = trainer.model
            var masks: [BlockMask] = []
            for l in model.layers.indices {
                var mask = try BlockMask(rows: model.layers[l].outputs, cols: model.layers[l].inputs, block: shape(2, 2))
                BlockPruning.pruneToSparsity(0.5, weights: &model.layers[l].weights, mask: &mask)
                masks.append(mask)
            }
            trainer.load(model)
            trainer.setMasks(masks.map { $0.elementMask() })
            for _ in 0..<5 { trainer.trainEpoch(data) }
            let after = trainer.model
            for (l, mask) in masks.enumerated() {
                var changed = 0
                for i in 0..<mask.rows {
                    for j in 0..<mask.cols {
                        let w = after.layers[l].weights[i * mask.cols + j]
                        if mask.isAlive(row: i, col: j) {
                            if w != model.layers[l].weights[i * mask.cols + j] { changed += 1 }
                        } else {
                            #expect(w == 0, "pruned weight (\(i), \(j)) of layer \(l) became \(w)")
                        }
                    }
                }
                #expect(changed > 0, "alive weights of layer \(l) did not train")
            }
        }
    }

    @Test(arguments: [(300, 784, 4), (100, 300, 16), (10, 100, 3), (7, 10, 4), (5, 5, 1)])
    func bsrExportRoundTrips(_ dims: (Int, Int, Int)) throws {
        let (rows, cols, b) = dims
        var rng = SplitMix64(seed: UInt64(rows * cols + b))
        var w = (0..<(rows * cols)).map { _ in rng.nextWeight() }
        var mask = try BlockMask(rows: rows, cols: cols, block: shape(b, b))
        BlockPruning.pruneToSparsity(0.7, weights: &w, mask: &mask)
        let bsr = try mask.bsr(weights: w)
        #expect(bsr.blockCount == mask.aliveCount)
        #expect(bsr.block == shape(b, b))
        let dense = DenseMatrix(bsr: bsr)
        var masked = w
        mask.apply(to: &masked)
        #expect(dense.values == masked)
        #expect(zip(mask.elementMask(), w).map { $0 * $1 } == masked)
        #expect(abs(dense.sparsity - mask.elementSparsity) < 1e-12)

        // Matrix Market: the pruned layer's non-zeros.
        let path = NSTemporaryDirectory() + "paper-export-\(rows)x\(cols)-\(b)-\(getpid()).mtx"
        defer { unlink(path) }
        try MatrixMarket.write(bsr, to: path)
        #expect(try MatrixMarket.readCSR(path: path) == CSRMatrix(bsr: bsr))
    }
}
