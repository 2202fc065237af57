import ArgumentParser
import Benchmarking
import BlockSparse
import PaperStudy
import Foundation

/// `kernelbench paper`: the paper-reproduction study (block pruning of LeNet-300-100).
struct Paper: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce block pruning of LeNet-300-100 on Fashion-MNIST (Huang et al., Entropy 2021) and time the pruned layers.",
        discussion: """
            Trains LeNet-300-100 (784-300-100-10, ReLU, softmax cross-entropy, Adam, batch 128) on \
            Fashion-MNIST with a validation split held out of the training set for model selection, \
            then, for each block size b, prunes iteratively: each round removes the 20% lowest-scored \
            alive b x b blocks of the hidden layers (10% of the output layer; score = mean |w| over the \
            block's real elements) and retrains with the pruned weights held at zero. A random-block \
            baseline removes the same number of blocks at random. At every level it records test \
            accuracy (also through the BSR kernels and the parallel driver) and times the three layer \
            products W·X at batch 1 and 64 as BSR, CSR and dense (OpenBLAS), each verified against the \
            reference first. Training uses --threads threads (default: the CPUs this process may use): with two or more, \
            each round's score and random chains train side by side on one OpenBLAS thread each \
            (LeNet's products are too small to gain from a second OpenBLAS thread). Inference is \
            timed on one thread for all three formats, and again at --timing-threads threads (default: \
            the CPUs this process may use): dense with that many OpenBLAS threads, BSR and CSR through \
            the parallel driver, except products too small to split (under 10x the measured dispatch \
            overhead on one thread), which run serially and are marked in the report.

            Retraining: learning-rate rewinding by default (--retrain); --retrain rewind,finetune runs \
            both recipes from the same dense baseline, and --seeds repeats everything per seed; the \
            report then gives means and spreads over the seeds and sets the recipes side by side.

            Writes results.json, results.md and report.html (inline SVG charts) to --output after each \
            block size, atomically, so an interrupted study keeps what it finished. Existing results \
            are never overwritten without --force.

            Examples:
              kernelbench paper --quick --output reports/paper/quick
              kernelbench paper --blocks 1,2,4 --rounds 11 --force
              kernelbench paper --retrain rewind,finetune --seeds 2021,1,2 --force
              kernelbench paper --data ~/fashion-mnist --export pruned/
            """)

    @Flag(help: "Quick mode: 10,000 training and 5,000 test samples, 5 dense epochs, 11 rounds of 1 retraining epoch (rewinding: 1 epoch at lr 0.001 unless --rewind-epochs), short timings; about 1 1/4 minutes on 2 cores for one seed and one recipe (1 min 14 s measured, reports/paper/README.md).")
    var quick = false

    @Option(help: ArgumentHelp("Comma-separated square block sizes to prune with (1 = unstructured).", valueName: "list"))
    var blocks: String = Paper.defaultBlocks
    static let defaultBlocks = "1,2,3,4,5,6,8,16", defaultSeed: UInt64 = 2021

    @Option(help: "Prune/retrain rounds per block size (default 16, about 97% hidden sparsity; 11 with --quick).")
    var rounds: Int?

    @Option(name: .customLong("hidden-fraction"),
            help: "Fraction of the alive blocks of the hidden layers removed per round (default 0.2, the paper's).")
    var hiddenFraction: Double?

    @Option(name: .customLong("output-fraction"),
            help: "Fraction of the alive blocks of the output layer removed per round (default 0.1, the paper's).")
    var outputFraction: Double?

    @Option(help: "Training epochs of the dense baseline (default 20, learning rate decayed 0.9x per epoch; 5 with --quick).")
    var epochs: Int?

    @Option(help: ArgumentHelp("Retraining after each pruning round: rewind (learning-rate rewinding, Renda et al. 2020: the dense schedule's learning rates again, --rewind-epochs from --rewind-lr decayed x--rewind-decay per epoch; the default), finetune (--retrain-epochs at the constant --retrain-lr, the paper-like recipe), or both, comma-separated (every seed runs each; the report sets them side by side). Default: rewind, or finetune when --retrain-epochs or --retrain-lr is given alone.", valueName: "list"))
    var retrain: String?

    @Option(name: .customLong("retrain-epochs"), help: "Fine-tuning epochs after each pruning round (default 2; 1 with --quick; 0 = one-shot pruning: each level is evaluated as pruned, without retraining, while the dense baseline is still trained).")
    var retrainEpochs: Int?

    @Option(name: .customLong("lr"), help: "Adam learning rate of the dense baseline (default 0.001).")
    var learningRate: Float?

    @Option(name: .customLong("retrain-lr"), help: "Adam learning rate of fine-tuning after each round (default 0.0005).")
    var retrainLearningRate: Float?

    @Option(name: .customLong("rewind-epochs"), help: "Rewinding epochs after each pruning round (default 4; 1 with --quick).")
    var rewindEpochs: Int?

    @Option(name: .customLong("rewind-lr"), help: "Adam learning rate of the first rewinding epoch (default 0.001, the dense baseline's).")
    var rewindLearningRate: Float?

    @Option(name: .customLong("rewind-decay"), help: "Rewinding's learning rate is multiplied by this after every epoch (default 0.6).")
    var rewindDecay: Float?

    @Option(help: "Seed of every random choice (initialisation, data order, validation split, random baseline).")
    var seed: UInt64 = Paper.defaultSeed

    @Option(help: ArgumentHelp("Comma-separated seeds: the whole study (dense baseline, every block size, the random baseline, every recipe) runs once per seed, and the report gives the mean and the min–max spread per level; the first seed's first recipe is the timed one. Replaces --seed.", valueName: "list"))
    var seeds: String?

    @Option(help: ArgumentHelp("Block score: mean-abs (the paper's), l2 or max-abs.", valueName: "score"))
    var score: String = BlockScore.meanAbs.rawValue

    @Flag(name: .customLong("no-random"), help: "Skip the random-block baseline (halves the training time).")
    var noRandom = false

    @Option(help: ArgumentHelp("Folder with Fashion-MNIST's gzipped IDX files.", valueName: "dir"))
    var data: String = FashionMNIST.defaultDirectory

    @Option(help: ArgumentHelp("Folder for results.json, results.md and report.html.", valueName: "dir"))
    var output: String = "reports/paper"

    @Flag(help: "Overwrite results already in --output (and layer files already in --export).")
    var force = false

    @Option(help: ArgumentHelp("Also write the last pruned network of each block size as Matrix Market files (one per layer, lenet300100_b<block>_fc<layer>.mtx) to this folder.", valueName: "dir"))
    var export: String?

    @Option(help: "Threads for training and accuracy evaluation (default: the CPUs this process may use; with two or more, the score and random chains train side by side).")
    var threads: Int?

    @Option(name: .customLong("timing-threads"),
            help: "Also time inference at this many threads (default: the CPUs this process may use; 1 = one-thread timings only; more than the CPUs shares cores, with a warning).")
    var timingThreads: Int?

    @Flag(help: "Only re-render results.md and report.html (and re-judge the claims) from the results.json in --output; no training.")
    var render = false

    func parsedBlocks() throws -> [Int] {
        let parts = blocks.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var sizes: [Int] = []
        for part in parts {
            guard let b = Int(part), b >= 1, b <= 300 else {
                throw ValidationError("--blocks: '\(part)' is not a block size between 1 and 300 (expected e.g. 1,2,4)")
            }
            guard !sizes.contains(b) else { throw ValidationError("--blocks: block size \(b) appears twice") }
            sizes.append(b)
        }
        return sizes
    }

    /// The recipes named by --retrain (nil: the default).
    func parsedRecipes() throws -> [RetrainKind]? {
        guard let retrain else { return nil }
        var kinds: [RetrainKind] = []
        for part in retrain.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let kind = RetrainKind(rawValue: name) else {
                throw ValidationError("--retrain: '\(name)' is not a recipe (expected rewind, finetune or rewind,finetune)")
            }
            guard !kinds.contains(kind) else { throw ValidationError("--retrain: \(name) appears twice") }
            kinds.append(kind)
        }
        return kinds
    }

    /// The seeds named by --seeds (nil: --seed alone).
    func parsedSeeds() throws -> [UInt64]? {
        guard let seeds else { return nil }
        var list: [UInt64] = []
        for part in seeds.split(separator: ",", omittingEmptySubsequences: false) {
            let text = part.trimmingCharacters(in: .whitespaces)
            guard let s = UInt64(text) else { throw ValidationError("--seeds: '\(text)' is not a seed (expected e.g. 2021,1,2)") }
            guard !list.contains(s) else { throw ValidationError("--seeds: seed \(s) appears twice") }
            list.append(s)
        }
        guard list.count <= 100 else { throw ValidationError("--seeds: at most 100 seeds (got \(list.count))") }
        return list
    }

    func validate() throws {
        _ = try parsedBlocks()
        _ = try parsedRecipes()
        _ = try parsedSeeds()
        if seeds != nil, seed != Paper.defaultSeed {
            throw ValidationError("--seed and --seeds: give the seeds in --seeds only")
        }
        if let e = rewindEpochs, e < 1 || e > 1000 {
            throw ValidationError("--rewind-epochs must be between 1 and 1000 (got \(e))")
        }
        if let d = rewindDecay, !(d > 0 && d <= 1) { throw ValidationError("--rewind-decay must be in (0, 1] (got \(d))") }
        if let r = rounds, r < 1 || r > 100 { throw ValidationError("--rounds must be between 1 and 100 (got \(r))") }
        if let e = epochs, e < 1 || e > 1000 { throw ValidationError("--epochs must be between 1 and 1000 (got \(e))") }
        if let e = retrainEpochs, e < 0 || e > 1000 {
            throw ValidationError("--retrain-epochs must be between 0 and 1000 (got \(e))")
        }
        for (name, value) in [("--lr", learningRate), ("--retrain-lr", retrainLearningRate), ("--rewind-lr", rewindLearningRate)] {
            if let v = value, !(v > 0 && v < 1) { throw ValidationError("\(name) must be in (0, 1) (got \(v))") }
        }
        for (name, value) in [("--hidden-fraction", hiddenFraction), ("--output-fraction", outputFraction)] {
            if let v = value, !(v > 0 && v < 1) { throw ValidationError("\(name) must be in (0, 1) (got \(v))") }
        }
        if let t = threads, t < 1 || t > 4096 { throw ValidationError("--threads must be between 1 and 4096 (got \(t))") }
        if let t = timingThreads, t < 1 || t > 4096 {
            throw ValidationError("--timing-threads must be between 1 and 4096 (got \(t))")
        }
        if render {
            // --render only reads results.json: options of a study would be silently ignored.
            let studyOptions: [(String, Bool)] = [
                ("--quick", quick), ("--blocks", blocks != Paper.defaultBlocks), ("--rounds", rounds != nil),
                ("--hidden-fraction", hiddenFraction != nil), ("--output-fraction", outputFraction != nil),
                ("--epochs", epochs != nil), ("--retrain-epochs", retrainEpochs != nil), ("--lr", learningRate != nil),
                ("--retrain-lr", retrainLearningRate != nil), ("--seed", seed != Paper.defaultSeed),
                ("--score", score != BlockScore.meanAbs.rawValue), ("--no-random", noRandom),
                ("--data", data != FashionMNIST.defaultDirectory), ("--export", export != nil), ("--threads", threads != nil),
                ("--timing-threads", timingThreads != nil), ("--retrain", retrain != nil), ("--seeds", seeds != nil),
                ("--rewind-epochs", rewindEpochs != nil), ("--rewind-lr", rewindLearningRate != nil),
                ("--rewind-decay", rewindDecay != nil),
            ]
            let given = studyOptions.filter(\.1).map(\.0)
            if !given.isEmpty {
                throw ValidationError("--render re-renders the results in --output; it takes no study options (got \(given.joined(separator: ", ")))")
            }
        }
        guard BlockScore(rawValue: score) != nil else {
            throw ValidationError("--score must be one of \(BlockScore.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(score)')")
        }
    }

    func run() throws {
        #if DEBUG
        note("warning: debug build; training and timings are far slower than with `swift build -c release`")
        #endif
        let files = StudyReport.files(in: output)
        if render {
            guard let data = FileManager.default.contents(atPath: files[0]) else {
                throw InputError(source: files[0], "cannot read (run the study first, or pass --output DIR)")
            }
            var result = try StudyResult.decode(data, source: files[0])
            result.claims = Study.evaluateClaims(result)
            try StudyReport.write(result, to: files)
            note("paper: re-rendered \(files.joined(separator: ", "))")
            return
        }
        let cpus = Topology.detect().cpuCount
        let threadCount = threads ?? cpus
        var config = quick ? StudyConfig.quickMode(dataDirectory: data, threads: threadCount)
            : StudyConfig.full(dataDirectory: data, threads: threadCount)
        config.blocks = try parsedBlocks()
        if let rounds { config.rounds = rounds }
        let timing = timingThreads ?? cpus
        warnIfOversubscribed([timing], cpus: cpus, option: "--timing-threads", hint: "leave it out for all of them")
        config.timing_threads = timing > 1 ? timing : nil
        if let hiddenFraction { config.hidden_fraction = hiddenFraction }
        if let outputFraction { config.output_fraction = outputFraction }
        if let epochs { config.epochs = epochs }
        if let retrainEpochs { config.retrain_epochs = retrainEpochs }
        config.seed = seed
        if let learningRate { config.learning_rate = learningRate }
        if let retrainLearningRate { config.retrain_learning_rate = retrainLearningRate }
        // Recipes: rewinding by default; the fine-tuning options alone keep their old meaning.
        let kinds = try parsedRecipes() ?? (retrainEpochs != nil || retrainLearningRate != nil ? [.finetune] : [.rewind])
        let defaultRewind = config.recipes?.first { $0.name == .rewind } ?? .rewind()
        config.recipes = kinds.map { kind in
            switch kind {
            case .rewind:
                return .rewind(epochs: rewindEpochs ?? defaultRewind.epochs,
                               learningRate: rewindLearningRate ?? defaultRewind.learning_rate,
                               decay: rewindDecay ?? defaultRewind.decay)
            case .finetune:
                return .finetune(epochs: config.retrain_epochs, learningRate: config.retrain_learning_rate)
            }
        }
        if let list = try parsedSeeds() {
            config.seeds = list
            config.seed = list.first ?? seed
        } else {
            config.seeds = [seed]
        }
        guard !config.studySeeds.isEmpty else { throw ValidationError("--seeds: no seed given") }
        config.score = BlockScore(rawValue: score)!
        config.random_baseline = !noRandom

        // Every destination is checked before the training, not after it.
        try refuseToOverwrite(files, force: force, alternative: "--output DIR to write elsewhere")
        try checkWritable(files[0])
        if let export {
            let layers = config.layer_sizes.count - 1
            let paths = config.blocks.flatMap { block in (0..<layers).map { SparseNetwork.exportPath(export, block: block, layer: $0) } }
            try refuseToOverwrite(paths, force: force, alternative: "--export DIR to write elsewhere")
            try checkWritable(paths[0])
        }

        let (train, test) = try FashionMNIST.load(directory: data)
        note("paper: \(train.count) training and \(test.count) test images from \(data); blocks \(config.blocks.map(String.init).joined(separator: ",")), \(config.rounds) rounds, \(config.epochs) dense epochs, retraining \(config.retrainRecipes.map(\.label).joined(separator: " and ")), seeds \(config.studySeeds.map(String.init).joined(separator: ",")), \(threadCount) training thread(s)")
        let command = (["kernelbench"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        let result = try Study.run(config: config, train: train, test: test, command: command,
                                   progress: { note("paper: " + $0) },
                                   checkpoint: { try StudyReport.write($0, to: files) },
                                   finished: { block, network in
                                       if let export {
                                           try network.export(block: block, to: export)
                                           note("paper: exported the \(block)x\(block) network's \(network.layers.count) layers to \(export)")
                                       }
                                   })
        print(StudyReport.markdown(result))
        note("paper: wrote \(files.joined(separator: ", ")) in \(Study.formatDuration(result.runtime_seconds))")
    }
}
