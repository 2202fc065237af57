import Foundation
import BlockSparse

// Performance-regression comparison of two result files (`kernelbench
// compare BASE NEW`): kernelbench JSON or Google Benchmark JSON on either
// side, cases matched by name, a verdict per case, a Markdown report.

/// What a comparison decides for one case.
public enum Verdict: String, Sendable, CaseIterable {
    /// Slower by more than the minimum effect, and significant (or, for
    /// deterministic counts, above the threshold).
    case regression
    case improvement
    /// Within the minimum effect (or threshold).
    case unchanged
    /// A change beyond the minimum effect that the U test does not confirm,
    /// or that too few repetitions leave untested.
    case noisy
}

/// Knobs of a comparison.
public struct ComparisonOptions: Sendable, Equatable {
    /// Significance level of the two-sided U test.
    public var alpha: Double
    /// Smallest relative change of the median that counts (0.05 = 5%).
    public var minEffect: Double
    /// Compare single deterministic values (instruction counts): no U test,
    /// a change beyond `threshold` is a regression or an improvement.
    public var deterministic: Bool
    /// Relative threshold of the deterministic mode (0.02 = 2%).
    public var threshold: Double
    /// Compare only cases whose name contains a match of this regular expression.
    public var filter: String?
    /// A case BASE measured that NEW lacks altogether fails the comparison
    /// (see ``Comparison/failure``) instead of being listed as only in base:
    /// the instruction gate must not pass because a case stopped running.
    public var failOnMissing: Bool

    /// Below this many repetitions per side the U test is refused.
    public static let minimumRepetitions = 3
    /// Below this many the test is run with a warning (as in Google Benchmark's compare.py).
    public static let recommendedRepetitions = 9

    public init(alpha: Double = 0.05, minEffect: Double = 0.05, deterministic: Bool = false,
                threshold: Double = 0.02, filter: String? = nil, failOnMissing: Bool = false) {
        self.alpha = alpha
        self.minEffect = minEffect
        self.deterministic = deterministic
        self.threshold = threshold
        self.filter = filter
        self.failOnMissing = failOnMissing
    }
}

/// One matched case.
public struct CaseComparison: Sendable {
    public var name: String
    public var kernel: String?
    public var baseSamples: [Double]
    public var newSamples: [Double]
    public var baseMedian: Double
    public var newMedian: Double
    /// NEW median / BASE median.
    public var ratio: Double
    /// Two-sided U test p-value; nil when not tested (deterministic mode, too few repetitions).
    public var pValue: Double?
    public var testMethod: MannWhitney.Method?
    public var verdict: Verdict
    /// Why the U test was not run, or another remark.
    public var note: String?

    public var change: Double { ratio - 1 }
}

/// A context key whose value differs between the two runs.
public struct ContextDifference: Sendable, Equatable {
    public var key: String
    public var base: String
    public var new: String
    /// CPU, build configuration or compiler: the comparison may be meaningless.
    public var critical: Bool
}

/// Two result files compared case by case.
public struct Comparison: Sendable {
    public var base: ResultFile
    public var new: ResultFile
    public var options: ComparisonOptions
    /// Matched cases, in the base file's order.
    public var cases: [CaseComparison]
    public var onlyInBase: [String]
    public var onlyInNew: [String]
    /// Cases with an error on either side: name → "base: message" / "new: message".
    public var errors: [(name: String, message: String)]
    /// Cases that BASE measured and that failed in NEW (an error, an
    /// unverified result, a non-positive time): NEW cannot pass the gate.
    public var newFailures: [String]
    public var contextDifferences: [ContextDifference]
    /// Shared context keys that agree.
    public var contextAgreeing: Int
    public var warnings: [String]

    /// Context keys whose difference makes timings incomparable.
    public static let criticalContextKeys: Set<String> = [
        "cpu_model", "cpu_id", "isa_features", "machine_class", "build_configuration", "library_build_type",
        "compiler", "swift_version", "kernel_flags", "dispatch_isa", "isa",
    ]
    /// Context keys that differ between any two runs and say nothing.
    static let ignoredContextKeys: Set<String> = ["date", "load_avg"]

