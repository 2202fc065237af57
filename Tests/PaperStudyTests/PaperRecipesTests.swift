import Foundation
import Testing
@testable import BlockSparse
@testable import PaperStudy
@testable import Benchmarking

/// Retraining recipes (rewinding and fine-tuning), seeds and their aggregation.
@Suite(.serialized) struct PaperRecipesTests {
    static let data = Dataset.synthetic(count: 600, features: 24, classes: 4, spread: 0.25, seed: 42)

    static func tinyConfig() -> StudyConfig {
        var config = StudyConfig.quickMode(threads: 1)
        config.layer_sizes = [24, 20, 12, 4]
        config.blocks = [1, 2, 4]
        config.rounds = 4
        config.epochs = 2
        config.batch_size = 32
        config.hidden_fraction = 0.5
        config.validation_size = 100
        config.train_limit = nil
        config.timing_batches = [1, 4]
        config.timing_threads = nil
        config.timing = TimingPolicy(minRepetitions: 1, minTime: 0, maxRepetitions: 1, warmup: 0, minRepetitionTime: 0)
        return config
    }

    @Test func recipeSchedulesGiveTheLearningRatePerEpoch() {
        let rewind = RetrainRecipe.rewind()
        #expect(rewind.name == .rewind && rewind.epochs == 4)
        let expected: [Float] = [1e-3, 6e-4, 3.6e-4, 2.16e-4]
        #expect(rewind.schedule.count == 4)
        #expect(zip(rewind.schedule, expected).allSatisfy { abs($0 - $1) <= 1e-9 })
        #expect(RetrainRecipe.finetune().schedule == [5e-4, 5e-4])
        #expect(RetrainRecipe.finetune(epochs: 0, learningRate: 1e-4).schedule.isEmpty)
        #expect(rewind.label == "rewind (4 epochs, lr 0.001 ×0.6 per epoch)")
        #expect(RetrainRecipe.finetune().label == "finetune (2 epochs, lr 0.0005)")
        // The defaults: the full study rewinds (4 epochs), quick mode 1 epoch.
        #expect(StudyConfig.full(threads: 1).retrainRecipes == [.rewind()])
        #expect(StudyConfig.quickMode(threads: 1).retrainRecipes == [.rewind(epochs: 1)])
    }

    /// Retraining a pruned network on a tiny synthetic dataset steps through each
    /// recipe's schedule, and picks its epoch on validation accuracy.
    @Test func retrainingFollowsTheRecipeOnSyntheticData() throws {
        let (train, validation) = Self.data.split(validation: 100, seed: 1)
        let trainer = Trainer(model: MLP(sizes: [24, 20, 12, 4], seed: 3), batchSize: 32, seed: 4)
        for _ in 0..<2 { trainer.trainEpoch(train) }
        let config = Self.tinyConfig()
        for recipe in [RetrainRecipe.rewind(epochs: 3, learningRate: 2e-3, decay: 0.5), .finetune(epochs: 2, learningRate: 1e-4),
                       .finetune(epochs: 0)] {
            let run = PruningRun(model: trainer.model, config: config, recipe: recipe, shape: try BlockShape(square: 2))
            for l in 0..<3 { _ = run.pruneByScore(layer: l, fraction: 0.5, score: .meanAbs) }
            let outcome = run.retrain(train: train, validation: validation, test: validation)
            #expect(run.lastLearningRates == recipe.schedule, "\(recipe.label)")
            let selected = try #require(outcome.selected_epoch)
            #expect(recipe.epochs == 0 ? selected == 0 : (1...recipe.epochs).contains(selected))
            #expect((0...1).contains(outcome.test_accuracy) && outcome.validation_accuracy >= 0)
        }
        #expect(RetrainRecipe.rewind(epochs: 3, learningRate: 2e-3, decay: 0.5).schedule == [2e-3, 1e-3, 5e-4])
    }

