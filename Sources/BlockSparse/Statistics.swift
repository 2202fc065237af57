#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time in nanoseconds (`CLOCK_MONOTONIC`).
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Order statistics of a sample of timings (seconds).
public struct Summary: Sendable, Codable, Equatable {
    public let count: Int
    public let median: Double
    public let min: Double
    public let max: Double
    public let mean: Double
    /// Median absolute deviation from the median (unscaled).
    public let mad: Double
    public let stddev: Double

    public init(_ samples: [Double]) {
        precondition(!samples.isEmpty, "summary of no samples")
        let sorted = samples.sorted()
        count = sorted.count
        let centre = Summary.median(sorted)
        median = centre
        min = sorted.first!
        max = sorted.last!
        mean = sorted.reduce(0, +) / Double(count)
        mad = Summary.median(sorted.map { abs($0 - centre) }.sorted())
        let m = mean
        stddev = count > 1 ? (sorted.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(count - 1)).squareRoot() : 0
    }

    static func median(_ sorted: [Double]) -> Double {
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

/// How long and how often a case is timed.
public struct TimingPolicy: Sendable, Codable, Equatable {
    /// Minimum number of timed repetitions.
    public var minRepetitions: Int
    /// Minimum total timed seconds; repetitions continue until both are met.
    public var minTime: Double
    /// Maximum repetitions (a bound for very fast cases).
    public var maxRepetitions: Int
    /// Seconds of untimed warm-up calls before the first repetition.
    public var warmup: Double
    /// A repetition batches calls until it lasts at least this long (seconds),
    /// so microsecond-scale calls are not dominated by timer overhead.
    public var minRepetitionTime: Double

    public init(minRepetitions: Int = 5, minTime: Double = 0.1, maxRepetitions: Int = 50,
                warmup: Double = 0.02, minRepetitionTime: Double = 0.0005) {
        self.minRepetitions = minRepetitions
        self.minTime = minTime
        self.maxRepetitions = maxRepetitions
        self.warmup = warmup
        self.minRepetitionTime = minRepetitionTime
    }
}

/// The timed repetitions of one case: seconds per call for each repetition.
public struct Measurement: Sendable {
    public let perCall: [Double]
    public let callsPerRepetition: Int
    public var summary: Summary { Summary(perCall) }
}

/// Times `body`: warm-up (at least one call), then back-to-back repetitions
/// until both the minimum count and the minimum total time are met. Each
/// repetition runs `calls` invocations, chosen during warm-up so one
/// repetition lasts at least `minRepetitionTime`.
public func measure(_ policy: TimingPolicy, _ body: () -> Void) -> Measurement {
    // Warm-up, also estimating the cost of one call.
    var warmCalls = 0
    let warmStart = monotonicNanoseconds()
    var elapsed = 0.0
    repeat {
        body()
        warmCalls += 1
        elapsed = Double(monotonicNanoseconds() - warmStart) * 1e-9
    } while elapsed < policy.warmup
    let perCall = max(elapsed / Double(warmCalls), 1e-9)
    let calls = max(1, Int((policy.minRepetitionTime / perCall).rounded(.up)))
    var samples: [Double] = []
    var total = 0.0
    while samples.count < policy.minRepetitions || (total < policy.minTime && samples.count < policy.maxRepetitions) {
        let t0 = monotonicNanoseconds()
        for _ in 0..<calls { body() }
        let seconds = Double(monotonicNanoseconds() - t0) * 1e-9
        samples.append(seconds / Double(calls))
        total += seconds
    }
    return Measurement(perCall: samples, callsPerRepetition: calls)
}
