import Foundation
import BlockSparse

// Reading a result file for `kernelbench compare`: kernelbench JSON or
// Google Benchmark JSON, its cases and their samples.

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