    /// The score and random chains of a round run side by side with two
    /// threads; each gives exactly what it gives alone on one thread.
    @Test func sideBySideChainsMatchOneAfterTheOther() throws {
        let (train, validation) = Self.data.split(validation: 100, seed: 1)
        let trainer = Trainer(model: MLP(sizes: [24, 20, 12, 4], seed: 3), batchSize: 32, seed: 4)
        trainer.trainEpoch(train)
        let config = Self.tinyConfig()
        func chains() throws -> (PruningRun, PruningRun) {
            let shape = try BlockShape(square: 2)
            let score = PruningRun(model: trainer.model, config: config, recipe: .rewind(epochs: 2), shape: shape)
            let random = PruningRun(model: trainer.model, config: config, recipe: .rewind(epochs: 2), shape: shape)
            var rng = SplitMix64(seed: 9)
            for l in 0..<3 {
                let removed = score.pruneByScore(layer: l, fraction: 0.5, score: .meanAbs)
                random.pruneRandom(layer: l, count: removed, rng: &rng)
            }
            return (score, random)
        }
        let (score1, random1) = try chains(), (score2, random2) = try chains()
        let alone = PruningRun.retrain(score1, random1, train: train, validation: validation, test: validation,
                                       threads: 1)
        let sideBySide = PruningRun.retrain(score2, random2, train: train, validation: validation,
                                            test: validation, threads: 2)
        #expect(alone.score == sideBySide.score && alone.random == sideBySide.random)
        #expect(score1.model == score2.model && random1.model == random2.model)
        #expect(score1.model != random1.model)
    }

    @Test func seedSpreadIsMeanMinMaxAndSampleStd() throws {
        let s = try #require(SeedSpread([0.87, 0.89, 0.88]))
        #expect(abs(s.mean - 0.88) < 1e-12 && s.min == 0.87 && s.max == 0.89 && abs(s.std - 0.01) < 1e-12 && s.count == 3)
        #expect(SeedSpread([]) == nil)
        #expect(SeedSpread([0.5])!.std == 0)
        #expect(s.text { String(format: "%.2f", $0 * 100) } == "88.00 [87.00, 89.00]")
        #expect(SeedSpread([0.5])!.text { String(format: "%.1f", $0) } == "0.5")
    }

