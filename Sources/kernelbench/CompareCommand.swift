import ArgumentParser
import Benchmarking
import BlockSparse
import PaperStudy
import Foundation

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two result files (kernelbench or Google Benchmark JSON) and flag regressions.",
        discussion: """
            Cases are matched by name. For each, the report gives the median change, the ratio \
            NEW/BASE and a two-sided Mann-Whitney U test over the repetitions (exact when a side has at most 8 values, the other at most 1000, \
            and there are no ties, else the normal approximation with tie and continuity corrections, \
            as scipy and Google Benchmark's compare.py compute it). It warns below 9 repetitions \
            per side and refuses the test below 3 (a file with only aggregates counts as one).

            Verdict: regression when p < --alpha and the median grew by more than --min-effect; \
            improvement symmetrically; noisy when the change exceeds --min-effect but the test does \
            not confirm it (or cannot be run); unchanged otherwise. With --deterministic (implied \
            when both files hold instruction counts, time_unit "instructions") there is no test: \
            a change beyond --threshold is a regression or an improvement.

            The Markdown report gives the summary (counts, geometric mean of the ratios, worst \
            regressions), the table, the cases not compared (errors, unmatched names) and the \
            differences in machine context, loudly when CPU, build configuration or compiler differ. \
            Without --report it goes to standard output; with --report FILE standard output gets \
            the summary only.

            A case that BASE measured but that failed in NEW (an error, a result not verified \
            against the reference, a zero time) fails the comparison, as does a comparison in \
            which no case could be compared; the report is still written in full. A time or count \
            of zero is an error case on either side, never a ratio. A case BASE measured that NEW \
            lacks altogether is listed as "only in base"; with --fail-on-missing it fails the \
            comparison too (the instruction gate uses it, so a case that stopped running cannot pass).

            Exit codes of this command (unlike the rest of kernelbench): 0 no regression, \
            2 regression found, 1 error (missing file, malformed JSON, no cases in common, bad \
            option value, a case failed in NEW or, with --fail-on-missing, is missing from it, \
            nothing comparable). With --report-only, 0 unless \
            there is an error (failed cases are errors, so they still exit 1). A command line the \
            parser cannot read at all (unknown option, missing BASE or NEW) is an error too: \
            status 1, so that 2 always means a regression.
            """)

    @Argument(help: "The baseline result file.")
    var base: String

    @Argument(help: "The result file to compare against it.")
    var new: String

    @Option(help: "Significance level of the two-sided U test.")
    var alpha = 0.05

    @Option(help: "Smallest relative change of the median that counts (0.05 = 5%).")
    var minEffect = 0.05

    @Flag(help: "Compare single deterministic values (instruction counts) against --threshold, without a test.")
    var deterministic = false

    @Option(help: "Relative threshold for --deterministic (0.02 = 2%).")
    var threshold = 0.02

    @Option(help: ArgumentHelp("Write the full Markdown report to this file (atomically).", valueName: "file.md"))
    var report: String?

    @Flag(help: "Overwrite an existing --report file (never one of the compared files).")
    var force = false

    @Flag(help: "Report only: exit 0 even when there are regressions (errors, failed cases included, still exit 1).")
    var reportOnly = false

    @Option(help: ArgumentHelp("Compare only cases whose name matches this regular expression (not empty).", valueName: "regex"))
    var filter: String?

    @Flag(help: "Fail (exit 1, even with --report-only) when a case measured in BASE is missing from NEW.")
    var failOnMissing = false

    func run() throws {
        do {
            try checkOptions()
            let baseFile = try ResultFile.load(path: base)
            let newFile = try ResultFile.load(path: new)
            let options = ComparisonOptions(
                alpha: alpha, minEffect: minEffect,
                deterministic: deterministic || (baseFile.unit == .instructions && newFile.unit == .instructions),
                threshold: threshold, filter: filter, failOnMissing: failOnMissing)
            let comparison = try Comparison(base: baseFile, new: newFile, options: options)
            if let report {
                try writeAtomically(Data(comparison.markdown().utf8), to: report)
                print(comparison.summaryMarkdown())
                print("Full report: \(report)")
            } else {
                print(comparison.markdown())
            }
            let status = comparison.exitStatus(reportOnly: reportOnly)
            fflush(nil)  // the report (stdout) before the one-line verdict on stderr
            if let failure = comparison.failure {
                throw CLIFailure(message: "compare: \(failure)", code: status)
            }
            if status != 0 {
                let n = comparison.count(.regression)
                throw CLIFailure(message: "compare: \(n) regression\(n == 1 ? "" : "s") found", code: status)
            }
        } catch let error as InputError {
            throw CLIFailure(message: "compare: \(error)", code: CompareExit.error)
        }
    }

    func checkOptions() throws {
        guard alpha > 0, alpha < 1 else { throw InputError(source: "--alpha", "must be in (0, 1) (got \(alpha))") }
        guard minEffect >= 0, minEffect.isFinite else {
            throw InputError(source: "--min-effect", "must be a non-negative fraction (got \(minEffect))")
        }
        guard threshold >= 0, threshold.isFinite else {
            throw InputError(source: "--threshold", "must be a non-negative fraction (got \(threshold))")
        }
        if let report {
            guard !report.isEmpty else {
                throw InputError(source: "--report", "is empty: name the Markdown file to write, or leave it out for standard output")
            }
            let target = URL(fileURLWithPath: report).standardizedFileURL.resolvingSymlinksInPath().path
            for input in [base, new]
            where URL(fileURLWithPath: input).standardizedFileURL.resolvingSymlinksInPath().path == target {
                throw InputError(source: report, "is one of the compared files; choose another --report path")
            }
            try refuseToOverwrite([report], force: force)
        }
    }
}
