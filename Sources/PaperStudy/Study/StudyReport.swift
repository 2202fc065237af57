import Foundation
import BlockSparse
import Benchmarking

// Claims, tables and the HTML report of the paper study.

extension Study {
    /// Hidden sparsity at which the claims are judged ("about 90%").
    public static let claimSparsity = 0.90

    /// The first level at or above `sparsity` hidden sparsity (nil: not reached).
    public static func level(_ run: BlockRun, atLeast sparsity: Double) -> StudyLevel? {
        run.levels.first { $0.hidden_sparsity >= sparsity - 1e-9 }
    }

    /// Hidden sparsity of the high level of the side-by-side table ("about 97%").
    public static let highSparsity = 0.97

    /// Judges the issue's four claims on what `result` holds so far, on the
    /// means over the seeds (claims 2 and 3 once per retraining recipe), with
    /// the min–max spread over the seeds in the evidence.
    public static func evaluateClaims(_ result: StudyResult) -> [Claim] {
        var claims: [Claim] = []
        let pct = { (x: Double) in String(format: "%.2f%%", x * 100) }
        let pts = { (x: Double) in String(format: "%+.2f", x * 100) }
        let recipes = result.recipesRun
        let several = recipes.count > 1

        // 1. Dense accuracy (one dense baseline per seed, shared by the recipes).
        let statement1 = "Dense LeNet-300-100 test accuracy >= 89% on Fashion-MNIST"
        let denses = denseBySeed(result)
        if let spread = SeedSpread(denses.map(\.1.test_accuracy)) {
            let passing = denses.filter { $0.1.test_accuracy >= 0.89 }.count
            var evidence = "dense test accuracy " + spread.text(pct)
            if denses.count == 1, let d = denses.first?.1 {
                evidence += " (epoch \(d.selected_epoch) of \(d.epochs.count), picked on validation)"
            } else {
                evidence += " over \(denses.count) seeds; >= 89% in \(passing) of \(denses.count) seeds"
            }
            claims.append(Claim(id: 1, statement: statement1, holds: spread.mean >= 0.89, evidence: evidence))
        } else {
            claims.append(Claim(id: 1, statement: statement1, holds: nil, evidence: "no dense baseline yet"))
        }

        var claims2: [Claim] = [], claims3: [Claim] = []
        for recipe in recipes {
            let tag = several ? " (retraining: \(recipe.name.rawValue))" : ""
            let kind: RetrainKind? = several ? recipe.name : nil
            // 2. 2x2 and 4x4 at about 90% hidden sparsity within 1.5 points of dense.
            let statement2 = "2x2 and 4x4 block pruning at about 90% hidden-layer sparsity within 1.5 points of dense" + tag
            if denses.isEmpty {
                claims2.append(Claim(id: 2, statement: statement2, holds: nil, evidence: "no dense baseline yet", recipe: kind))
            } else {
                var parts: [String] = []
                var holds: Bool? = true
                for b in [2, 4] {
                    let levels = aggregate(result, recipe: recipe.name, block: b)
                    guard !levels.isEmpty else {
                        parts.append("\(b)x\(b): not run")
                        holds = nil
                        continue
                    }
                    guard let level = levels.first(where: { $0.hidden_sparsity >= claimSparsity - 1e-9 }) else {
                        parts.append("\(b)x\(b): 90% not reached (last level \(pct(levels.last!.hidden_sparsity)))")
                        holds = nil
                        continue
                    }
                    let within = level.deltas.filter { $0 >= -0.015 }.count
                    let partial = level.score.count < result.replicates(recipe.name).count ? " (\(level.score.count) of \(result.replicates(recipe.name).count) seeds)" : ""
                    parts.append("\(b)x\(b)\(partial) at \(pct(level.hidden_sparsity)) (round \(level.round)): \(level.score.text(pct)), "
                                 + "\(level.delta.text(pts)) points vs dense"
                                 + (level.delta.count > 1 ? " (within 1.5 points in \(within) of \(level.delta.count) seeds)" : ""))
                    if level.delta.mean < -0.015, holds != nil { holds = false }
                }
                claims2.append(Claim(id: 2, statement: statement2, holds: holds, evidence: parts.joined(separator: "; "),
                                    recipe: kind))
            }

            // 3. Score beats random by >= 2 points at >= 90% sparsity.
            let statement3 = "Score-based block pruning beats random block pruning by >= 2 points at >= 90% hidden sparsity" + tag
            var gaps: [String] = []
            var all = true, any = false
            for block in result.config.blocks.sorted() {
                let high = aggregate(result, recipe: recipe.name, block: block)
                    .filter { $0.hidden_sparsity >= claimSparsity - 1e-9 && $0.gap != nil }
                guard let first = high.first, let last = high.last else { continue }
                any = true
                let minimum = high.map { $0.gap!.mean }.min()!
                if minimum < 0.02 { all = false }
                let partial = first.gap!.count < result.replicates(recipe.name).count ? " (\(first.gap!.count) of \(result.replicates(recipe.name).count) seeds)" : ""
                gaps.append("\(block)x\(block)\(partial): \(first.gap!.text(pts)) at \(pct(first.hidden_sparsity))"
                            + (high.count > 1 ? ", \(last.gap!.text(pts)) at \(pct(last.hidden_sparsity)), min \(pts(minimum))" : ""))
            }
            // Seeds that have reached >= 90% for some block size (a block size still running may have fewer).
            let seedCount = result.config.blocks.compactMap { block in
                aggregate(result, recipe: recipe.name, block: block).last?.gap?.count
            }.max() ?? 0
            claims3.append(Claim(id: 3, statement: statement3, holds: any ? all : nil,
                                evidence: any ? "score − random, points" + (seedCount > 1 ? " (mean over \(seedCount) seeds [min, max]; judged on the means)" : "")
                                    + ": " + gaps.joined(separator: "; ")
                                    : "no level at >= 90% hidden sparsity with a random baseline", recipe: kind))
        }

        claims += claims2 + claims3

        // 4. The trade-off table.
        let statement4 = "The accuracy/speed trade-off across block sizes, in one table a reader can use to pick a block size"
        let rows = result.runs.compactMap { run -> (Int, StudyLevel)? in
            (level(run, atLeast: claimSparsity) ?? run.levels.last).map { (run.block, $0) }
        }
        if let dense = result.dense, !rows.isEmpty {
            let ok = rows.filter { dense.test_accuracy - $0.1.score.test_accuracy <= 0.015 }
            let widest = result.config.timing_batches.max() ?? 1
            func speedup(_ level: StudyLevel) -> Double {
                level.timing(batch: widest)?.speedup_bsr_vs_dense ?? 0
            }
            var evidence = "table \"Pick a block size\" in results.md / report.html"
            if let pick = ok.max(by: { speedup($0.1) < speedup($1.1) }) {
                evidence += String(format: "; fastest block size within 1.5 points of dense at ~90%%: %dx%d (BSR %.2fx dense at batch %d)",
                                   pick.0, pick.0, speedup(pick.1), widest)
            }
            claims.append(Claim(id: 4, statement: statement4, holds: true, evidence: evidence))
        } else {
            claims.append(Claim(id: 4, statement: statement4, holds: nil, evidence: "no pruned networks yet"))
        }
        return claims
    }

