import BlockSparse
import Foundation

/// Where a run's results go: a JSON file, and its Markdown, CSV and HTML beside it.
public struct ResultPaths: Sendable, Equatable {
    public let json: String
    public let markdown: String
    public let csv: String
    public let html: String

    public init(json: String) {
        let stem = (json as NSString).deletingPathExtension
        self.json = json
        markdown = stem + ".md"
        csv = stem + ".csv"
        html = stem + ".html"
    }

    /// The paths `--output` names: a .json file, an existing folder or one to
    /// create (ending in /), where the file is `kernelbench-<date>-<time>.json`;
    /// nil: that file in reports/runs/.
    /// - Throws: ``InputError`` for any other value.
    public init(output: String?, date: Date = Date()) throws {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        let stamp = "kernelbench-" + formatter.string(from: date) + ".json"
        guard let output else {
            self.init(json: "reports/runs/" + stamp)
            return
        }
        var isDirectory: ObjCBool = false
        if output.hasSuffix(".json") {
            guard (output as NSString).lastPathComponent != ".json" else {
                throw InputError(source: "--output '\(output)'", "needs a file name before .json")
            }
            self.init(json: output)
        } else if output.hasSuffix("/")
                    || (FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) && isDirectory.boolValue) {
            self.init(json: (output as NSString).appendingPathComponent(stamp))
        } else {
            throw InputError(source: "--output '\(output)'", "must be a .json file or an existing folder (end it with / to create one)")
        }
    }

    public var all: [String] { [json, markdown, csv, html] }

    /// Refuses to overwrite existing results (unless `force`) and checks that
    /// the folder is writable: before the measuring, not after it.
    public func checkDestination(force: Bool) throws {
        try refuseToOverwrite(all, force: force, alternative: "choose another --output")
        try checkWritable(json)
    }

    /// Writes the report in every format, each file atomically.
    public func write(_ report: BenchmarkReport) throws {
        try writeAtomically(try report.jsonData(), to: json)
        for (format, path) in [(ReportFormat.markdown, markdown), (.csv, csv), (.html, html)] {
            try writeAtomically(Data(ReportRenderer.render(report, as: format).utf8), to: path)
        }
    }
}

/// What a run tells its caller while it works.
public struct RunEvents {
    /// A line for the user (start-up figures, the plan, warnings).
    public var note: (String) -> Void = { _ in }
    public var progress: (SuiteProgress) -> Void = { _ in }
    public var caseFinished: (BenchmarkEntry) -> Void = { _ in }
    public var searchFinished: (BreakEvenResult) -> Void = { _ in }
    /// A notice about the case in flight (``SuiteRunner/onNotice``).
    public var notice: (String) -> Void = { _ in }
    /// Polled as each case and search finishes: true saves every completed
    /// case and ends the run with ``SuiteSession/Interrupted``.
    public var interrupted: () -> Bool = { false }

    public init() {}
}

/// A whole `kernelbench run`: peers loaded, the plan checked against memory,
/// the machine probed, every case and break-even search measured, results
/// rewritten as they come, and the run's quiet-check statistics told.
public enum SuiteSession {
    /// The run was interrupted; every completed case is saved in `json`.
    public struct Interrupted: Error {
        public let json: String
    }

    /// The share of the planned time a run may spend on the quiet check by
    /// default. Three default runs on a 2-core Zen 3 host spent a quarter in
    /// full every time (38-41 s) and still kept over 1100 rounds disturbed:
    /// where the host stays busy, waiting longer buys little, and the run's
    /// 3 minutes are the user's.
    public static let defaultRetimeShare = 0.125

