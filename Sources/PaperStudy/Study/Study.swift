import Foundation
import BlockSparse
import Benchmarking

/// How a pruned network is retrained after each pruning round.
public enum RetrainKind: String, Codable, Sendable, CaseIterable {
    /// Learning-rate rewinding (Renda, Frankle and Carbin, ICLR 2020): retrain
    /// with the original training schedule's learning rates, from the start.
    case rewind
    /// Fine-tuning: a few epochs at a small constant learning rate (the paper-like recipe).
    case finetune
}

/// A retraining recipe and its schedule: Adam at `learning_rate` × `decay`^(e−1) in epoch e (1-based).
public struct RetrainRecipe: Codable, Sendable, Equatable {
    public var name: RetrainKind
    public var epochs: Int
    public var learning_rate: Float
    /// The learning rate is multiplied by this after every epoch (1 = constant).
    public var decay: Float

    public init(name: RetrainKind, epochs: Int, learning_rate: Float, decay: Float) {
        self.name = name
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.decay = decay
    }

    /// The study's rewinding: 4 epochs from 1e-3, ×0.6 per epoch.
    public static func rewind(epochs: Int = 4, learningRate: Float = 1e-3, decay: Float = 0.6) -> RetrainRecipe {
        RetrainRecipe(name: .rewind, epochs: epochs, learning_rate: learningRate, decay: decay)
    }

    /// The paper-like fine-tuning: 2 epochs at 5e-4.
    public static func finetune(epochs: Int = 2, learningRate: Float = 5e-4) -> RetrainRecipe {
        RetrainRecipe(name: .finetune, epochs: epochs, learning_rate: learningRate, decay: 1)
    }

    /// The learning rate of retraining epoch `epoch` (1-based).
    public func learningRate(epoch: Int) -> Float { learning_rate * pow(decay, Float(epoch - 1)) }

    /// The learning rate of every retraining epoch, in order.
    public var schedule: [Float] { epochs > 0 ? (1...epochs).map(learningRate(epoch:)) : [] }

    /// "rewind (4 epochs, lr 0.001 ×0.6 per epoch)", "finetune (2 epochs, lr 0.0005)".
    public var label: String {
        guard epochs > 0 else { return "\(name.rawValue) (no retraining: one-shot pruning)" }
        let lr = "lr \(learning_rate)" + (decay == 1 ? "" : " ×\(decay) per epoch")
        return "\(name.rawValue) (\(epochs) epoch\(epochs == 1 ? "" : "s"), \(lr))"
    }
}

/// What the paper-reproduction study runs (recorded in the results).
public struct StudyConfig: Codable, Sendable, Equatable {
    public var quick: Bool
    /// Square block sizes b (1 = unstructured pruning).
    public var blocks: [Int]
    /// Prune/retrain rounds per block size.
    public var rounds: Int
    /// Epochs of the dense baseline.
    public var epochs: Int
    /// Retraining epochs after each pruning round.
    public var retrain_epochs: Int
    public var seed: UInt64
    public var batch_size: Int
    /// Adam learning rate of the dense baseline and of retraining.
    public var learning_rate: Float
    public var retrain_learning_rate: Float
    /// The dense baseline's learning rate is multiplied by this after every epoch.
    public var learning_rate_decay: Float
    /// Fraction of the alive blocks removed per round in the hidden layers / the output layer.
    public var hidden_fraction: Double
    public var output_fraction: Double
    public var score: BlockScore
    public var random_baseline: Bool
    /// Samples held out of the training set for model selection.
    public var validation_size: Int
    /// Training samples used (before the validation split); nil = all.
    public var train_limit: Int?
    /// Test samples used; nil = all.
    public var test_limit: Int?
    public var timing_batches: [Int]
    public var timing: TimingPolicy
    /// When > 1, every level is also timed at this many threads (OpenBLAS
    /// threads for dense, the parallel driver for BSR and CSR); nil or 1:
    /// single-threaded timings only (nil in results written before this
    /// option existed).
    public var timing_threads: Int?
    /// OpenBLAS and driver threads for training and accuracy evaluation.
    public var train_threads: Int
    public var layer_sizes: [Int]
    public var data_directory: String
    /// Retraining recipes, each run for every seed (nil in results written
    /// before recipes existed: fine-tuning with `retrain_epochs` and
    /// `retrain_learning_rate`).
    public var recipes: [RetrainRecipe]?
    /// Seeds, each a full replicate (dense baseline, every block size, the
    /// random baseline); nil in older results: `seed` only. `seed` is the first.
    public var seeds: [UInt64]?