    /// The dense baseline of each seed, in seed order (one per seed, whatever the recipes).
    static func denseBySeed(_ result: StudyResult) -> [(UInt64, DenseResult)] {
        var out: [(UInt64, DenseResult)] = []
        for r in result.allReplicates {
            if let d = r.dense, !out.contains(where: { $0.0 == r.seed }) { out.append((r.seed, d)) }
        }
        return out
    }

    /// Mean and spread over the seeds of one recipe, round by round, for one block size.
    /// A round enters once any seed has reached it; its spreads cover the seeds that have.
    public static func aggregate(_ result: StudyResult, recipe: RetrainKind, block: Int) -> [LevelAggregate] {
        let replicates = result.replicates(recipe).compactMap { r -> (DenseResult?, BlockRun)? in
            r.runs.first { $0.block == block }.map { (r.dense, $0) }
        }
        let rounds = replicates.map(\.1.levels.count).max() ?? 0
        return (0..<rounds).compactMap { i in
            let reached = replicates.filter { $0.1.levels.count > i }
            let levels = reached.map { $0.1.levels[i] }
            guard let score = SeedSpread(levels.map(\.score.test_accuracy)),
                  let sparsity = SeedSpread(levels.map(\.hidden_sparsity)) else { return nil }
            let deltas = reached.compactMap { d, run in d.map { run.levels[i].score.test_accuracy - $0.test_accuracy } }
            let gaps = levels.compactMap { l in l.random.map { l.score.test_accuracy - $0.test_accuracy } }
            return LevelAggregate(round: levels[0].round, hidden_sparsity: sparsity.mean, score: score,
                                  delta: SeedSpread(deltas) ?? SeedSpread([.nan])!, deltas: deltas,
                                  random: SeedSpread(levels.compactMap { $0.random?.test_accuracy }),
                                  gap: gaps.count == levels.count ? SeedSpread(gaps) : nil)
        }
    }
}

/// Mean and spread (min, max, sample standard deviation) of one quantity over seeds.
public struct SeedSpread: Sendable, Equatable {
    public var count: Int
    public var mean: Double
    public var min: Double
    public var max: Double
    /// Sample standard deviation (0 for one seed).
    public var std: Double

