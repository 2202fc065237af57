import Foundation
import BlockSparse

// Performance-regression comparison of two result files (`kernelbench
// compare BASE NEW`): kernelbench JSON or Google Benchmark JSON on either
// side, cases matched by name, a verdict per case, a Markdown report.

// MARK: - Reading result files

/// What a result file measures.
public enum ResultUnit: String, Sendable, Equatable {
    /// Wall-clock time, converted to seconds from the entries' `time_unit`.
    case seconds
    /// Instruction counts (`time_unit == "instructions"`): deterministic.
    case instructions

    /// What a `time_unit` string measures and the factor that converts a
    /// value in it to this unit (seconds for times, 1 for instructions);
    /// nil for a unit kernelbench does not know.
    public static func parse(timeUnit: String) -> (unit: ResultUnit, scale: Double)? {
        switch timeUnit {
        case "ns": return (.seconds, 1e-9)
        case "us": return (.seconds, 1e-6)
        case "ms": return (.seconds, 1e-3)
        case "s": return (.seconds, 1)
        case "instructions": return (.instructions, 1)
        default: return nil
        }
    }

    /// The `time_unit` values ``parse(timeUnit:)`` accepts, for messages.
    public static let known = "ns, us, ms, s or instructions"

    /// How an entry's `real_time` reads: its unit and the factor to it. Nil for
    /// an aggregate other than the median in a unit that is not a measure
    /// (such as a coefficient of variation in percent), which is not used.
    /// - Throws: ``InputError`` for any other entry in an unknown unit.
    static func read(timeUnit: String, runType: String?, aggregateName: String?, source: String,
                     entry: String) throws -> (unit: ResultUnit, scale: Double)? {
        if let parsed = parse(timeUnit: timeUnit) { return parsed }
        if runType == "aggregate" && aggregateName != "median" { return nil }
        throw unknownUnitError(source: source, entry: entry, timeUnit: timeUnit)
    }

    /// The error for an entry whose `time_unit` is not known.
    static func unknownUnitError(source: String, entry: String, timeUnit: String) -> InputError {
        InputError(source: source, "\(entry): unknown time_unit \"\(timeUnit)\" (expected \(known))")
    }

    /// The error for a file that holds both times and instruction counts.
    static func mixedUnitsError(source: String) -> InputError {
        InputError(source: source, "mixes instruction counts and times; compare one kind of measurement at a time")
    }
}

/// The repetitions of one case in one file.
public struct CaseSamples: Sendable, Equatable {
    public var name: String
    /// One value per repetition (seconds, or instructions).
    public var samples: [Double]
    /// True when the file had no per-repetition entries for this case and
    /// `samples` is its median aggregate alone.
    public var fromAggregate: Bool
    /// Kernel name, when the file says (kernelbench files).
    public var kernel: String?

    public init(name: String, samples: [Double], fromAggregate: Bool = false, kernel: String? = nil) {
        self.name = name
        self.samples = samples
        self.fromAggregate = fromAggregate
        self.kernel = kernel
    }

    public var median: Double { Summary(samples).median }
}

/// One side of a comparison: a kernelbench or Google Benchmark result file,
/// reduced to what the comparison needs.
public struct ResultFile: Sendable {
    public enum Kind: String, Sendable { case kernelbench, googleBenchmark = "Google Benchmark" }

    public var source: String
    public var kind: Kind
    public var unit: ResultUnit
    /// Machine context as flat strings (nested values flattened, lists joined).
    public var context: [String: String]
    /// Cases in file order.
    public var cases: [CaseSamples]
    /// Cases with a failed repetition (`error_occurred`, or an unverified
    /// kernelbench result): name → message. They are listed, not compared.
    public var errors: [String: String]

    public init(source: String, kind: Kind, unit: ResultUnit, context: [String: String],
                cases: [CaseSamples], errors: [String: String] = [:]) {
        self.source = source
        self.kind = kind
        self.unit = unit
        self.context = context
        self.cases = cases
        self.errors = errors
    }