    /// The recipes this study runs (fine-tuning for results without `recipes`).
    public var retrainRecipes: [RetrainRecipe] {
        recipes ?? [.finetune(epochs: retrain_epochs, learningRate: retrain_learning_rate)]
    }

    /// The seeds this study runs.
    public var studySeeds: [UInt64] { seeds ?? [seed] }

    /// The full study: LeNet-300-100, block sizes 1–16, the paper's schedule
    /// (20% of the alive blocks per round in the hidden layers, 10% in the
    /// output layer) for 16 rounds, which reaches about 97% hidden sparsity.
    public static func full(dataDirectory: String = FashionMNIST.defaultDirectory,
                            threads: Int = Topology.detect().cpuCount) -> StudyConfig {
        StudyConfig(quick: false, blocks: [1, 2, 3, 4, 5, 6, 8, 16], rounds: 16, epochs: 20, retrain_epochs: 2,
                    seed: 2021, batch_size: 128, learning_rate: 1e-3, retrain_learning_rate: 5e-4,
                    learning_rate_decay: 0.9,
                    hidden_fraction: 0.2, output_fraction: 0.1, score: .meanAbs, random_baseline: true,
                    validation_size: 6000, train_limit: nil, test_limit: nil, timing_batches: [1, 64],
                    timing: TimingPolicy(minRepetitions: 5, minTime: 0.04, maxRepetitions: 1000, warmup: 0.01,
                                         minRepetitionTime: 0.0005),
                    timing_threads: threads > 1 ? threads : nil,
                    train_threads: threads, layer_sizes: [784, 300, 100, 10], data_directory: dataDirectory,
                    recipes: [.rewind()], seeds: [2021])
    }

    /// `--quick`: 10,000 training samples (2,000 of them for validation), 5,000 test samples,
    /// 11 rounds (about 91% hidden sparsity), 5 dense epochs and 1 retraining
    /// epoch per round (rewinding: lr 1e-3; fine-tuning: 5e-4), short timings.
    public static func quickMode(dataDirectory: String = FashionMNIST.defaultDirectory,
                                 threads: Int = Topology.detect().cpuCount) -> StudyConfig {
        var c = full(dataDirectory: dataDirectory, threads: threads)
        c.quick = true
        c.rounds = 11
        c.epochs = 5
        c.retrain_epochs = 1
        // One rewinding epoch (lr 1e-3) keeps quick mode within about 2 minutes on 2 cores.
        c.recipes = [.rewind(epochs: 1)]
        c.validation_size = 2000
        c.train_limit = 10000
        c.test_limit = 5000
        c.timing = TimingPolicy(minRepetitions: 3, minTime: 0.005, maxRepetitions: 200, warmup: 0.002,
                                minRepetitionTime: 0.0002)
        return c
    }

    /// The thread count of the threaded timings: `timing_threads` when > 1, else nil.
    public var threadedTimingCount: Int? { timing_threads.flatMap { $0 > 1 ? $0 : nil } }

    /// Thread counts every level is timed at: 1, then the threaded count if any.
    public var timingThreadCounts: [Int] { [1] + (threadedTimingCount.map { [$0] } ?? []) }

    /// Hidden-layer sparsity the schedule reaches after `rounds` rounds (ignoring rounding).
    public var scheduledHiddenSparsity: Double { 1 - pow(1 - hidden_fraction, Double(rounds)) }
}

/// One epoch of training: loss and validation accuracy.
public struct EpochLog: Codable, Sendable, Equatable {
    public var epoch: Int
    public var train_loss: Double
    public var validation_accuracy: Double
}

/// The dense baseline.
public struct DenseResult: Codable, Sendable, Equatable {
    public var epochs: [EpochLog]
    /// The epoch picked by validation accuracy.
    public var selected_epoch: Int
    public var validation_accuracy: Double
    public var test_accuracy: Double
    public var test_loss: Double
    public var seconds: Double
}