    /// nil for no values.
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        count = values.count
        mean = values.reduce(0, +) / Double(count)
        min = values.min()!
        max = values.max()!
        let m = mean
        std = count > 1 ? (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(count - 1)).squareRoot() : 0
    }

    /// "mean [min, max]" with `format` for each number; the mean alone for one seed.
    public func text(_ format: (Double) -> String) -> String {
        count > 1 ? "\(format(mean)) [\(format(min)), \(format(max))]" : format(mean)
    }
}

/// One round of one block size and recipe, aggregated over the seeds.
public struct LevelAggregate: Sendable, Equatable {
    public var round: Int
    /// Mean hidden-layer sparsity (the same in every seed up to rounding of the block counts).
    public var hidden_sparsity: Double
    /// Test accuracy of the score-pruned network.
    public var score: SeedSpread
    /// Score-pruned accuracy minus the seed's own dense accuracy.
    public var delta: SeedSpread
    /// The per-seed values of `delta`.
    public var deltas: [Double]
    public var random: SeedSpread?
    /// Score-pruned minus random-pruned accuracy, per seed.
    public var gap: SeedSpread?
}

/// Markdown and HTML renderings of a ``StudyResult``.
public enum StudyReport {
    /// The study's files in `folder`: results.json, results.md and report.html.
    public static func files(in folder: String) -> [String] {
        ["results.json", "results.md", "report.html"].map { (folder as NSString).appendingPathComponent($0) }
    }

    /// Writes the result as JSON, Markdown and HTML to `files` (``files(in:)``), each atomically.
    public static func write(_ result: StudyResult, to files: [String]) throws {
        try writeAtomically(try result.jsonData(), to: files[0])
        try writeAtomically(Data(markdown(result).utf8), to: files[1])
        try writeAtomically(Data(html(result).utf8), to: files[2])
    }

    static func pct(_ x: Double) -> String { String(format: "%.2f", x * 100) }
    static func verdict(_ holds: Bool?) -> String { holds.map { $0 ? "holds" : "does not hold" } ?? "not measured" }

    /// Column headers shared by the per-round tables: round and the hidden
    /// sparsity of the first block size at that round.
    static func roundHeaders(_ result: StudyResult) -> [String] {
        let rounds = result.runsBySize.map(\.levels.count).max() ?? 0
        return (0..<rounds).map { r in
            let s = result.runsBySize.first { $0.levels.count > r }.map { pct($0.levels[r].hidden_sparsity) } ?? "?"
            return "r\(r + 1) (\(s)%)"
        }
    }

    /// Rows of the tables, as cells (first cell: row label).
    struct Table {
        var title: String
        var note: String
        var header: [String]
        var rows: [[String]]
    }

    /// "87.45 [87.10, 87.80]" (percent) / "-2.22 [-2.50, -1.90]" (points) of a spread; "" for none.
    static func pctSpread(_ x: SeedSpread?) -> String { x.map { $0.text { pct($0) } } ?? "" }
    static func ptsSpread(_ x: SeedSpread?) -> String {
        x.map { $0.text { String(format: "%+.2f", $0 * 100) } } ?? ""
    }