    /// Two seeds x two recipes: every replicate is recorded, only the first is
    /// timed, and the means and spreads over the seeds match the replicates.
    @Test func seedsAndRecipesAggregate() throws {
        var config = Self.tinyConfig()
        config.recipes = [.rewind(epochs: 2), .finetune(epochs: 1, learningRate: 5e-4)]
        config.seeds = [7, 8]
        config.seed = 7
        let test = Dataset.synthetic(count: 200, features: 24, classes: 4, spread: 0.25, seed: 43)
        var checkpoints = 0
        let result = try Study.run(config: config, train: Self.data, test: test, command: "kernelbench paper --test",
                                   checkpoint: { _ in checkpoints += 1 })
        let replicates = try #require(result.replicates)
        #expect(replicates.map(\.seed) == [7, 7, 8, 8])
        #expect(replicates.map(\.recipe.name) == [.rewind, .finetune, .rewind, .finetune])
        #expect(result.complete && checkpoints == 2 + 2 * 2 * 3)
        #expect(result.side_by_side_chains == false)  // one training thread: the chains take turns
        // The dense baseline is shared by a seed's recipes; seeds differ.
        #expect(replicates[0].dense == replicates[1].dense && replicates[2].dense == replicates[3].dense)
        #expect(replicates[0].dense != replicates[2].dense)
        #expect(result.dense == replicates[0].dense)
        // Timings only in the top-level runs (the first replicate).
        #expect(result.runs.allSatisfy { $0.levels.allSatisfy { $0.timings.count == 2 } })
        #expect(replicates.allSatisfy { $0.runs.allSatisfy { $0.levels.allSatisfy(\.timings.isEmpty) } })
        #expect(result.runs.map { $0.levels.map(\.score) } == replicates[0].runs.map { $0.levels.map(\.score) })
        // Rewinding records its selected epoch among 2, fine-tuning among 1.
        #expect(replicates[0].runs[0].levels.allSatisfy { (1...2).contains($0.score.selected_epoch ?? 0) })
        #expect(replicates[1].runs[0].levels.allSatisfy { $0.score.selected_epoch == 1 })

        for recipe in [RetrainKind.rewind, .finetune] {
            let reps = result.replicates(recipe)
            #expect(reps.count == 2)
            for block in config.blocks {
                let aggregate = Study.aggregate(result, recipe: recipe, block: block)
                #expect(aggregate.count == config.rounds)
                for (i, level) in aggregate.enumerated() {
                    let scores = reps.map { $0.runs.first { $0.block == block }!.levels[i].score.test_accuracy }
                    let deltas = reps.map { r in r.runs.first { $0.block == block }!.levels[i].score.test_accuracy - r.dense!.test_accuracy }
                    let gaps = reps.map { r in
                        let l = r.runs.first { $0.block == block }!.levels[i]
                        return l.score.test_accuracy - l.random!.test_accuracy
                    }
                    #expect(abs(level.score.mean - (scores[0] + scores[1]) / 2) < 1e-12)
                    #expect(level.score.min == scores.min()! && level.score.max == scores.max()!)
                    #expect(abs(level.delta.mean - (deltas[0] + deltas[1]) / 2) < 1e-12 && level.deltas == deltas)
                    #expect(abs(level.gap!.mean - (gaps[0] + gaps[1]) / 2) < 1e-12)
                    #expect(abs(level.score.std - abs(scores[0] - scores[1]) / 2.0.squareRoot()) < 1e-12)
                    #expect(level.round == i + 1)
                }
            }
        }
        // Claims 2 and 3 once per recipe, judged on the means.
        #expect(result.claims.map(\.id) == [1, 2, 2, 3, 3, 4])
        #expect(result.claims.map(\.recipe) == [nil, .rewind, .finetune, .rewind, .finetune, nil])
        let claim1 = result.claims[0]
        #expect(claim1.evidence.contains("over 2 seeds") && claim1.evidence.contains("["))
        // JSON round trip and the report: the recipes side by side.
        let decoded = try StudyResult.decode(try result.jsonData(), source: "results.json")
        #expect(decoded.replicates == result.replicates && decoded.config == config)
        let markdown = StudyReport.markdown(decoded)
        #expect(markdown.contains("### Retraining recipes side by side at ~90% and ~97% hidden sparsity"))
        #expect(markdown.contains("rewind: test acc | rewind: Δ vs dense | rewind: score − random | finetune: test acc"))
        #expect(markdown.contains("### Test accuracy (%), finetune, mean over 2 seed(s)"))
        #expect(markdown.contains("## Dense baselines") && markdown.contains("seeds 7, 8"))
        #expect(markdown.contains("- Threads: OpenBLAS and the parallel driver use 1 thread(s)"))
        var sideBySide = decoded
        sideBySide.side_by_side_chains = true
        #expect(StudyReport.markdown(sideBySide).contains("- Threads: each round's score and random chains train side by side"))
        let html = StudyReport.html(decoded)
        #expect(html.contains("Mean test accuracy over 2 seeds, rewind solid, finetune dashed")
                    && html.contains("Mean score − random over 2 seeds, rewind solid, finetune dashed"))
    }

    /// Results written before recipes and seeds (fine-tuning, one seed) still
    /// decode, re-judge and render, as one fine-tuning replicate.
    @Test func oldResultsStillRender() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../fuzz/seeds/paper/results.json").path
        var old = try StudyResult.decode(try Data(contentsOf: URL(fileURLWithPath: path)), source: path)
        #expect(old.replicates == nil && old.config.recipes == nil && old.config.seeds == nil)
        #expect(old.config.retrainRecipes == [.finetune(epochs: 1, learningRate: 5e-4)])
        #expect(old.config.studySeeds == [2021])
        #expect(old.allReplicates.count == 1 && old.allReplicates[0].runs == old.runs)
        #expect(old.runs.allSatisfy { $0.levels.allSatisfy { $0.score.selected_epoch == nil } })
        old.claims = Study.evaluateClaims(old)
        #expect(old.claims.map(\.id) == [1, 2, 3, 4] && old.claims.allSatisfy { $0.recipe == nil })
        #expect(old.claims[0].evidence.hasPrefix("dense test accuracy 84.40%"))
        let markdown = StudyReport.markdown(old)
        #expect(markdown.contains("finetune (1 epoch, lr 0.0005)") && markdown.contains("seed 2021"))
        #expect(!markdown.contains("side by side") && markdown.contains("### Pick a block size"))
        #expect(StudyReport.html(old).contains("<svg"))
    }

    /// Durations that are not numbers, or absurdly long, read "n/a" rather than trap.
    @Test func extremeDurationsFormat() {
        #expect(Study.formatDuration(.nan) == "n/a" && Study.formatDuration(1e300) == "n/a")
    }
}