/// Accuracy of one pruned network (model picked by validation accuracy among the retraining epochs).
public struct PrunedOutcome: Codable, Sendable, Equatable {
    public var validation_accuracy: Double
    public var test_accuracy: Double
    public var test_loss: Double
    /// The retraining epoch picked on validation accuracy (1-based; 0: as pruned); nil in older results.
    public var selected_epoch: Int?

    public init(validation_accuracy: Double, test_accuracy: Double, test_loss: Double, selected_epoch: Int? = nil) {
        self.validation_accuracy = validation_accuracy
        self.test_accuracy = test_accuracy
        self.test_loss = test_loss
        self.selected_epoch = selected_epoch
    }
}

/// One replicate of the study: one retraining recipe on one seed.
public struct StudyReplicate: Codable, Sendable, Equatable {
    public var recipe: RetrainRecipe
    public var seed: UInt64
    public var dense: DenseResult?
    /// Accuracies and sparsities per level; timings are kept only in the
    /// result's top-level `runs` (the first replicate's), so `timings` is empty here.
    public var runs: [BlockRun]

    public init(recipe: RetrainRecipe, seed: UInt64, dense: DenseResult?, runs: [BlockRun]) {
        self.recipe = recipe
        self.seed = seed
        self.dense = dense
        self.runs = runs
    }
}

/// One sparsity level reached by one block size.
public struct StudyLevel: Codable, Sendable, Equatable {
    public var round: Int
    /// Fraction of the hidden layers' weights (layers 1 and 2) in pruned blocks.
    public var hidden_sparsity: Double
    /// Fraction of the output layer's weights in pruned blocks.
    public var output_sparsity: Double
    /// Fraction of all weights in pruned blocks.
    public var overall_sparsity: Double
    public var layer_sparsity: [Double]
    public var alive_blocks: [Int]
    public var total_blocks: [Int]
    /// Blocks removed in this round per layer (the random baseline removes the same counts).
    public var removed_blocks: [Int]
    public var score: PrunedOutcome
    public var random: PrunedOutcome?
    /// Test accuracy of the score-pruned network computed through the BSR
    /// kernels and the parallel driver (must agree with `score.test_accuracy`).
    public var sparse_path_test_accuracy: Double
    /// One entry per timed batch size at one thread, then (with
    /// `timing_threads` > 1) one per batch size at that many threads.
    public var timings: [NetworkTiming]

    /// The timing at a batch size and thread count, if measured.
    public func timing(batch: Int, threads: Int = 1) -> NetworkTiming? {
        timings.first { $0.batch == batch && $0.threadCount == threads }
    }
}

/// All levels of one block size.
public struct BlockRun: Codable, Sendable, Equatable {
    public var block: Int
    public var levels: [StudyLevel]
    public var seconds: Double
}

/// One of the issue's four claims, judged on the measurements.
public struct Claim: Codable, Sendable, Equatable {
    public var id: Int
    public var statement: String
    /// nil when the run does not contain what the claim needs.
    public var holds: Bool?
    public var evidence: String
    /// The retraining recipe the claim was judged under (nil: it does not depend on one, or older results).
    public var recipe: RetrainKind?
}

/// Everything the study measured (written as results.json).
public struct StudyResult: Codable, Sendable {
    public var command: String
    public var config: StudyConfig
    public var context: MachineContext
    public var train_samples: Int
    public var validation_samples: Int
    public var test_samples: Int
    public var dense: DenseResult?
    public var runs: [BlockRun]
    public var runtime_seconds: Double
    /// False while block sizes are still missing (an interrupted study keeps what it finished).
    public var complete: Bool
    public var claims: [Claim]
    /// What the worker team costs a product beyond its work with
    /// `config.timing_threads` threads (``ForkJoinCost/beyondIdeal``),
    /// measured before the first threaded timing; a sparse product whose
    /// one-thread time is under 10x this runs on one thread. nil when no
    /// threaded timing was asked for (and in older results).
    public var timing_fork_join_overhead: Double?
    /// Results written before the worker team: the same threshold's
    /// concurrentPerform overhead (read for their reports, never written).
    public var timing_dispatch_overhead: Double?
    /// Every (recipe, seed) pair run so far, recipe-major within each seed;
    /// `dense` and `runs` above are the first one's (with the timings). nil in
    /// results written before recipes and seeds: see ``allReplicates``.
    public var replicates: [StudyReplicate]?
    /// True when each round's score and random chains trained side by side,
    /// one OpenBLAS thread each (``PruningRun/retrain(_:_:train:validation:test:threads:)``);
    /// nil in results written before that, which trained them one after the other.
    public var side_by_side_chains: Bool?