    /// The recipes side by side at about 90% and about 97% hidden sparsity,
    /// means over the seeds with the min–max spread; then, with more than one
    /// replicate, the per-round means of each recipe.
    static func recipeTables(_ result: StudyResult) -> [Table] {
        let recipes = result.recipesRun
        // Seeds per recipe: the most any block size has (a block size still running may have fewer).
        let seedCounts = recipes.map { r in
            result.config.blocks.compactMap { Study.aggregate(result, recipe: r.name, block: $0).first?.score.count }.max() ?? 0
        }
        guard result.allReplicates.count > 1 else { return [] }
        let denses = Study.denseBySeed(result)
        let seedNote = seedCounts.max() == seedCounts.min()
            ? "\(seedCounts.first ?? 0) seed(s)" : recipes.indices.map { "\(recipes[$0].name.rawValue) \(seedCounts[$0])" }.joined(separator: ", ") + " seeds"
        var side = Table(title: "Retraining recipes side by side at ~90% and ~97% hidden sparsity",
                         note: "Mean over the seeds (\(seedNote); seeds \(result.config.studySeeds.map(String.init).joined(separator: ", "))) with the min–max spread over the seeds in brackets. "
                            + "Accuracy: test accuracy (%) of the score-pruned network; Δ: points against each seed's own dense baseline; score − random: points, per seed, then averaged. "
                            + "Rows: the first round at >= 90% and at >= 97% hidden sparsity. Recipes: "
                            + recipes.map(\.label).joined(separator: "; ") + ". Every model is picked on the validation split.",
                         header: ["block", "level"] + recipes.flatMap { r in
                             ["\(r.name.rawValue): test acc", "\(r.name.rawValue): Δ vs dense", "\(r.name.rawValue): score − random"]
                         }, rows: [])
        if let d = SeedSpread(denses.map(\.1.test_accuracy)) {
            side.rows.append(["dense", "0%"] + recipes.flatMap { _ in [pctSpread(d), "", ""] })
        }
        for (target, name) in [(Study.claimSparsity, "~90%"), (Study.highSparsity, "~97%")] {
            for block in result.config.blocks.sorted() {
                let cells = recipes.map { r in
                    Study.aggregate(result, recipe: r.name, block: block)
                        .first { $0.hidden_sparsity >= target - 1e-9 }
                }
                guard let any = cells.compactMap({ $0 }).first else { continue }
                side.rows.append(["\(block)x\(block)", "\(name): r\(any.round) (\(pct(any.hidden_sparsity))%)"]
                                 + zip(seedCounts, cells).flatMap { most, c in
                                     c.map { level in
                                         // Fewer seeds than the recipe has (a block size still running): say so.
                                         let n = level.score.count < most ? " (\(level.score.count) seed\(level.score.count == 1 ? "" : "s"))" : ""
                                         return [pctSpread(level.score) + n, ptsSpread(level.delta) + n, ptsSpread(level.gap) + n]
                                     } ?? ["", "", ""]
                                 })
            }
        }
        var tables = [side]
        let headers = roundHeaders(result)
        for r in recipes where result.replicates(r.name).count > 1 || recipes.count > 1 {
            let aggregates = result.config.blocks.sorted().map { ($0, Study.aggregate(result, recipe: r.name, block: $0)) }
            // Seeds per block size: the most any block size has; a row with fewer says so.
            let counts = aggregates.map { $0.1.first?.score.count ?? 0 }
            let n = counts.max() ?? 0
            func perRound(_ title: String, _ cell: (LevelAggregate) -> String) -> Table {
                Table(title: title + ", \(r.name.rawValue), mean over \(n) seed(s)",
                      note: n > 1 ? "In parentheses: the spread over the seeds (max − min, points)." : "",
                      header: ["block"] + headers,
                      rows: aggregates.filter { !$0.1.isEmpty }.map { block, levels in
                          let k = levels.first?.score.count ?? 0
                          return ["\(block)x\(block)" + (k < n ? " (\(k) seed\(k == 1 ? "" : "s"))" : "")]
                              + headers.indices.map { i in i < levels.count ? cell(levels[i]) : "" }
                      })
            }
            func meanRange(_ x: SeedSpread, sign: Bool) -> String {
                String(format: sign ? "%+.2f" : "%.2f", x.mean * 100) + (x.count > 1 ? String(format: " (%.2f)", (x.max - x.min) * 100) : "")
            }
            tables.append(perRound("Test accuracy (%)") { meanRange($0.score, sign: false) })
            if result.config.random_baseline {
                tables.append(perRound("Score − random (points)") { $0.gap.map { meanRange($0, sign: true) } ?? "" })
            }
        }
        return tables
    }