    /// Compares `new` against `base`.
    /// - Throws: ``InputError`` when the files measure different things
    ///   (times against instruction counts), when they have no case in
    ///   common, or when `options.filter` is empty or not a valid regular expression.
    public init(base: ResultFile, new: ResultFile, options: ComparisonOptions = ComparisonOptions()) throws {
        self.base = base
        self.new = new
        self.options = options
        if base.unit != new.unit {
            throw InputError(source: new.source,
                             "measures \(new.unit.rawValue) but \(base.source) measures \(base.unit.rawValue): not comparable")
        }
        var keep: (String) -> Bool = { _ in true }
        if let pattern = options.filter {
            guard !pattern.isEmpty else {
                throw InputError(source: "--filter", "is empty: give a regular expression, or leave --filter out to compare every case")
            }
            let regex: NSRegularExpression
            do { regex = try NSRegularExpression(pattern: pattern) } catch {
                throw InputError(source: "--filter", "not a valid regular expression: \(pattern)")
            }
            keep = { name in
                regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
            }
        }
        let deterministic = options.deterministic
        let newByName = Dictionary(new.cases.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let baseNames = Set(base.cases.map(\.name)).union(base.errors.keys)
        let newNames = Set(new.cases.map(\.name)).union(new.errors.keys)

        var errors: [(String, String)] = []
        for name in baseNames.union(newNames).sorted() where keep(name) {
            var parts: [String] = []
            if let e = base.errors[name] { parts.append("base: \(e)") }
            if let e = new.errors[name] { parts.append("new: \(e)") }
            if !parts.isEmpty { errors.append((name, parts.joined(separator: "; "))) }
        }
        let errored = Set(errors.map(\.0))
        let measuredInBase = Set(base.cases.map(\.name))
        var newFailures = errors.map(\.0).filter { measuredInBase.contains($0) && new.errors[$0] != nil }

        var cases: [CaseComparison] = []
        var fewReps = 0
        for b in base.cases where keep(b.name) && !errored.contains(b.name) {
            guard let n = newByName[b.name] else { continue }
            let baseMedian = b.median, newMedian = n.median
            // Files read by ResultFile.load never get here with a zero (such a case
            // is an error there); a hand-built ResultFile is held to the same rule.
            guard baseMedian > 0, newMedian > 0 else {
                let side = baseMedian > 0 ? "new" : "base"
                errors.append((b.name, "\(side): median is \(side == "new" ? newMedian : baseMedian), not a positive measurement"))
                if side == "new" { newFailures.append(b.name) }
                continue
            }
            let ratio = newMedian / baseMedian
            var c = CaseComparison(name: b.name, kernel: n.kernel ?? b.kernel, baseSamples: b.samples,
                                   newSamples: n.samples, baseMedian: baseMedian, newMedian: newMedian,
                                   ratio: ratio, pValue: nil, testMethod: nil, verdict: .unchanged, note: nil)
            if deterministic {
                c.verdict = ratio > 1 + options.threshold ? .regression
                    : ratio < 1 - options.threshold ? .improvement : .unchanged
            } else {
                let effect = abs(ratio - 1) > options.minEffect
                let counts = (b.samples.count, n.samples.count)
                if b.fromAggregate || n.fromAggregate || min(counts.0, counts.1) < ComparisonOptions.minimumRepetitions {
                    let why = b.fromAggregate || n.fromAggregate ? "median aggregate only" : "\(counts.0) vs \(counts.1) repetitions"
                    c.note = "too few repetitions for a U test (\(why); at least \(ComparisonOptions.minimumRepetitions) per side)"
                    c.verdict = effect ? .noisy : .unchanged
                } else {
                    if min(counts.0, counts.1) < ComparisonOptions.recommendedRepetitions { fewReps += 1 }
                    let test = MannWhitney.test(b.samples, n.samples)
                    c.pValue = test.pValue
                    c.testMethod = test.method
                    let significant = test.pValue < options.alpha
                    if effect && significant {
                        c.verdict = ratio > 1 ? .regression : .improvement
                    } else {
                        c.verdict = effect ? .noisy : .unchanged
                    }
                }
            }
            cases.append(c)
        }
        self.cases = cases
        self.errors = errors
        self.newFailures = newFailures
        let matched = Set(cases.map(\.name)).union(errored)
        self.onlyInBase = base.cases.map(\.name).filter { keep($0) && newByName[$0] == nil && !matched.contains($0) }
        self.onlyInNew = new.cases.map(\.name).filter { keep($0) && !baseNames.contains($0) }

        var warnings: [String] = []
        if fewReps > 0 {
            warnings.append("\(fewReps) case(s) have fewer than \(ComparisonOptions.recommendedRepetitions) repetitions on a side: "
                + "the U test has little power there (Google Benchmark's compare.py asks for 9 or more).")
        }
        let untested = cases.filter { $0.pValue == nil && !deterministic }.count
        if untested > 0 {
            warnings.append("\(untested) case(s) were not tested: fewer than \(ComparisonOptions.minimumRepetitions) repetitions "
                + "(or a median aggregate only) on a side; they are never called a regression.")
        }
        var diffs: [ContextDifference] = []
        var agreeing = 0
        for key in Set(base.context.keys).intersection(new.context.keys).sorted()
        where !Comparison.ignoredContextKeys.contains(key) && !key.hasPrefix("peak.") {
            let b = base.context[key]!, n = new.context[key]!
            if b == n { agreeing += 1; continue }
            diffs.append(ContextDifference(key: key, base: b, new: n,
                                           critical: Comparison.criticalContextKeys.contains(key)))
        }
        self.contextDifferences = diffs
        self.contextAgreeing = agreeing
        self.warnings = warnings

        if cases.isEmpty && errors.isEmpty {
            let filtered = options.filter.map { " matching --filter '\($0)'" } ?? ""
            throw InputError(source: new.source,
                             "no cases in common with \(base.source)\(filtered) "
                             + "(base has \(base.cases.count), new has \(new.cases.count); cases are matched by name)")
        }
    }

    /// Loads both files and compares them.
    public static func load(base: String, new: String, options: ComparisonOptions = ComparisonOptions()) throws -> Comparison {
        try Comparison(base: ResultFile.load(path: base), new: ResultFile.load(path: new), options: options)
    }

    public func count(_ verdict: Verdict) -> Int { cases.filter { $0.verdict == verdict }.count }
    public var hasRegression: Bool { cases.contains { $0.verdict == .regression } }

    /// Geometric mean of NEW/BASE median ratios over all compared cases.
    public var geometricMean: Double? {
        guard !cases.isEmpty else { return nil }
        return exp(cases.reduce(0) { $0 + log($1.ratio) } / Double(cases.count))
    }

    /// Why NEW cannot pass the gate whatever its timings say: cases BASE
    /// measured failed in NEW, with `options.failOnMissing` cases BASE
    /// measured are missing from NEW, or no case could be compared at all
    /// (every matched case has an error). Nil when the comparison can decide.
    public var failure: String? {
        func list(_ names: [String]) -> String {
            names.prefix(3).joined(separator: ", ") + (names.count > 3 ? ", ..." : "")
        }
        var reasons: [String] = []
        if !newFailures.isEmpty {
            let n = newFailures.count
            reasons.append("\(n) case\(n == 1 ? "" : "s") measured in \(base.source) failed in \(new.source) "
                + "(error, unverified result or non-positive time): \(list(newFailures))")
        }
        if options.failOnMissing && !onlyInBase.isEmpty {
            let n = onlyInBase.count
            reasons.append("\(n) case\(n == 1 ? "" : "s") measured in \(base.source) \(n == 1 ? "is" : "are") missing from "
                + "\(new.source) (--fail-on-missing): \(list(onlyInBase))")
        }
        if !reasons.isEmpty { return reasons.joined(separator: "; ") }
        if cases.isEmpty {
            return "no case could be compared: all \(errors.count) matched case\(errors.count == 1 ? " has" : "s have") errors"
        }
        return nil
    }

    /// The exit status of `kernelbench compare`: ``CompareExit/error`` when
    /// NEW failed or (with `options.failOnMissing`) lacks cases of BASE (see
    /// ``failure``), even with `reportOnly`; else
    /// ``CompareExit/regression`` when a case regressed (unless `reportOnly`),
    /// else ``CompareExit/success``.
    public func exitStatus(reportOnly: Bool = false) -> Int32 {
        if failure != nil { return CompareExit.error }
        return hasRegression && !reportOnly ? CompareExit.regression : CompareExit.success
    }

    /// The context differences that make the comparison doubtful.
    public var criticalDifferences: [ContextDifference] { contextDifferences.filter(\.critical) }
}

/// Exit statuses of `kernelbench compare` (which differ from the rest of kernelbench).
public enum CompareExit {
    public static let success: Int32 = 0
    /// Missing or unreadable file, malformed JSON, no cases in common, bad
    /// option, cases that failed in NEW, or (with `failOnMissing`) cases
    /// of BASE missing from NEW.
    public static let error: Int32 = 1
    public static let regression: Int32 = 2
}