    /// Every replicate: `replicates`, or for older results the one run they hold.
    public var allReplicates: [StudyReplicate] {
        replicates ?? [StudyReplicate(recipe: config.retrainRecipes[0], seed: config.seed, dense: dense, runs: runs)]
    }

    /// The timed runs in order of block size (the study runs them in `config.blocks` order).
    public var runsBySize: [BlockRun] { runs.sorted { $0.block < $1.block } }

    /// The replicates of one recipe (one per seed run).
    public func replicates(_ recipe: RetrainKind) -> [StudyReplicate] {
        allReplicates.filter { $0.recipe.name == recipe }
    }

    /// The recipes present, in the configured order.
    public var recipesRun: [RetrainRecipe] {
        var seen: [RetrainRecipe] = []
        for r in allReplicates.map(\.recipe) where !seen.contains(where: { $0.name == r.name }) { seen.append(r) }
        return seen
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                      nan: "nan")
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data, source: String) throws -> StudyResult {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf",
                                                                        negativeInfinity: "-inf", nan: "nan")
        do { return try decoder.decode(StudyResult.self, from: data) } catch let error as DecodingError {
            throw InputError(source: source, "not a paper study result: \(describe(error))")
        }
    }
}

/// The study: dense baseline, then iterative block pruning with retraining
/// for each block size, a random-block baseline, and inference timings.
public enum Study {
    /// Runs the study on `train` (split into training and validation) and `test`.
    ///
    /// - Parameters:
    ///   - progress: receives one line per epoch / round (round i/n, sparsity, accuracy, ETA).
    ///   - checkpoint: receives the result so far after the dense baseline and after each block size.
    ///   - finished: receives each block size's last score-pruned network (BSR layers), e.g. for export.
    /// - Throws: ``VerificationFailure`` when a timed product disagrees with the reference,
    ///   errors from `checkpoint`, ``MatrixError`` on inconsistent shapes.
    public static func run(config: StudyConfig, train fullTrain: Dataset, test fullTest: Dataset, command: String,
                           progress: (String) -> Void = { _ in },
                           checkpoint: (StudyResult) throws -> Void = { _ in },
                           finished: (Int, SparseNetwork) throws -> Void = { _, _ in }) throws -> StudyResult {
        let start = monotonicNanoseconds()
        func elapsed() -> Double { Double(monotonicNanoseconds() - start) * 1e-9 }
        guard fullTrain.features == config.layer_sizes[0], fullTest.features == config.layer_sizes[0] else {
            throw MatrixError.shapeMismatch(
                "the data has \(fullTrain.features) features but the network's input layer has \(config.layer_sizes[0])")
        }
        let limited = config.train_limit.map { fullTrain.prefix($0) } ?? fullTrain
        let test = config.test_limit.map { fullTest.prefix($0) } ?? fullTest
        let layerCount = config.layer_sizes.count - 1
        let seeds = config.studySeeds, recipes = config.retrainRecipes
        let validationCount = min(config.validation_size, limited.count / 2)

        var result = StudyResult(command: command, config: config, context: MachineContext.current(),
                                 train_samples: limited.count - validationCount, validation_samples: validationCount,
                                 test_samples: test.count, dense: nil, runs: [], runtime_seconds: 0,
                                 complete: false, claims: [])
        result.replicates = []
        result.side_by_side_chains = config.random_baseline && config.train_threads > 1
        result.timing_fork_join_overhead = config.threadedTimingCount.map {
            ForkJoinCost.measure(.team, threads: $0).beyondIdeal
        }
        let forkJoinOverhead = result.timing_fork_join_overhead ?? 0
        // Work units for the ETA: one per training epoch.
        let variants = config.random_baseline ? 2 : 1
        let retrainUnits = recipes.map { max($0.epochs, 1) }.reduce(0, +)
        let totalUnits = seeds.count * (config.epochs + config.blocks.count * config.rounds * retrainUnits * variants)
        var doneUnits = 0
        func eta() -> String {
            guard doneUnits > 0 else { return "?" }
            return formatDuration(elapsed() / Double(doneUnits) * Double(totalUnits - doneUnits))
        }
        func checkpointAll() throws {
            result.runtime_seconds = elapsed()
            result.claims = evaluateClaims(result)
            try checkpoint(result)
        }

        // Dense baselines, one per seed (shared by that seed's recipes).
        let several = seeds.count > 1 || recipes.count > 1
        func seedTag(_ si: Int) -> String { seeds.count > 1 ? "seed \(seeds[si]) (\(si + 1)/\(seeds.count)): " : "" }
        var splits: [(train: Dataset, validation: Dataset)] = []
        var denseModels: [MLP] = []
        for (si, seed) in seeds.enumerated() {
            let (train, validation) = limited.split(validation: validationCount, seed: seed &+ 17)
            splits.append((train, validation))
            DenseBaseline.setThreads(config.train_threads)
            let denseStart = elapsed()
            let denseTrainer = Trainer(model: MLP(sizes: config.layer_sizes, seed: seed),
                                       optimizer: .adam(learningRate: config.learning_rate),
                                       batchSize: config.batch_size, seed: seed &+ 1)
            var logs: [EpochLog] = []
            var best = (accuracy: -1.0, epoch: 0, model: denseTrainer.model)
            for epoch in 1...max(config.epochs, 1) {
                denseTrainer.optimizer = .adam(learningRate: config.learning_rate
                                               * pow(config.learning_rate_decay, Float(epoch - 1)))
                let loss = denseTrainer.trainEpoch(train)
                let accuracy = denseTrainer.model.evaluate(validation).accuracy
                logs.append(EpochLog(epoch: epoch, train_loss: loss, validation_accuracy: accuracy))
                if accuracy > best.accuracy { best = (accuracy, epoch, denseTrainer.model) }
                doneUnits += 1
                progress(seedTag(si) + String(format: "dense epoch %d/%d: loss %.4f, validation %.2f%%, ETA %@", epoch,
                                              config.epochs, loss, accuracy * 100, eta()))
            }
            denseModels.append(best.model)
            let denseTest = best.model.evaluate(test)
            let dense = DenseResult(epochs: logs, selected_epoch: best.epoch, validation_accuracy: best.accuracy,
                                    test_accuracy: denseTest.accuracy, test_loss: denseTest.loss,
                                    seconds: elapsed() - denseStart)
            progress(seedTag(si) + String(format: "dense baseline: epoch %d selected, test accuracy %.2f%%", best.epoch,
                                          denseTest.accuracy * 100))
            for recipe in recipes {
                result.replicates!.append(StudyReplicate(recipe: recipe, seed: seed, dense: dense, runs: []))
            }
            if si == 0 { result.dense = dense }
            try checkpointAll()
        }

        // Block-major: every seed and recipe finishes a block size before the next
        // block size starts, so an interrupted study holds balanced replicates.
        for (bi, b) in config.blocks.enumerated() {
            for (si, seed) in seeds.enumerated() {
                var seedConfig = config
                seedConfig.seed = seed
                let (train, validation) = splits[si]
                let denseModel = denseModels[si]
                for (ri, recipe) in recipes.enumerated() {
                    // The first replicate is the timed one; its runs are the result's top-level runs.
                    let primary = si == 0 && ri == 0
                    let index = si * recipes.count + ri
                    let rtag = seedTag(si) + (several ? "\(recipe.name.rawValue): " : "")
                    let blockStart = elapsed()
                    let shape = try BlockShape(square: b)
                    let scoreRun = PruningRun(model: denseModel, config: seedConfig, recipe: recipe, shape: shape)
                    let randomRun = config.random_baseline
                        ? PruningRun(model: denseModel, config: seedConfig, recipe: recipe, shape: shape) : nil
                    var rng = SplitMix64(seed: seed &+ 7919 &* UInt64(b))
                    var levels: [StudyLevel] = []
                    for round in 1...max(config.rounds, 1) where config.rounds > 0 {
                        var removed: [Int] = []
                        for l in 0..<layerCount {
                            let fraction = l == layerCount - 1 ? config.output_fraction : config.hidden_fraction
                            removed.append(scoreRun.pruneByScore(layer: l, fraction: fraction, score: config.score))
                            randomRun?.pruneRandom(layer: l, count: removed[l], rng: &rng)
                        }
                        let (scoreOutcome, randomOutcome) = PruningRun.retrain(
                            scoreRun, randomRun, train: train, validation: validation, test: test,
                            threads: config.train_threads)
                        doneUnits += max(recipe.epochs, 1) * (randomRun == nil ? 1 : 2)
                        let sparse = try SparseNetwork(model: scoreRun.model, masks: scoreRun.masks)
                        let sparseAccuracy = try sparse.accuracy(on: test, threads: config.train_threads)
                        var timings: [NetworkTiming] = []
                        for threads in config.timingThreadCounts where primary {
                            for batch in config.timing_batches {
                                timings.append(try InferenceTimer.time(model: scoreRun.model, masks: scoreRun.masks,
                                                                       inputs: test, batch: batch,
                                                                       policy: config.timing, threads: threads,
                                                                       forkJoinOverhead: forkJoinOverhead))
                            }
                        }
                        DenseBaseline.setThreads(config.train_threads)
                        let level = scoreRun.level(round: round, removed: removed, score: scoreOutcome,
                                                   random: randomOutcome, sparseAccuracy: sparseAccuracy,
                                                   timings: timings)
                        levels.append(level)
                        var line = String(format: "block %dx%d (%d/%d) round %d/%d: hidden sparsity %.1f%%, test %.2f%%",
                                          b, b, bi + 1, config.blocks.count, round, config.rounds,
                                          level.hidden_sparsity * 100, scoreOutcome.test_accuracy * 100)
                        if let r = randomOutcome { line += String(format: " (random %.2f%%)", r.test_accuracy * 100) }
                        for t in timings where t.batch == config.timing_batches.max() {
                            line += String(format: ", batch %d x %d thread%@: BSR %.2fx dense, %.2fx CSR", t.batch,
                                           t.threadCount, t.threadCount == 1 ? "" : "s", t.speedup_bsr_vs_dense,
                                           t.speedup_bsr_vs_csr)
                        }
                        progress(rtag + line + ", ETA " + eta())
                    }
                    let run = BlockRun(block: b, levels: levels, seconds: elapsed() - blockStart)
                    if primary {
                        result.runs.append(run)
                        try finished(b, try SparseNetwork(model: scoreRun.model, masks: scoreRun.masks))
                    }
                    var untimed = run
                    for i in untimed.levels.indices { untimed.levels[i].timings = [] }
                    result.replicates![index].runs.append(untimed)
                    result.complete = si == seeds.count - 1 && ri == recipes.count - 1 && bi == config.blocks.count - 1
                    try checkpointAll()
                }
            }
        }
        if config.blocks.isEmpty {
            result.complete = true
            try checkpointAll()
        }
        return result
    }