    static func tables(_ result: StudyResult) -> [Table] {
        var tables: [Table] = recipeTables(result)
        let dense = result.dense?.test_accuracy
        let batches = result.config.timing_batches
        let threads = result.config.threadedTimingCount

        // Pick a block size.
        let timed = result.allReplicates.count > 1
            ? "Accuracies here are the timed replicate's (seed \(result.config.studySeeds.first ?? result.config.seed), \(result.config.retrainRecipes.first?.name.rawValue ?? "")); the means over seeds are in the tables above. " : ""
        var pick = Table(title: "Pick a block size",
                         note: timed + "At the first round with hidden-layer sparsity >= 90% (else the last round), and at the last round. Accuracy in %, Δ in points vs the dense baseline"
                            + (dense.map { " (\(pct($0))%)" } ?? "")
                            + "; speedups are single-threaded inference time of the three layer products: dense (OpenBLAS sgemm, the project's dense baseline) / BSR, at batch 1 also OpenBLAS sgemv / BSR, and CSR / BSR."
                            + (threads.map { " The last column is the same speedup at \($0) threads (OpenBLAS and the parallel driver; CSR over dense in parentheses). " + threadedNote } ?? ""),
                         header: ["block", "hidden sparsity", "test acc", "Δ vs dense", "random acc", "score − random"]
                            + batches.flatMap { $0 == 1 ? ["BSR vs dense b1", "BSR vs sgemv b1", "BSR vs CSR b1"]
                                : ["BSR vs dense b\($0)", "BSR vs CSR b\($0)"] }
                            + ["last: sparsity", "last: acc", "last: score − random"]
                            + batches.map { "last: BSR vs dense b\($0)" }
                            + (threads.map { t in batches.max().map { ["BSR vs dense b\($0), \(t) threads"] } ?? [] } ?? []),
                         rows: [])
        for run in result.runsBySize {
            guard let level = Study.level(run, atLeast: Study.claimSparsity) ?? run.levels.last,
                  let last = run.levels.last else { continue }
            var row = ["\(run.block)x\(run.block)", pct(level.hidden_sparsity) + "%", pct(level.score.test_accuracy),
                       dense.map { String(format: "%+.2f", (level.score.test_accuracy - $0) * 100) } ?? "",
                       level.random.map { pct($0.test_accuracy) } ?? "",
                       level.random.map { String(format: "%+.2f", (level.score.test_accuracy - $0.test_accuracy) * 100) } ?? ""]
            for b in batches {
                let t = level.timing(batch: b)
                row.append(t.map { String(format: "%.2fx", $0.speedup_bsr_vs_dense) } ?? "")
                if b == 1 { row.append(t?.speedup_bsr_vs_gemv.map { String(format: "%.2fx", $0) } ?? "") }
                row.append(t.map { String(format: "%.2fx", $0.speedup_bsr_vs_csr) } ?? "")
            }
            row += [pct(last.hidden_sparsity) + "%", pct(last.score.test_accuracy),
                    last.random.map { String(format: "%+.2f", (last.score.test_accuracy - $0.test_accuracy) * 100) } ?? ""]
            for b in batches {
                row.append(last.timing(batch: b).map { String(format: "%.2fx", $0.speedup_bsr_vs_dense) } ?? "")
            }
            if let t = threads, let widest = batches.max() {
                row.append(level.timing(batch: widest, threads: t).map(threadedCell) ?? "")
            }
            pick.rows.append(row)
        }
        tables.append(pick)

        let headers = roundHeaders(result)
        func perRound(_ title: String, _ note: String, _ cell: (StudyLevel) -> String) -> Table {
            Table(title: title, note: note, header: ["block"] + headers,
                  rows: result.runsBySize.map { run in
                      ["\(run.block)x\(run.block)"] + headers.indices.map { r in
                          r < run.levels.count ? cell(run.levels[r]) : ""
                      }
                  })
        }
        let which = result.allReplicates.count > 1
            ? ", seed \(result.config.studySeeds.first ?? result.config.seed), \(result.config.retrainRecipes.first?.name.rawValue ?? "")" : ""
        tables.append(perRound("Test accuracy (%), score-based block pruning" + which,
                               "Columns: round and the hidden-layer sparsity of the first block size; exact sparsities per block size are in results.json.") {
            pct($0.score.test_accuracy)
        })
        if result.config.random_baseline {
            tables.append(perRound("Test accuracy (%), random block pruning (same blocks counts removed)" + which, "") {
                $0.random.map { pct($0.test_accuracy) } ?? ""
            })
        }
        tables.append(perRound("Hidden-layer sparsity (%) reached", "") { pct($0.hidden_sparsity) })
        for b in batches {
            tables.append(perRound("Inference speedup of BSR over dense, batch \(b)",
                                   b == 1 ? "dense sgemm time / BSR time, three layers, single thread; in parentheses: sgemv time / BSR time, and CSR over dense (sgemm)."
                                       : "dense time / BSR time, three layers, single thread; CSR over dense in parentheses.") { level in
                level.timing(batch: b).map { t in
                    if let gemv = t.speedup_bsr_vs_gemv {
                        return String(format: "%.2f (%.2f, %.2f)", t.speedup_bsr_vs_dense, gemv, t.speedup_csr_vs_dense)
                    }
                    return String(format: "%.2f (%.2f)", t.speedup_bsr_vs_dense, t.speedup_csr_vs_dense)
                } ?? ""
            })
        }
        if let t = threads {
            for b in batches {
                tables.append(perRound("Inference speedup of BSR over dense, batch \(b), \(t) threads",
                                       "dense time (OpenBLAS sgemm, \(t) threads) / BSR time (parallel driver, \(t) threads), three layers; CSR over dense in parentheses. "
                                       + threadedNote) { level in
                    level.timing(batch: b, threads: t).map(threadedCell) ?? ""
                })
            }
        }
        return tables
    }

    static let threadedNote = "[k/n]: k of the n layers' BSR products ran on the driver's threads; the others took under 10x the measured fork/join cost of the threading runtime on one thread and ran serially (the driver's fallback; per-layer thread counts are in results.json)."

    /// "speedup (CSR speedup) [k/n]" of a threaded timing: k of the n layers'
    /// BSR products ran threaded.
    static func threadedCell(_ t: NetworkTiming) -> String {
        let split = t.layers.filter { ($0.bsr_threads ?? 1) > 1 }.count
        return String(format: "%.2f (%.2f) [%d/%d]", t.speedup_bsr_vs_dense, t.speedup_csr_vs_dense, split, t.layers.count)
    }

