import Foundation
import Testing
@testable import BlockSparse
@testable import PaperStudy
@testable import Benchmarking
import TestSupport

@Suite(.serialized) struct PaperTrainingTests {
    static let data = Dataset.synthetic(count: 600, features: 24, classes: 4, spread: 0.25, seed: 42)

    @Test func trainingReducesLoss() {
        let (train, validation) = Self.data.split(validation: 100, seed: 1)
        #expect(train.count == 500 && validation.count == 100)
        for optimizer in [Optimizer.adam(learningRate: 3e-3), .sgd(learningRate: 0.05, momentum: 0.9)] {
            let model = MLP(sizes: [24, 30, 20, 4], seed: 7)
            let before = model.evaluate(train)
            let trainer = Trainer(model: model, optimizer: optimizer, batchSize: 32, seed: 3)
            var losses: [Double] = []
            for _ in 0..<8 { losses.append(trainer.trainEpoch(train)) }
            let after = trainer.model.evaluate(train)
            #expect(after.loss < before.loss * 0.5, "\(optimizer): loss \(before.loss) -> \(after.loss)")
            #expect(losses.last! < losses.first!)
            #expect(trainer.model.evaluate(validation).accuracy > 0.9)
        }
    }

    @Test func trainingIsDeterministic() {
        func run() -> MLP {
            let trainer = Trainer(model: MLP(sizes: [24, 10, 4], seed: 9), batchSize: 16, seed: 4)
            trainer.trainEpoch(Self.data.prefix(200))
            return trainer.model
        }
        #expect(run() == run())
    }