    /// Formats seconds as "1h02m", "3m05s" or "42s".
    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e12 else { return "n/a" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}

/// One chain of prune/retrain rounds (score-based or random) for one block size.
final class PruningRun {
    let config: StudyConfig
    let trainer: Trainer
    private(set) var masks: [BlockMask]
    private(set) var model: MLP

    let recipe: RetrainRecipe
    /// The learning rate of each epoch of the last retraining (for tests and logs).
    private(set) var lastLearningRates: [Float] = []

    init(model: MLP, config: StudyConfig, recipe: RetrainRecipe, shape: BlockShape) {
        self.config = config
        self.recipe = recipe
        self.model = model
        // Both chains of one block size see the same data order (same seed).
        trainer = Trainer(model: model, optimizer: .adam(learningRate: recipe.learning_rate),
                          batchSize: config.batch_size, seed: config.seed &+ 31 &* UInt64(shape.rows))
        masks = model.layers.map { try! BlockMask(rows: $0.outputs, cols: $0.inputs, block: shape) }
    }

    func pruneByScore(layer l: Int, fraction: Double, score: BlockScore) -> Int {
        BlockPruning.pruneRound(fraction: fraction, weights: &model.layers[l].weights, mask: &masks[l],
                                score: score).count
    }

    func pruneRandom(layer l: Int, count: Int, rng: inout SplitMix64) {
        BlockPruning.pruneRandom(count: count, weights: &model.layers[l].weights, mask: &masks[l], rng: &rng)
    }