    /// Reads a result file.
    /// - Throws: ``InputError`` naming the file: unreadable, malformed JSON,
    ///   not a result file, an entry without a name or time, an unknown unit.
    public static func load(path: String) throws -> ResultFile {
        let data = try readInputFile(path, expected: "a result file (kernelbench or Google Benchmark JSON)")
        return try parse(data, source: path)
    }

    /// Parses the bytes of a result file; `source` names it in errors.
    public static func parse(_ data: Data, source: String) throws -> ResultFile {
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) {
            throw InputError(source: source, "empty file (expected kernelbench or Google Benchmark JSON)")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw InputError(source: source, "malformed JSON: \(jsonErrorDetail(error))")
        }
        guard let top = object as? [String: Any] else {
            throw InputError(source: source, "not a benchmark result file: the top level is not a JSON object")
        }
        guard let list = top["benchmarks"] else {
            throw InputError(source: source, "not a benchmark result file: no \"benchmarks\" array")
        }
        guard let rawEntries = list as? [Any] else {
            throw InputError(source: source, "not a benchmark result file: \"benchmarks\" is not an array")
        }
        // kernelbench's own schema when it decodes; Google Benchmark (or any
        // compatible writer) read generically otherwise.
        if let report = try? JSONDecoder().decode(BenchmarkReport.self, from: data) {
            let entries = report.benchmarks.map { e in
                RawEntry(name: e.name, runName: e.run_name, runType: e.run_type, aggregateName: e.aggregate_name,
                         realTime: e.real_time, timeUnit: e.time_unit,
                         error: e.verified ? nil : "result not verified against the reference", kernel: e.kernel)
            }
            var context: [String: String] = [:]
            if let encoded = try? JSONEncoder().encode(report.context),
               let dict = try? JSONSerialization.jsonObject(with: encoded) as? [String: Any] {
                flatten(dict, prefix: "", into: &context)
            }
            return try assemble(source: source, kind: .kernelbench, context: context, entries: entries)
        }
        var entries: [RawEntry] = []
        for (index, raw) in rawEntries.enumerated() {
            let at = "benchmarks[\(index)]"
            guard let e = raw as? [String: Any] else {
                throw InputError(source: source, "\(at) is not a JSON object")
            }
            guard let name = e["name"] as? String else {
                throw InputError(source: source, "\(at): missing \"name\"")
            }
            let errorOccurred = (e["error_occurred"] as? Bool) ?? false
            let message = (e["error_message"] as? String).map { $0.isEmpty ? "error" : $0 } ?? "error"
            let time = number(e["real_time"])
            if !errorOccurred && time == nil {
                throw InputError(source: source, "\(at) (\(name)): missing or non-numeric \"real_time\"")
            }
            entries.append(RawEntry(
                name: name, runName: (e["run_name"] as? String) ?? name, runType: (e["run_type"] as? String) ?? "iteration",
                aggregateName: e["aggregate_name"] as? String, realTime: time ?? .nan,
                timeUnit: (e["time_unit"] as? String) ?? "ns", error: errorOccurred ? message : nil,
                kernel: e["kernel"] as? String))
        }
        var context: [String: String] = [:]
        if let c = top["context"] as? [String: Any] { flatten(c, prefix: "", into: &context) }
        return try assemble(source: source, kind: .googleBenchmark, context: context, entries: entries)
    }

    struct RawEntry {
        var name, runName, runType: String
        var aggregateName: String?
        var realTime: Double
        var timeUnit: String
        var error: String?
        var kernel: String?
    }

    static func assemble(source: String, kind: Kind, context: [String: String], entries: [RawEntry]) throws -> ResultFile {
        var order: [String] = []
        var iterations: [String: [Double]] = [:]
        var medians: [String: Double] = [:]
        var kernels: [String: String] = [:]
        var errors: [String: String] = [:]
        var units = Set<ResultUnit>()
        var seen = Set<String>()
        func note(_ name: String) { if seen.insert(name).inserted { order.append(name) } }
        for e in entries {
            if let error = e.error {
                note(e.runName)
                errors[e.runName] = errors[e.runName] ?? error
                continue
            }
            guard let (unit, scale) = try ResultUnit.read(timeUnit: e.timeUnit, runType: e.runType,
                                                          aggregateName: e.aggregateName, source: source, entry: e.name)
            else { continue }
            units.insert(unit)
            let value = e.realTime * scale
            guard value.isFinite, value >= 0 else {
                throw InputError(source: source, "\(e.name): real_time is \(e.realTime), not a non-negative number")
            }
            if e.runType == "aggregate" {
                guard e.aggregateName == "median" else { continue }
                note(e.runName)
                medians[e.runName] = value
            } else {
                note(e.runName)
                iterations[e.runName, default: []].append(value)
            }
            if let k = e.kernel, !k.isEmpty { kernels[e.runName] = k }
        }
        if units.count > 1 { throw ResultUnit.mixedUnitsError(source: source) }
        var cases: [CaseSamples] = []
        for name in order where errors[name] == nil {
            let found: CaseSamples
            if let samples = iterations[name] {
                found = CaseSamples(name: name, samples: samples, kernel: kernels[name])
            } else if let median = medians[name] {
                found = CaseSamples(name: name, samples: [median], fromAggregate: true, kernel: kernels[name])
            } else {
                continue
            }
            // A zero time or count is a failed measurement, not an infinitely fast
            // one: the case is an error, on either side of a comparison alike.
            if let zero = found.samples.first(where: { !($0 > 0) }) {
                errors[name] = "real_time is \(zero), not a positive measurement"
                continue
            }
            cases.append(found)
        }
        return ResultFile(source: source, kind: kind, unit: units.first ?? .seconds, context: context,
                          cases: cases, errors: errors)
    }

    static func number(_ value: Any?) -> Double? {
        if let d = value as? Double { return d }
        if let i = value as? Int { return Double(i) }
        if let n = value as? NSNumber, !(value is Bool) { return n.doubleValue }
        return nil
    }

    /// A JSON number that is a whole number within `Int`'s range.
    static func integer(_ value: Any?) -> Int? {
        number(value).flatMap { Int(exactly: $0) }
    }

    /// Flattens a JSON context: nested objects as `a.b`, lists of scalars
    /// joined with spaces, Google Benchmark's `caches` list summarised.
    static func flatten(_ dict: [String: Any], prefix: String, into out: inout [String: String]) {
        for (key, value) in dict {
            let full = prefix.isEmpty ? key : "\(prefix).\(key)"
            if key == "caches", let caches = value as? [[String: Any]] {
                out[full] = caches.map { c in
                    // Whatever a file says: only whole numbers in Int's range are shown as such.
                    let level = integer(c["level"]).map { "L\($0)" } ?? "L?"
                    let type = (c["type"] as? String) ?? ""
                    let size = integer(c["size"]).map { "\($0 / 1024) KiB" } ?? "?"
                    let sharing = integer(c["num_sharing"]).map { " (shared by \($0))" } ?? ""
                    return "\(level) \(type) \(size)\(sharing)"
                }.joined(separator: ", ")
            } else if let nested = value as? [String: Any] {
                flatten(nested, prefix: full, into: &out)
            } else if let list = value as? [Any] {
                out[full] = list.map { scalarText($0) }.joined(separator: " ")
            } else if !(value is NSNull) {
                out[full] = scalarText(value)
            }
        }
    }

    static func scalarText(_ value: Any) -> String {
        if let s = value as? String { return s }
        if let b = value as? Bool { return b ? "true" : "false" }
        if let n = number(value) {
            return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        }
        return "\(value)"
    }

    static func jsonErrorDetail(_ error: Error) -> String {
        let ns = error as NSError
        if let detail = ns.userInfo[NSDebugDescriptionErrorKey] as? String, !detail.isEmpty { return detail }
        return ns.localizedDescription
    }
}