    /// Backpropagation against central finite differences: plain SGD with
    /// learning rate 1 and no momentum moves each weight by minus its gradient.
    @Test func gradientsMatchFiniteDifferences() {
        let batch = Self.data.prefix(8)
        let model = MLP(sizes: [24, 6, 5, 4], seed: 5)
        let trainer = Trainer(model: model, optimizer: .sgd(learningRate: 1, momentum: 0), batchSize: 8, seed: 0)
        trainer.trainStep(x: batch.x, y: batch.y)
        let stepped = trainer.model
        var checked = 0
        for l in model.layers.indices {
            for i in stride(from: 0, to: model.layers[l].weights.count, by: 7) {
                let analytic = Double(model.layers[l].weights[i] - stepped.layers[l].weights[i])
                var plus = model, minus = model
                let h: Float = 1e-2
                plus.layers[l].weights[i] += h
                minus.layers[l].weights[i] -= h
                let numeric = (plus.evaluate(batch).loss - minus.evaluate(batch).loss) / Double(2 * h)
                if abs(numeric) < 1e-3 && abs(analytic) < 1e-3 { continue }
                #expect(abs(analytic - numeric) <= 0.05 * max(abs(numeric), 1e-2),
                        "layer \(l) weight \(i): backprop \(analytic), finite difference \(numeric)")
                checked += 1
            }
        }
        #expect(checked > 10)
    }

    @Test func sparseInferenceMatchesDenseModel() throws {
        let trainer = Trainer(model: MLP(sizes: [24, 30, 20, 4], seed: 7), batchSize: 32, seed: 3)
        for _ in 0..<3 { trainer.trainEpoch(Self.data) }
        var model = trainer.model
        var masks: [BlockMask] = []
        for l in model.layers.indices {
            var mask = try BlockMask(rows: model.layers[l].outputs, cols: model.layers[l].inputs, block: shape(4, 4))
            BlockPruning.pruneToSparsity(0.5, weights: &model.layers[l].weights, mask: &mask)
            masks.append(mask)
        }
        let network = try SparseNetwork(model: model, masks: masks)
        let x = Self.data.columns(0..<50)
        let sparse = try network.logits(x, threads: 2)
        let dense = Self.data.prefix(50).x.withUnsafeBufferPointer { model.logits($0.baseAddress!, count: 50) }
        for s in 0..<50 {
            for c in 0..<4 { #expect(abs(sparse[c, s] - dense[s * 4 + c]) < 1e-4) }
        }
        let accuracy = try network.accuracy(on: Self.data, threads: 2, chunk: 128)
        #expect(abs(accuracy - model.evaluate(Self.data).accuracy) < 0.005)

        let timing = try InferenceTimer.time(model: model, masks: masks, inputs: Self.data, batch: 5,
                                             policy: TimingPolicy(minRepetitions: 2, minTime: 0, maxRepetitions: 2,
                                                                  warmup: 0, minRepetitionTime: 0))
        #expect(timing.verified && timing.layers.count == 3 && timing.batch == 5)
        #expect(timing.layers.map(\.stored_blocks) == masks.map(\.aliveCount))
        #expect(timing.dense_seconds > 0 && timing.bsr_seconds > 0 && timing.csr_seconds > 0)
        #expect(timing.dense_gemv_seconds == nil)
        let single = try InferenceTimer.time(model: model, masks: masks, inputs: Self.data, batch: 1,
                                             policy: TimingPolicy(minRepetitions: 1, minTime: 0, maxRepetitions: 1,
                                                                  warmup: 0, minRepetitionTime: 0))
        #expect(single.verified && single.batch == 1 && single.layers.allSatisfy { $0.dense_gemv_seconds != nil })
        #expect(single.speedup_bsr_vs_gemv != nil)
        #expect(timing.threadCount == 1 && timing.layers.allSatisfy { $0.bsr_threads == 1 && $0.csr_threads == 1 })

        // Threaded: with no fork/join overhead every sparse product goes through the
        // two-thread driver (and is verified); with a huge one, all fall back to serial.
        let policy = TimingPolicy(minRepetitions: 1, minTime: 0, maxRepetitions: 1, warmup: 0, minRepetitionTime: 0)
        let threaded = try InferenceTimer.time(model: model, masks: masks, inputs: Self.data, batch: 5, policy: policy,
                                               threads: 2, forkJoinOverhead: 0)
        #expect(threaded.verified && threaded.threadCount == 2)
        #expect(threaded.layers.allSatisfy { $0.bsr_threads == 2 && $0.csr_threads == 2 })
        let serial = try InferenceTimer.time(model: model, masks: masks, inputs: Self.data, batch: 5, policy: policy,
                                             threads: 2, forkJoinOverhead: 1)
        #expect(serial.verified && serial.threadCount == 2)
        #expect(serial.layers.allSatisfy { $0.bsr_threads == 1 && $0.csr_threads == 1 })
        #expect(StudyReport.threadedCell(serial).hasSuffix("[0/3]") && StudyReport.threadedCell(threaded).hasSuffix("[3/3]"))
        #expect(ParallelSpMM.threadsWorthUsing(2, serialSeconds: 1e-3, forkJoinOverhead: 1e-5, runtime: .team).threads == 2)
        #expect(ParallelSpMM.threadsWorthUsing(2, serialSeconds: 5e-5, forkJoinOverhead: 1e-5, runtime: .dispatch)
                    .serialReason == "serial (work 50.0 us < 10 x dispatch fork/join 10.0 us)")
        #expect(ParallelSpMM.threadsWorthUsing(1, serialSeconds: 5e-5, forkJoinOverhead: 1e-5, runtime: .team) == (1, nil))
    }

    /// Results written before threaded timings existed (no `threads`,
    /// `bsr_threads`, `timing_threads`) still decode, as one-thread timings.
    @Test func olderTimingsDecodeAsOneThread() throws {
        let json = #"""
            {"batch": 4, "layers": [{"layer": 1, "m": 2, "k": 2, "n": 4, "stored_blocks": 1, "nonzeros": 4,
             "bsr_kernel": "b", "csr_kernel": "c", "dense_seconds": 1, "bsr_seconds": 1, "csr_seconds": 1,
             "max_rel_error": 0}], "dense_seconds": 1, "bsr_seconds": 1, "csr_seconds": 1,
             "speedup_bsr_vs_dense": 1, "speedup_csr_vs_dense": 1, "speedup_bsr_vs_csr": 1, "verified": true}
            """#
        let t = try JSONDecoder().decode(NetworkTiming.self, from: Data(json.utf8))
        #expect(t.threadCount == 1 && t.threads == nil && t.layers[0].bsr_threads == nil)
        var config = StudyConfig.quickMode(threads: 1)
        #expect(config.timing_threads == nil && config.timingThreadCounts == [1])
        config.timing_threads = 3
        #expect(config.timingThreadCounts == [1, 3])
        // Results written before the worker team name the dispatch overhead their threshold used.
        let seed = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../fuzz/seeds/paper/results.json").path
        let old = try StudyResult.decode(try Data(contentsOf: URL(fileURLWithPath: seed)), source: seed)
        #expect(old.timing_fork_join_overhead == nil && old.timing_dispatch_overhead != nil)
        #expect(StudyReport.markdown(old).contains(", serial below 10x the measured dispatch overhead of "))
    }

    @Test func studyRunsEndToEndOnSyntheticData() throws {
        var config = StudyConfig.quickMode(threads: 2)
        config.layer_sizes = [24, 20, 12, 4]
        config.blocks = [1, 2, 3]
        config.rounds = 3
        config.epochs = 2
        config.retrain_epochs = 1
        config.batch_size = 32
        config.hidden_fraction = 0.5
        config.validation_size = 100
        config.train_limit = nil
        config.timing_batches = [1, 4]
        config.timing = TimingPolicy(minRepetitions: 1, minTime: 0, maxRepetitions: 1, warmup: 0, minRepetitionTime: 0)
        let test = Dataset.synthetic(count: 200, features: 24, classes: 4, spread: 0.25, seed: 43)
        var checkpoints = 0
        var lines: [String] = []
        var exported: [Int] = []
        let result = try Study.run(config: config, train: Self.data, test: test, command: "kernelbench paper --test",
                                   progress: { lines.append($0) }, checkpoint: { _ in checkpoints += 1 },
                                   finished: { b, network in
                                       exported.append(b)
                                       #expect(network.layers.allSatisfy { $0.block == shape(b, b) })
                                   })
        #expect(checkpoints == 4 && exported == [1, 2, 3] && result.complete)
        #expect(result.runs.map(\.block) == [1, 2, 3])
        #expect(lines.contains { $0.contains("round 3/3") && $0.contains("ETA") })
        for run in result.runs {
            #expect(run.levels.count == 3)
            let sparsities = run.levels.map(\.hidden_sparsity)
            #expect(sparsities == sparsities.sorted() && sparsities.last! > 0.8)
            for level in run.levels {
                // batches 1 and 4, at 1 thread and at 2 (quickMode(threads: 2) times both)
                #expect(level.random != nil && level.timings.count == 4 && level.timings.allSatisfy(\.verified))
                #expect(level.timing(batch: 4)?.threadCount == 1 && level.timing(batch: 4, threads: 2)?.threadCount == 2)
                #expect(abs(level.sparse_path_test_accuracy - level.score.test_accuracy) < 0.01)
                #expect(level.removed_blocks.count == 3)
            }
        }
        #expect(result.claims.map(\.id) == [1, 2, 3, 4])
        // JSON round trip, Markdown and HTML.
        let decoded = try StudyResult.decode(try result.jsonData(), source: "results.json")
        #expect(decoded.runs == result.runs && decoded.config == config)
        let markdown = StudyReport.markdown(result)
        #expect(markdown.contains("## Claims") && markdown.contains("Pick a block size") && markdown.contains("| 3x3 |"))
        #expect(markdown.contains("### Inference speedup of BSR over dense, batch 4, 2 threads")
            && markdown.contains("BSR vs dense b4, 2 threads") && markdown.contains("and again at 2 threads"))
        #expect(result.timing_fork_join_overhead != nil && result.timing_dispatch_overhead == nil)
        #expect(markdown.contains("BSR and CSR on a worker team kept for each timing, serial below 10x its measured fork/join cost of"))
        #expect(StudyReport.html(result).contains("batch 4, 2 threads (OpenBLAS and the parallel driver)"))
        // The paper charts use the report renderer's axis ticks: 1/2/5 x 10^k steps covering the data.
        let (domain, ticks) = niceLinearTicks(80.3, 86.1)
        #expect(domain.lowerBound <= 80.3 && domain.upperBound >= 86.1 && ticks.count >= 3)
        let step = ticks[1] - ticks[0]
        #expect([1.0, 2, 5].contains { abs(step / pow(10, floor(log10(step))) - $0) < 1e-9 })
        #expect(zip(ticks, ticks.dropFirst()).allSatisfy { abs($1 - $0 - step) < 1e-9 })
        let html = StudyReport.html(result)
        #expect(html.contains("<svg") && html.contains("random") && !html.contains("http://example"))
        #expect(html.contains("class=\"chart paper\""))
    }
}