    /// Retrains one round's score chain and, if any, its random chain with
    /// `threads` threads. With two or more, the chains run side by side with
    /// one OpenBLAS thread each: LeNet's products at batch 128 are too small
    /// for a second OpenBLAS thread to pay (an epoch took 1.45 s at one and
    /// at two threads on a 2-core Zen 3), so two chains take half the time
    /// of one after the other. A chain's numbers do not depend on what runs
    /// beside it. Leaves OpenBLAS at `threads` threads.
    static func retrain(_ score: PruningRun, _ random: PruningRun?, train: Dataset, validation: Dataset,
                        test: Dataset, threads: Int) -> (score: PrunedOutcome, random: PrunedOutcome?) {
        guard let random, threads > 1 else {
            DenseBaseline.setThreads(threads)
            return (score.retrain(train: train, validation: validation, test: test),
                    random?.retrain(train: train, validation: validation, test: test))
        }
        DenseBaseline.setThreads(1)
        defer { DenseBaseline.setThreads(threads) }
        var outcomes: [PrunedOutcome?] = [nil, nil]
        outcomes.withUnsafeMutableBufferPointer { slots in
            // Each iteration touches only its own chain and its own slot.
            nonisolated(unsafe) let slots = slots, chains = [score, random]
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                slots[i] = chains[i].retrain(train: train, validation: validation, test: test)
            }
        }
        return (outcomes[0]!, outcomes[1]!)
    }