    static func markdownTable(_ t: Table) -> String {
        var s = "### \(t.title)\n\n"
        if !t.note.isEmpty { s += t.note + "\n\n" }
        s += "| " + t.header.joined(separator: " | ") + " |\n"
        s += "|" + t.header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for row in t.rows { s += "| " + row.joined(separator: " | ") + " |\n" }
        return s + "\n"
    }

    /// The tables and claims as Markdown (results.md).
    public static func markdown(_ result: StudyResult) -> String {
        let c = result.config
        var s = "# Block pruning of LeNet-300-100 on Fashion-MNIST — measured results\n\n"
        s += "Reproduction of Huang et al., \"Coarse-Grained Pruning of Neural Network Models Based on Blocky Sparse Structure\" (Entropy 2021).\n\n"
        s += "- Command: `\(result.command)`\n"
        s += "- Runtime: \(Study.formatDuration(result.runtime_seconds)) (\(Fmt.sig(result.runtime_seconds)) s)"
            + (result.complete ? "" : " — **incomplete: interrupted or still running**") + "\n"
        s += "- Machine: \(result.context.cpu_model), \(result.context.cores_available) cores; \(result.context.build_configuration) build; revision \(result.context.git_revision); \(result.context.date)\n"
        s += "- Data: \(result.train_samples) training, \(result.validation_samples) validation (held out of the training set, used for model selection), \(result.test_samples) test samples\n"
        s += "- Schedule: \(c.rounds) rounds; each removes \(Fmt.percent(c.hidden_fraction)) of the alive blocks of the hidden layers and \(Fmt.percent(c.output_fraction)) of the output layer (score: \(c.score.rawValue)), then retrains with Adam: \(c.retrainRecipes.map(\.label).joined(separator: "; ")), keeping the epoch with the best validation accuracy; dense baseline \(c.epochs) epochs, Adam lr \(c.learning_rate) decayed x\(c.learning_rate_decay) per epoch, picked on validation accuracy; batch \(c.batch_size); seed\(c.studySeeds.count > 1 ? "s" : "") \(c.studySeeds.map(String.init).joined(separator: ", "))"
            + (c.studySeeds.count > 1 || c.retrainRecipes.count > 1
                ? " (every seed runs every recipe from its own dense baseline; timings and the per-round timing tables are the first seed's first recipe's)" : "") + "\n"
        if let reps = result.replicates, !result.complete {
            s += "- Replicates finished so far: " + reps.map { "\($0.recipe.name.rawValue) seed \($0.seed) (\($0.runs.count)/\(c.blocks.count) block sizes)" }.joined(separator: ", ") + "\n"
        }
        s += (result.side_by_side_chains == true
                ? "- Threads: each round's score and random chains train side by side, one OpenBLAS thread each; the dense baseline trains with \(c.train_threads) OpenBLAS threads and accuracy through the parallel driver uses \(c.train_threads)"
                : "- Threads: OpenBLAS and the parallel driver use \(c.train_threads) thread(s) for training and accuracy")
            + "; inference timing is single-threaded for all three formats"
            + (c.threadedTimingCount.map { t in
                ", and again at \(t) threads (OpenBLAS threads for dense, the parallel driver for BSR and CSR"
                    + (result.timing_fork_join_overhead.map {
                        "; BSR and CSR on a worker team kept for each timing, serial below 10x its measured fork/join cost of \(Fmt.time($0))"
                    } ?? result.timing_dispatch_overhead.map {
                        ", serial below 10x the measured dispatch overhead of \(Fmt.time($0))"
                    } ?? "") + ")"
            } ?? "") + "\n"
        if c.quick { s += "- **Quick mode**: a subset of the data, fewer rounds and epochs — not the study's numbers\n" }
        s += "\n## Claims\n\n| # | claim | verdict | evidence |\n|---|---|---|---|\n"
        for claim in result.claims {
            s += "| \(claim.id) | \(claim.statement) | **\(verdict(claim.holds))** | \(claim.evidence) |\n"
        }
        let denses = Study.denseBySeed(result)
        if denses.count > 1 {
            s += "\n## Dense baselines\n\n| seed | test acc | validation acc | epoch | seconds |\n|---|---|---|---|---|\n"
            for (seed, d) in denses {
                s += "| \(seed) " + String(format: "| %.2f | %.2f | %d of %d | %.0f |\n", d.test_accuracy * 100,
                            d.validation_accuracy * 100, d.selected_epoch, d.epochs.count, d.seconds)
            }
            s += "\n"
        } else if let d = result.dense {
            s += "\n## Dense baseline\n\n"
            s += String(format: "Test accuracy %.2f%% (loss %.4f), validation %.2f%%, epoch %d of %d selected; %.0f s.\n\n",
                        d.test_accuracy * 100, d.test_loss, d.validation_accuracy * 100, d.selected_epoch,
                        d.epochs.count, d.seconds)
        }
        s += "## Tables\n\n"
        for t in tables(result) { s += markdownTable(t) }
        let allLevels = result.allReplicates.flatMap(\.runs).flatMap(\.levels)
        let mismatches = allLevels.filter {
            abs($0.sparse_path_test_accuracy - $0.score.test_accuracy) > 0.001
        }
        s += "Every timed product (3 layers x \(c.timing_batches.count) batch sizes x \(c.timingThreadCounts.count) thread count(s) x BSR/CSR/dense at every level) was verified against the Swift reference before timing. "
        s += "Test accuracy through the BSR kernels and the parallel driver agrees with the dense (sgemm) path within 0.1 points at "
            + "\(allLevels.count - mismatches.count) of \(allLevels.count) levels"
            + (result.allReplicates.count > 1 ? " (every seed and recipe)" : "") + ".\n"
        return s
    }

