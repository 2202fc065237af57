import BlockSparse
#if canImport(Glibc)
import Glibc
#endif

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
    /// so microsecond-scale calls are not dominated by timer overhead; and at
    /// least `minTime / minRepetitions`, so the minimum count meets the
    /// minimum time.
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
    /// Repetitions timed and then dropped because the quiet check failed
    /// around them, each timed again in a later round (see
    /// ``measureInterleaved(_:_:sessions:threads:quiet:)``); nil without a check.
    public var retimedRounds: Int? = nil
    /// Repetitions kept although the check failed around them: the body's
    /// limit of dropped repetitions or the run's ``RetimeBudget`` was spent;
    /// nil without a check.
    public var disturbedRounds: Int? = nil
    public var summary: Summary { Summary(perCall) }
}

/// Runs the calls of one body in one round (its warm-up and its timed
/// repetition) inside what they need around them: a threaded product's
/// worker team (``ParallelSpMM/withSession(_:)``), kept for those calls and
/// ended before anything else is timed.
public typealias Session = (_ calls: () -> Void) -> Void

/// Times `body`: warm-up (at least one call), then back-to-back repetitions
/// until both the minimum count and the minimum total time are met. Each
/// repetition runs `calls` invocations, chosen during warm-up so one
/// repetition lasts at least `minRepetitionTime` and `minTime / minRepetitions`.
/// With a `session`, all of them run inside it.
public func measure(_ policy: TimingPolicy, session: Session? = nil, _ body: () -> Void) -> Measurement {
    guard let session else { return withoutActuallyEscaping(body) { measureInterleaved(policy, [$0])[0] } }
    var result: Measurement?
    session { result = withoutActuallyEscaping(body) { measureInterleaved(policy, [$0])[0] } }
    return result!
}

/// Times several bodies in interleaved rounds, so that whatever else the
/// machine does while they are timed (a neighbour's burst on a shared VM)
/// falls on all of them alike: the medians of the bodies come from the same
/// stretch of time, and so do their ratios. Each body is warmed up and
/// batched as in ``measure(_:_:)``; then every round times one repetition of
/// each body, in forward order on even rounds and backward on odd ones. With
/// more than one body (or a quiet check, or a session), each timed repetition follows
/// untimed calls of the same body for the warm-up time (at least one), so it
/// starts from the caches of back-to-back calls rather than from what the other bodies left there (a
/// dense product streams 64 MiB between two BSR calls: 8x8 BSR at M = K = 4096
/// ran 26% slower right after such a stream, 1-2% after one call, under 1%
/// after two or more).
/// Rounds continue until every body has the minimum count and either the
/// minimum total time or the maximum count.
///
/// `sessions[i]`, when given, wraps body i's calls of each round (and of its
/// calibration): a worker team then spins only while its own body is timed,
/// never during another body or a quiet check.
///
/// `quiet`, when given, is asked before a round and after each body's timed
/// repetition whether the machine is undisturbed (``QuietCheck``), so each
/// repetition lies between two checks. `threads[i]` (1 when not given) says
/// which verdict body i needs: the timing thread's core, or every core of the
/// set (``QuietVerdict/allows(threads:)``). A repetition whose checks do not
/// allow it is dropped, and the round (every body, in the same order) is
/// timed again after waiting (up to `quiet.maxWait` seconds per call of this
/// function) for the check to pass: on a shared VM another workload can take
/// part of a core for seconds, and every kernel then reads 20-45% slower.
/// The other bodies keep their repetitions of that round: a one-thread body
/// timed on a quiet core is not dropped because the second core was taken.
/// At most `minRepetitions` (at least 3) repetitions of a body are dropped,
/// and only while the gate's run-wide budget lasts (waits and retimed rounds
/// are charged to it); later ones are kept whatever the check says. Each
/// measurement reports how many of its body's repetitions were dropped and
/// how many were kept disturbed.
public func measureInterleaved(_ policy: TimingPolicy, _ bodies: [() -> Void], sessions: [Session?] = [],
                               threads: [Int] = [], quiet: QuietGate? = nil) -> [Measurement] {
    guard !bodies.isEmpty else { return [] }
    func hasSession(_ i: Int) -> Bool { i < sessions.count && sessions[i] != nil }
    /// Body i's calls of one round, inside its session if it has one.
    func inSession(_ i: Int, _ calls: () -> Void) {
        if i < sessions.count, let session = sessions[i] { session(calls) } else { calls() }
    }
    func threadsOf(_ i: Int) -> Int { i < threads.count ? threads[i] : 1 }
    /// Untimed calls for at least the warm-up time (at least one); seconds per call.
    func warm(_ body: () -> Void) -> Double {
        var warmCalls = 0
        let warmStart = monotonicNanoseconds()
        var elapsed = 0.0
        repeat {
            body()
            warmCalls += 1
            elapsed = Double(monotonicNanoseconds() - warmStart) * 1e-9
        } while elapsed < policy.warmup
        return max(elapsed / Double(warmCalls), 1e-9)
    }
    // A repetition lasts at least minTime / minRepetitions, so the minimum
    // count usually meets the minimum time too: rounds then cost what the
    // slowest body needs, not as many calls of it as the fastest body needs
    // repetitions.
    let repetitionTime = max(policy.minRepetitionTime, policy.minTime / Double(max(1, policy.minRepetitions)))
    let calls = bodies.indices.map { i in
        var perCall = 0.0
        inSession(i) { perCall = warm(bodies[i]) }
        return max(1, Int((repetitionTime / perCall).rounded(.up)))
    }
    var samples = Array(repeating: [Double](), count: bodies.count)
    var totals = Array(repeating: 0.0, count: bodies.count)
    var dropped = Array(repeating: 0, count: bodies.count), disturbed = dropped
    var backward = false  // rounds alternate; a retimed round keeps the dropped one's order
    let maxDropped = max(3, policy.minRepetitions)
    let setThreads = bodies.indices.map(threadsOf).max()!
    var waitLeft = quiet?.maxWait ?? 0
    let budgetLeft = { quiet?.budget?.left ?? .infinity }
    var verdict = quiet?.check() ?? .quiet  // the check after a round is the next one's check before
    func needsMore(_ i: Int) -> Bool {
        samples[i].count < policy.minRepetitions
            || (totals[i] < policy.minTime && samples[i].count < policy.maxRepetitions)
    }
    while bodies.indices.contains(where: needsMore) {
        // After a failed check, wait for the disturbance to pass (within this call's and the run's budgets).
        while let quiet, !verdict.allows(threads: setThreads), waitLeft > 0, budgetLeft() > 0 {
            let t0 = monotonicNanoseconds()
            verdict = quiet.waitStep()
            let waited = Double(monotonicNanoseconds() - t0) * 1e-9
            waitLeft -= waited
            quiet.budget?.charge(waited)
        }
        let roundStart = monotonicNanoseconds()
        var retimeRound = false
        for step in bodies.indices {
            let i = backward ? bodies.count - 1 - step : step
            var seconds = 0.0
            inSession(i) {
                // (with a quiet check, a single body re-warms too: the check reads 128 KiB;
                // and in a new session: its workers start with its first calls)
                if bodies.count > 1 || quiet != nil || hasSession(i) { _ = warm(bodies[i]) }
                let t0 = monotonicNanoseconds()
                for _ in 0..<calls[i] { bodies[i]() }
                seconds = Double(monotonicNanoseconds() - t0) * 1e-9
            }
            if let quiet {
                let before = verdict
                verdict = quiet.check()
                if !(before.allows(threads: threadsOf(i)) && verdict.allows(threads: threadsOf(i))) {
                    if dropped[i] < maxDropped, budgetLeft() > 0 {
                        dropped[i] += 1
                        retimeRound = true
                        continue
                    }
                    disturbed[i] += 1
                }
            }
            samples[i].append(seconds / Double(calls[i]))
            totals[i] += seconds
        }
        if retimeRound {
            quiet?.budget?.charge(Double(monotonicNanoseconds() - roundStart) * 1e-9)
        } else {
            backward.toggle()
        }
    }
    return bodies.indices.map {
        Measurement(perCall: samples[$0], callsPerRepetition: calls[$0], retimedRounds: quiet == nil ? nil : dropped[$0],
                    disturbedRounds: quiet == nil ? nil : disturbed[$0])
    }
}