    /// Retrains under the masks and keeps the epoch with the best validation accuracy.
    func retrain(train: Dataset, validation: Dataset, test: Dataset) -> PrunedOutcome {
        trainer.load(model)
        trainer.setMasks(masks.map { $0.elementMask() })
        trainer.resetOptimizer()
        var best = (accuracy: -1.0, epoch: 0, model: model)
        lastLearningRates = []
        for (e, rate) in recipe.schedule.enumerated() {
            // Adam's moments carry over between epochs; only the step size follows the schedule.
            trainer.optimizer = .adam(learningRate: rate)
            lastLearningRates.append(rate)
            trainer.trainEpoch(train)
            let candidate = trainer.model
            let accuracy = candidate.evaluate(validation).accuracy
            if accuracy > best.accuracy { best = (accuracy, e + 1, candidate) }
        }
        if best.accuracy < 0 { best.accuracy = model.evaluate(validation).accuracy }
        model = best.model
        let t = model.evaluate(test)
        return PrunedOutcome(validation_accuracy: best.accuracy, test_accuracy: t.accuracy, test_loss: t.loss,
                             selected_epoch: best.epoch)
    }

    func level(round: Int, removed: [Int], score: PrunedOutcome, random: PrunedOutcome?, sparseAccuracy: Double,
               timings: [NetworkTiming]) -> StudyLevel {
        let sizes = masks.map { Double($0.rows * $0.cols) }
        let pruned = masks.map { $0.elementSparsity * Double($0.rows * $0.cols) }
        let hidden = masks.count - 1
        let hiddenSparsity = hidden == 0 ? 0 : pruned[..<hidden].reduce(0, +) / sizes[..<hidden].reduce(0, +)
        return StudyLevel(round: round, hidden_sparsity: hiddenSparsity, output_sparsity: masks.last!.elementSparsity,
                          overall_sparsity: pruned.reduce(0, +) / sizes.reduce(0, +),
                          layer_sparsity: masks.map(\.elementSparsity), alive_blocks: masks.map(\.aliveCount),
                          total_blocks: masks.map(\.blockCount), removed_blocks: removed, score: score,
                          random: random, sparse_path_test_accuracy: sparseAccuracy, timings: timings)
    }
}