    // MARK: HTML

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                          "#bcbd22", "#17becf"]

    typealias Series = LineChart.Series

    /// An inline SVG line chart (``LineChart``: one chart implementation for every report).
    static func chart(title: String, xLabel: String, yLabel: String, series: [Series],
                      reference: (value: Double, label: String)? = nil, yRange: (Double, Double)? = nil,
                      xRange: (Double, Double) = (0, 100), logY: Bool = false) -> String {
        LineChart.svg(id: "paper-" + String(title.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }),
                      kind: "paper", title: title, xLabel: xLabel, yLabel: yLabel, series: series, reference: reference,
                      yRange: yRange, xRange: xRange, logY: logY)
    }

    /// A self-contained HTML report: claims, charts (inline SVG) and tables.
    public static func html(_ result: StudyResult) -> String {
        var s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Block pruning of LeNet-300-100 — KernelBench</title>\n"
        s += "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}.holds{color:#080;font-weight:bold}.fails{color:#b00;font-weight:bold}code{background:#f4f4f4;padding:1px 3px}</style></head><body>\n"
        s += "<h1>Block pruning of LeNet-300-100 on Fashion-MNIST</h1>\n"
        s += "<p>Reproduction of Huang et al., “Coarse-Grained Pruning of Neural Network Models Based on Blocky Sparse Structure” (Entropy 2021), with KernelBench's BSR kernels.</p>\n"
        s += "<p>Command: <code>\(escape(result.command))</code><br>Runtime: \(Study.formatDuration(result.runtime_seconds))"
            + (result.complete ? "" : " (<b>incomplete</b>)")
            + "<br>Machine: \(escape(result.context.cpu_model)), \(result.context.cores_available) cores; \(escape(result.context.date))"
            + (result.config.quick ? "<br><b>Quick mode</b>: subset of the data, fewer rounds and epochs." : "") + "</p>\n"
        s += "<h2>Claims</h2>\n<table><tr><th>#</th><th>claim</th><th>verdict</th><th>evidence</th></tr>\n"
        for c in result.claims {
            let cls = c.holds.map { $0 ? "holds" : "fails" } ?? ""
            s += "<tr><td>\(c.id)</td><td style=\"text-align:left\">\(escape(c.statement))</td><td class=\"\(cls)\">\(verdict(c.holds))</td><td style=\"text-align:left\">\(escape(c.evidence))</td></tr>\n"
        }
        s += "</table>\n<h2>Charts</h2>\n"
        let dense = result.dense.map { (value: $0.test_accuracy * 100, label: String(format: "dense %.2f%%", $0.test_accuracy * 100)) }
        // One colour per block size in every chart: its place among the configured block sizes.
        let sortedBlocks = result.config.blocks.sorted()
        let colored = result.runsBySize.map { run in
            (palette[(sortedBlocks.firstIndex(of: run.block) ?? 0) % palette.count], run)
        }
        let accuracy = colored.map { color, run in
            Series(name: "\(run.block)x\(run.block)", color: color, dashed: false,
                   points: run.levels.map { ($0.hidden_sparsity * 100, $0.score.test_accuracy * 100) })
        }
        if result.allReplicates.count > 1 {
            // Means over the seeds: one line per block size and recipe (the first recipe solid, the others dashed).
            var means: [Series] = [], gaps: [Series] = []
            var seedCount = 0
            for (bi, block) in result.config.blocks.sorted().enumerated() {
                for (ri, recipe) in result.recipesRun.enumerated() {
                    let levels = Study.aggregate(result, recipe: recipe.name, block: block)
                    guard !levels.isEmpty else { continue }
                    seedCount = max(seedCount, levels[0].score.count)
                    let name = "\(block)x\(block) \(recipe.name.rawValue)"
                    means.append(Series(name: name, color: palette[bi % palette.count], dashed: ri > 0,
                                        points: levels.map { ($0.hidden_sparsity * 100, $0.score.mean * 100) }))
                    gaps.append(Series(name: name, color: palette[bi % palette.count], dashed: ri > 0,
                                       points: levels.compactMap { l in l.gap.map { (l.hidden_sparsity * 100, $0.mean * 100) } }))
                }
            }
            let recipes = result.recipesRun.map(\.name.rawValue)
            let denseMean = SeedSpread(Study.denseBySeed(result).map(\.1.test_accuracy)).map {
                (value: $0.mean * 100, label: String(format: "dense %.2f%% (mean)", $0.mean * 100))
            }
            let styles = recipes.count > 1 ? "\(recipes[0]) solid, \(recipes.dropFirst().joined(separator: ", ")) dashed" : recipes[0]
            let over = "over \(seedCount) seed\(seedCount == 1 ? "" : "s"), "
            s += chart(title: "Mean test accuracy " + over + styles,
                       xLabel: "hidden-layer sparsity (%)", yLabel: "test accuracy (%)", series: means, reference: denseMean)
            if result.config.random_baseline {
                s += chart(title: "Mean score − random " + over + styles,
                           xLabel: "hidden-layer sparsity (%)", yLabel: "score − random (points)", series: gaps,
                           reference: (2, "+2 points"))
            }
        }
        let which = result.allReplicates.count > 1
            ? " (seed \(result.config.studySeeds.first ?? result.config.seed), \(result.config.retrainRecipes.first?.name.rawValue ?? ""))" : ""
        s += chart(title: (which.isEmpty ? "Test accuracy vs hidden-layer sparsity (score-based)" : "Test accuracy, score-based") + which, xLabel: "hidden-layer sparsity (%)",
                   yLabel: "test accuracy (%)", series: accuracy, reference: dense)
        var versus: [Series] = []
        for (color, run) in colored {
            versus.append(Series(name: "\(run.block)x\(run.block) score", color: color, dashed: false,
                                 points: run.levels.map { ($0.hidden_sparsity * 100, $0.score.test_accuracy * 100) }))
            if result.config.random_baseline {
                versus.append(Series(name: "\(run.block)x\(run.block) random", color: color, dashed: true,
                                     points: run.levels.compactMap { l in l.random.map { (l.hidden_sparsity * 100, $0.test_accuracy * 100) } }))
            }
        }
        s += chart(title: (which.isEmpty ? "Score-based (solid) vs random (dashed) block pruning" : "Score (solid) vs random (dashed)") + which, xLabel: "hidden-layer sparsity (%)",
                   yLabel: "test accuracy (%)", series: versus, reference: dense)
        if result.config.random_baseline {
            let gaps = colored.map { color, run in
                Series(name: "\(run.block)x\(run.block)", color: color, dashed: false,
                       points: run.levels.compactMap { l in
                           l.random.map { (l.hidden_sparsity * 100, (l.score.test_accuracy - $0.test_accuracy) * 100) }
                       })
            }
            s += chart(title: (which.isEmpty ? "Score-based minus random block pruning (test accuracy points)" : "Score − random, points") + which,
                       xLabel: "hidden-layer sparsity (%)", yLabel: "score − random (points)", series: gaps,
                       reference: (2, "+2 points"))
        }
        // Speedup charts: every batch at one thread, the widest batch at the threaded count.
        var charted = result.config.timing_batches.map { (batch: $0, threads: 1) }
        if let t = result.config.threadedTimingCount, let b = result.config.timing_batches.max() {
            charted.append((b, t))
        }
        for (b, t) in charted {
            let speed = colored.map { color, run in
                Series(name: "\(run.block)x\(run.block)", color: color, dashed: false,
                       points: run.levels.compactMap { l in
                           l.timing(batch: b, threads: t).map { (l.hidden_sparsity * 100, $0.speedup_bsr_vs_dense) }
                       })
            }
            s += chart(title: t == 1 ? "BSR inference speedup over dense (OpenBLAS sgemm), batch \(b), 1 thread"
                           : "BSR inference speedup over dense, batch \(b), \(t) threads (OpenBLAS and the parallel driver)",
                       xLabel: "hidden-layer sparsity (%)", yLabel: "dense time / BSR time (log scale)",
                       series: speed, reference: (1, "1x"), logY: true)
        }
        s += "<h2>Tables</h2>\n"
        for t in tables(result) {
            s += "<h3>\(escape(t.title))</h3>\n"
            if !t.note.isEmpty { s += "<p>\(escape(t.note))</p>\n" }
            s += "<table><tr>" + t.header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
            for row in t.rows { s += "<tr>" + row.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n" }
            s += "</table>\n"
        }
        s += "<p>Raw data: <code>results.json</code>.</p>\n</body></html>\n"
        return s
    }
}