/// What one quiet check found.
public struct QuietVerdict: Sendable, Equatable {
    /// The timing thread's core was undisturbed: what a one-thread body needs.
    public var timingCore: Bool
    /// Every core the check probed was, the probes running at once: what a
    /// threaded body needs.
    public var everyCore: Bool

    public init(timingCore: Bool, everyCore: Bool) {
        self.timingCore = timingCore
        self.everyCore = everyCore
    }

    public static let quiet = QuietVerdict(timingCore: true, everyCore: true)
    public static let disturbed = QuietVerdict(timingCore: false, everyCore: false)

    /// Whether a body running on `threads` threads was undisturbed.
    public func allows(threads: Int) -> Bool { threads > 1 ? everyCore : timingCore }
}

/// What ``measureInterleaved(_:_:sessions:threads:quiet:)`` asks about the machine.
public struct QuietGate {
    /// What the machine looks like now.
    public var check: () -> QuietVerdict
    /// Pauses briefly and checks again.
    public var waitStep: () -> QuietVerdict
    /// Seconds one call of measureInterleaved may spend waiting.
    public var maxWait: Double
    /// Seconds of waiting and dropped rounds that every call together may
    /// spend (nil: no such bound).
    public var budget: RetimeBudget?
    /// Tells the check how many cores the next comparison set runs on.
    public var setCores: (Int) -> Void = { _ in }

    public init(maxWait: Double, budget: RetimeBudget? = nil, check: @escaping () -> QuietVerdict,
                waitStep: @escaping () -> QuietVerdict) {
        self.check = check
        self.waitStep = waitStep
        self.maxWait = maxWait
        self.budget = budget
    }

    /// A gate whose every check finds all cores alike, quiet or not.
    public init(maxWait: Double, budget: RetimeBudget? = nil, isQuiet: @escaping () -> Bool,
                waitStep: @escaping () -> Bool) {
        self.init(maxWait: maxWait, budget: budget, check: { isQuiet() ? .quiet : .disturbed },
                  waitStep: { waitStep() ? .quiet : .disturbed })
    }
}

/// The time a whole run may spend on a busy machine waiting for the quiet
/// check and timing dropped rounds again. On a host that stays busy every
/// comparison set would otherwise wait its `maxWait` and drop its rounds: the
/// 2-minute default suite took 24 minutes on such a host. Once it is spent,
/// rounds are kept and counted as disturbed, so the run ends near its plan and
/// says how much of it was timed on a busy machine.
public final class RetimeBudget: @unchecked Sendable {  // charged from the timing thread only
    public let seconds: Double
    public private(set) var spent = 0.0
    public var left: Double { max(0, seconds - spent) }

    public init(seconds: Double) { self.seconds = seconds }

    func charge(_ seconds: Double) { spent += seconds }
}