// MARK: - Comparing

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

// MARK: - Markdown

extension Comparison {
    /// The full report: summary, table, errors and unmatched cases, machine context.
    public func markdown() -> String {
        [summaryMarkdown(), tableMarkdown(), unmatchedMarkdown(), contextMarkdown()]
            .filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// Verdict counts, the geometric mean, the worst regressions and the warnings.
    public func summaryMarkdown(worst: Int = 5) -> String {
        var lines: [String] = []
        lines.append("# Performance comparison")
        lines.append("")
        lines.append("- Base: `\(base.source)` (\(base.kind.rawValue), \(base.cases.count) cases\(revision(base)))")
        lines.append("- New: `\(new.source)` (\(new.kind.rawValue), \(new.cases.count) cases\(revision(new)))")
        if options.deterministic {
            lines.append("- Method: deterministic \(new.unit == .instructions ? "instruction counts" : "medians"), "
                + "threshold \(percent(options.threshold))")
        } else {
            lines.append("- Method: medians, two-sided Mann–Whitney U test; a regression needs p < \(options.alpha) "
                + "and a change above \(percent(options.minEffect))")
        }
        lines.append("")
        lines.append("## Summary")
        lines.append("")
        if let failure {
            let what = newFailures.isEmpty && !onlyInBase.isEmpty && options.failOnMissing ? "Missing" : "Failed"
            lines.append("**FAILED: \(failure).** \(what) cases cannot pass the gate, whatever the timings of the others.")
            lines.append("")
        }
        let regressions = count(.regression)
        let headline = regressions == 0 ? "**No regression**" : "**\(regressions) regression\(regressions == 1 ? "" : "s")**"
        var counts = "\(headline) in \(cases.count) compared case\(cases.count == 1 ? "" : "s"): "
            + "\(count(.improvement)) improved, \(count(.unchanged)) unchanged, \(count(.noisy)) noisy"
        if !errors.isEmpty { counts += "; \(errors.count) with errors (not compared)" }
        if !onlyInBase.isEmpty || !onlyInNew.isEmpty {
            counts += "; \(onlyInBase.count) only in base, \(onlyInNew.count) only in new"
        }
        lines.append(counts + ".")
        if let g = geometricMean {
            lines.append("")
            lines.append("Geometric mean of NEW/BASE medians: \(String(format: "%.4f", g)) (\(signedPercent(g - 1))).")
        }
        let critical = criticalDifferences
        if !critical.isEmpty {
            lines.append("")
            lines.append("> **WARNING: the two runs differ in \(critical.map(\.key).joined(separator: ", ")).** "
                + "Numbers from different CPUs, build configurations or compilers are not comparable; "
                + "see the machine context below.")
        }
        for w in warnings {
            lines.append("")
            lines.append("> Note: \(w)")
        }
        let worstCases = cases.filter { $0.verdict == .regression }.sorted { $0.ratio > $1.ratio }.prefix(worst)
        if !worstCases.isEmpty {
            lines.append("")
            lines.append("Worst regressions:")
            lines.append("")
            lines.append("| case | base | new | change | p-value |")
            lines.append("|---|---:|---:|---:|---:|")
            for c in worstCases {
                lines.append("| `\(c.name)` | \(format(c.baseMedian)) | \(format(c.newMedian)) | "
                    + "\(signedPercent(c.change)) | \(c.pValue.map(formatP) ?? "–") |")
            }
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// Every compared case.
    public func tableMarkdown() -> String {
        var lines = ["## Cases", ""]
        if cases.isEmpty {
            lines.append("No case could be compared.")
        } else {
            lines.append("| case | base median | new median | change | ratio | p-value | reps (base/new) | verdict |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|---|")
            for c in cases {
                let reps = "\(c.baseSamples.count)/\(c.newSamples.count)"
                var verdict = c.verdict == .regression ? "**regression**" : c.verdict.rawValue
                if let note = c.note { verdict += " (\(note))" }
                lines.append("| `\(c.name)` | \(format(c.baseMedian)) | \(format(c.newMedian)) | \(signedPercent(c.change)) | "
                    + "\(String(format: "%.4f", c.ratio)) | \(c.pValue.map(formatP) ?? "–") | \(reps) | \(verdict) |")
            }
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    func unmatchedMarkdown() -> String {
        guard !errors.isEmpty || !onlyInBase.isEmpty || !onlyInNew.isEmpty else { return "" }
        var lines = ["## Not compared", ""]
        for e in errors { lines.append("- `\(e.name)`: error (\(e.message))") }
        for name in onlyInBase { lines.append("- `\(name)`: only in base") }
        for name in onlyInNew { lines.append("- `\(name)`: only in new") }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// The context keys present on both sides that differ.
    public func contextMarkdown() -> String {
        var lines = ["## Machine context", ""]
        if contextDifferences.isEmpty {
            lines.append("The \(contextAgreeing) context keys present in both files agree"
                + " (date and load average are not compared).")
        } else {
            if !criticalDifferences.isEmpty {
                lines.append("**WARNING: CPU, build configuration or compiler differ between the runs; "
                    + "a difference in timings may come from the machine or the build, not the code.**")
                lines.append("")
            }
            lines.append("| key | base | new |")
            lines.append("|---|---|---|")
            for d in contextDifferences {
                let key = d.critical ? "**\(d.key)**" : d.key
                lines.append("| \(key) | \(cell(d.base)) | \(cell(d.new)) |")
            }
            lines.append("")
            lines.append("\(contextAgreeing) other shared keys agree; keys present on one side only are not compared.")
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    func revision(_ file: ResultFile) -> String {
        file.context["git_revision"].map { ", revision \($0)" } ?? ""
    }

    func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    func format(_ value: Double) -> String {
        if base.unit == .instructions {
            return Comparison.groupedInteger(value)
        }
        let a = abs(value)
        if a >= 1 { return String(format: "%.3f s", value) }
        if a >= 1e-3 { return String(format: "%.3f ms", value * 1e3) }
        if a >= 1e-6 { return String(format: "%.3f us", value * 1e6) }
        return String(format: "%.1f ns", value * 1e9)
    }

    static func groupedInteger(_ value: Double) -> String {
        let digits = String(Int64(value.rounded()))
        var out = ""
        for (i, ch) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && ch != "-" { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }

    func percent(_ fraction: Double) -> String {
        let p = fraction * 100
        return p == p.rounded() && abs(p) < 1e15 ? "\(Int(p))%" : String(format: "%g%%", p)
    }

    func signedPercent(_ fraction: Double) -> String {
        abs(fraction) < 0.00005 ? "+0.00%" : String(format: "%+.2f%%", fraction * 100)
    }

    func formatP(_ p: Double) -> String { p < 1e-4 ? String(format: "%.1e", p) : String(format: "%.4f", p) }
}

// MARK: - Deterministic result entries

extension BenchmarkEntry {
    /// The entry of a deterministic count (e.g. instructions per kernel call
    /// from the instruction gate): one aggregate "median" entry, `real_time`
    /// = `cpu_time` = the count, `time_unit` = `unit`, no timing figures.
    public static func deterministicCount(
        name: String, count: Double, unit: String = "instructions", calls: Int, kernel: String, format: SparseFormat,
        block: BlockShape?, m: Int, k: Int, n: Int, sparsity: Double, achievedSparsity: Double,
        distribution: String, matrix: String, maxAbsError: Double = 0, maxRelError: Double = 0
    ) -> BenchmarkEntry {
        BenchmarkEntry(
            name: name + "_median", run_name: name, run_type: "aggregate", aggregate_name: "median",
            repetitions: 1, repetition_index: nil, threads: 1, iterations: calls,
            real_time: count, cpu_time: count, time_unit: unit,
            format: format.rawValue, kernel: kernel, block_rows: block?.rows ?? 1, block_cols: block?.cols ?? 1,
            m: m, k: k, n: n, sparsity: sparsity, achieved_sparsity: achievedSparsity, distribution: distribution,
            matrix: matrix, partition: "none", useful_gflops: 0, effective_gflops: 0, gbytes_per_second: 0,
            percent_of_peak: nil, speedup_vs_dense: nil, speedup_vs_csr: nil,
            verified: true, max_abs_error: maxAbsError, max_rel_error: maxRelError)
    }
}
