import Foundation
import Testing
@testable import Benchmarking
@testable import BlockSparse

/// The machine probes and the timing loop's sessions.
@Suite struct MachineTimingTests {
    /// The FMA probe runs at every ISA this CPU runs and refuses the others.
    @Test func fmaProbeAtEachISA() {
        for isa in ISA.allCases {
            let gflops = MachinePeak.probeGFLOPS(threads: 1, iterations: 20_000, isa: isa)
            #expect(isa.isSupported ? gflops > 0 : gflops == 0, "\(isa): \(gflops)")
        }
    }

    @Test func forkJoinCostIsMeasuredForEveryRuntime() throws {
        for runtime in ThreadingRuntime.allCases {
            let cost = ForkJoinCost.measure(runtime, threads: 2)
            #expect(cost.empty > 0 && cost.empty.isFinite && cost.beyondIdeal >= 0 && cost.beyondIdeal.isFinite)
        }
        // A peak from a file written before the team: both thresholds use its dispatch figure.
        let old = try JSONDecoder().decode(MachinePeak.self, from: Data("""
            {"gflopsOneCore": 100, "gflopsAllCores": 190, "threads": 2, "triadGBps": 30, "dispatchOverhead": 4e-5}
            """.utf8))
        #expect(old.forkJoin == nil && old.forkJoinOverhead(.team) == 4e-5 && old.forkJoinOverhead(.dispatch) == 4e-5)
        #expect(old.forkJoinDescription == "dispatch: 40.0 us beyond 2 x 20 us of work")
        let new = MachinePeak(gflopsOneCore: 100, gflopsAllCores: 190, threads: 2, triadGBps: 30, dispatchOverhead: 4e-5,
                              forkJoin: ["team": ForkJoinCost(empty: 1e-6, beyondIdeal: 5e-7),
                                         "dispatch": ForkJoinCost(empty: 5e-5, beyondIdeal: 4e-5)])
        #expect(new.forkJoinOverhead(.team) == 5e-7 && new.forkJoinOverhead(.dispatch) == 4e-5)
        #expect(new.forkJoinDescription == "team: 1.0 us per empty product, 0.5 us beyond 2 x 20 us of work; "
                + "dispatch: 50.0 us per empty product, 40.0 us beyond 2 x 20 us of work")
        let decoded = try JSONDecoder().decode(MachinePeak.self, from: JSONEncoder().encode(new))
        #expect(decoded == new)
    }

    @Test func sessionsWrapOnlyTheirOwnBodysCalls() {
        // Two bodies with sessions and a quiet check: every call runs inside its
        // own body's session, and nothing else (the other body, the check) does.
        let policy = TimingPolicy(minRepetitions: 3, minTime: 0, maxRepetitions: 3, warmup: 0, minRepetitionTime: 0)
        nonisolated(unsafe) var open: Int? = nil
        nonisolated(unsafe) var violations: [String] = []
        nonisolated(unsafe) var sessionsOpened = [0, 0]
        func session(_ i: Int) -> Session {
            { calls in
                if open != nil { violations.append("session \(i) opened inside \(open!)") }
                open = i
                sessionsOpened[i] += 1
                calls()
                open = nil
            }
        }
        let gate = QuietGate(maxWait: 0, isQuiet: {
            if open != nil { violations.append("quiet check inside session \(open!)") }
            return true
        }, waitStep: { true })
        let ms = measureInterleaved(policy, [{ if open != 0 { violations.append("body 0 outside its session") } },
                                             { if open != 1 { violations.append("body 1 outside its session") } }],
                                    sessions: [session(0), session(1)], quiet: gate)
        #expect(violations.isEmpty, "\(violations)")
        #expect(ms.allSatisfy { $0.perCall.count == 3 })
        #expect(sessionsOpened == [4, 4])  // calibration, then one per round
        // A single body with a session warms up inside each round's session before it is timed.
        nonisolated(unsafe) var callsPerSession: [Int] = []
        _ = measureInterleaved(policy, [{ callsPerSession[callsPerSession.count - 1] += 1 }],
                               sessions: [{ callsPerSession.append(0); $0() }])
        // (the first session calibrates: one warm-up call)
        #expect(callsPerSession == [1, 2, 2, 2], "a warm-up call, then the timed one, in each round's session")
        // measure() runs everything inside its session, once.
        var entered = 0
        _ = measure(policy, session: { entered += 1; $0() }) {}
        #expect(entered == 1)
    }
}