    /// Runs `config` and writes its results to `paths`.
    /// - Parameters:
    ///   - quietCheck: time each round only while the core is not shared (``QuietCheck``).
    ///   - retimeBudget: seconds the run may spend on the quiet check; nil: ``defaultRetimeShare`` of the plan.
    /// - Returns: the runner, whose ``SuiteRunner/report`` is written and whose
    ///   ``SuiteRunner/failures`` lists the cases that failed verification.
    /// - Throws: ``InputError`` for a plan with no case or a peer that cannot be
    ///   used, ``MatrixError`` for a plan that does not fit in memory,
    ///   ``Interrupted`` when `events.interrupted()` asked to stop.
    public static func run(_ config: SuiteConfig, to paths: ResultPaths, quietCheck: Bool, retimeBudget: Double?,
                           events: RunEvents) throws -> SuiteRunner {
        try loadPeers(config, note: events.note)
        let topology = Topology.detect()
        if let reason = topology.fallbackReason { events.note("kernelbench: NUMA: \(reason)") }
        let runner = SuiteRunner(config: config, context: MachineContext.current(), peak: nil)
        let cases = try runner.plan()
        guard !cases.isEmpty else {
            if let filter = config.filter { throw InputError(source: "--filter", "no case matches '\(filter)'") }
            throw InputError(source: "--formats", "no case to run: block size 1 is unstructured (csr and dense only), "
                             + "and --formats asks only for bsr: add csr or dense to --formats, or a larger size to --blocks")
        }
        if config.formats.contains(.mklBSR) {
            // Said once, not silently: MKL's BSR takes square blocks that divide both sides of A.
            let skipped = config.blocks.filter { b in
                b.area > 1 && (b.rows != b.cols || config.sources.contains { $0.rows % b.rows != 0 || $0.cols % b.cols != 0 })
            }
            if !skipped.isEmpty {
                events.note("kernelbench: mkl-bsr does not run on \(skipped.map(\.description).joined(separator: ", ")) "
                            + "blocks (on the matrices they do not fit): MKL's BSR takes square blocks whose side divides both sides of A")
            }
        }
        try runner.checkMemory(cases)

        events.note("kernelbench: measuring this machine's FMA peak, bandwidth and fork/join cost...")
        let peak = MachinePeak.measure(threads: topology.cpuCount)
        events.note(String(format: "kernelbench: peak %.1f GFLOP/s/core", peak.gflopsOneCore) + " (\(peak.isa ?? "?"))"
                    + String(format: ", %.1f GFLOP/s on %d threads, triad %.1f GB/s",
                             peak.gflopsAllCores, peak.threads, peak.triadGBps))
        events.note("kernelbench: fork/join " + peak.forkJoinDescription)
        if let warning = peak.scalingWarning { events.note("kernelbench: warning: " + warning) }
        let measured = SuiteRunner(config: config, context: MachineContext.current(), peak: peak)
        measured.onProgress = events.progress
        measured.onNotice = events.notice
        // Results are rewritten atomically at most every 2 s (rewriting all of
        // them after every case grows quadratically with the sweep), at the
        // end, and, when interrupted, as soon as the case (or break-even search)
        // in flight finishes. Rendering grows with the report (about a second for
        // the default suite's 800 cases), so the pause after a write is also
        // at least 19 times the write: writes take at most 5% of the run.
        var nextWrite = monotonicNanoseconds() + 2_000_000_000
        func saved(_ report: BenchmarkReport) throws {
            if events.interrupted() {
                try paths.write(report)
                throw Interrupted(json: paths.json)
            }
            let now = monotonicNanoseconds()
            if now > nextWrite {
                try paths.write(report)
                let done = monotonicNanoseconds()
                nextWrite = done + max(2_000_000_000, 19 * (done - now))
            }
        }
        measured.onBreakEvenFinished = { report, result in
            events.searchFinished(result)
            try saved(report)
        }
        measured.onCaseFinished = { report, entry in
            events.caseFinished(entry)
            try saved(report)
        }
        let searches = measured.breakEvenTargets(cases).count
        let plannedSeconds = measured.plannedSeconds(cases)
        let planned = Int(plannedSeconds.rounded())
        var budgetNote = ""
        if quietCheck {
            let budget = RetimeBudget(seconds: retimeBudget ?? (plannedSeconds * defaultRetimeShare).rounded(.up))
            measured.quietGate = QuietCheck().gate(budget: budget)
            budgetNote = String(format: ", up to %.0f s more to retime disturbed rounds", budget.seconds)
        }
        events.note("kernelbench: \(cases.count) cases" + (searches > 0 ? " and \(searches) break-even searches" : "")
                    + String(format: " (planned %d:%02d on a 2-core machine", planned / 60, planned % 60) + budgetNote
                    + "); results go to \(paths.json)")
        try measured.run(cases)
        for line in quietCheckSummary(measured.retimed) { events.note(line) }
        try paths.write(measured.report)
        return measured
    }

    /// What the quiet check did over the run, for the user: repetitions
    /// retimed and kept disturbed (each set's most of one case, summed), and a
    /// warning when it failed around most sets.
    static func quietCheckSummary(_ retimed: (timedSets: Int, sets: Int, rounds: Int, disturbed: Int)) -> [String] {
        var lines: [String] = []
        if retimed.sets > 0 {
            lines.append("kernelbench: the quiet check failed around \(retimed.rounds) repetition(s) in \(retimed.sets) of "
                         + "\(retimed.timedSets) comparison set(s), counting each set's most of one case; they were timed "
                         + "again (retimed_rounds in the results)")
        }
        if retimed.disturbed > 0 {
            lines.append("kernelbench: \(retimed.disturbed) repetition(s) were kept although the quiet check failed around "
                         + "them, counting each set's most of one case (a case's limit of dropped repetitions or the run's "
                         + "--retime-budget was spent; disturbed_rounds in the results)")
        }
        if retimed.timedSets >= 4 && 2 * retimed.sets > retimed.timedSets {
            lines.append("kernelbench: warning: the quiet check failed around most comparison sets. Either another workload "
                         + "kept sharing this core (rerun when the machine is quiet) or the core ran slower for a lasting "
                         + "reason such as power or thermal limits (then rerun with --no-quiet-check)")
        }
        return lines
    }

    /// Loads the library of every peer format of the run before anything is
    /// measured, and checks that it honours each thread count: a library
    /// that cannot be used is one line and exit 2 (``InputError``), never a skip.
    static func loadPeers(_ config: SuiteConfig, note: (String) -> Void) throws {
        for peer in Set(config.formats.compactMap(\.peer)).sorted(by: { $0.rawValue < $1.rawValue }) {
            let version = try peer.load()
            for t in config.threads where peer.setThreads(t) != t {
                throw InputError(source: "--peers \(peer.rawValue)",
                                 "\(peer.displayName) runs \(peer.setThreads(t)) thread(s) where --threads asks \(t)"
                                 + (ProcessInfo.processInfo.environment["MKL_THREADING_LAYER"].map {
                                     " (MKL_THREADING_LAYER=\($0) is set)" } ?? ""))
            }
            note("kernelbench: peer \(peer.displayName): \(version) (\(peer.libraryPath))")
        }
    }
}
