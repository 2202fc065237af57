import Dispatch
import Foundation
import Synchronization
import Testing
import CKernels
@testable import BlockSparse

@Suite struct WorkerTeamTests {
    /// Task completions seen by the tests, from every thread of a team.
    final class Tally: Sendable {
        let count = Atomic<Int>(0)
        let threads = Mutex<Set<UInt>>([])
        func add(_ n: Int = 1) { count.wrappingAdd(n, ordering: .sequentiallyConsistent) }
        var value: Int { count.load(ordering: .sequentiallyConsistent) }
        func noteThread() { _ = threads.withLock { $0.insert(UInt(bitPattern: Int(bitPattern: UInt(pthread_self())))) } }
    }

    /// Runs `body` on another thread and fails (instead of hanging the test
    /// run) when it has not finished after `seconds`: a lost wake-up or a
    /// deadlock in the team shows as this failure.
    func withWatchdog(seconds: Double = 300, _ what: Comment, _ body: @escaping @Sendable () -> Void) {
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            body()
            finished.signal()
        }
        let outcome = finished.wait(timeout: .now() + seconds)
        #expect(outcome == .success, "watchdog: \(what) did not finish within \(Int(seconds)) s")
    }

    @Test func backToBackTinyProductsLoseNoWakeUp() {
        // 10^5 products of 1 to 4 tasks on one team, with the default spin window,
        // then 2 x 10^4 with no window (every product wakes sleeping workers) and
        // with a 5 us window crossed by pauses of 0-20 us (workers between polling
        // and sleeping when a product arrives).
        for (count, window, pause) in [(100_000, WorkerTeam.defaultSpinWindow, false), (20_000, 0.0, false),
                                       (20_000, 5e-6, true)] {
            withWatchdog("\(count) products with a \(window * 1e6) us spin window") {
                let tally = Tally(), onWorkers = Tally()
                nonisolated(unsafe) var expected = 0, firstMismatch: Int?, workerStarted = false
                WorkerTeam.withTeam(threads: 2, spinWindow: window) { team in
                    let caller = pthread_self()  // the session's thread (not always the test's)
                    // The worker's iteration starts when Dispatch has a thread for it: with other
                    // tests running beside this one, that can take a while (products never wait for it).
                    let deadline = Date().addingTimeInterval(60)
                    while team.workersRunning == 0 && Date() < deadline { usleep(1000) }
                    workerStarted = team.workersRunning == 1
                    for i in 0..<count {
                        let tasks = 1 + i % 4
                        team.run(tasks: tasks) { _ in
                            for _ in 0..<20 { kb_spin_pause() }  // long enough for a worker to take some
                            tally.add()
                            if pthread_equal(pthread_self(), caller) == 0 { onWorkers.add() }
                        }
                        expected += tasks
                        // Every task of a product is done when run returns.
                        if tally.value != expected && firstMismatch == nil { firstMismatch = i }
                        if pause && i % 3 == 0 { usleep(UInt32(i % 21)) }
                    }
                }
                #expect(firstMismatch == nil, "product \(firstMismatch ?? -1) returned before its tasks were done")
                #expect(tally.value == expected)
                #expect(workerStarted, "Dispatch gave the team no worker in 60 s")
                // A polling worker takes some; a sleeping one may wake after the caller took all.
                if window == WorkerTeam.defaultSpinWindow { #expect(onWorkers.value > 0, "no task ran on the team's worker") }
            }
        }
    }

    /// Task indices seen, from every thread. (In a class, as `Tally`: TSan
    /// reported a Swift access race on a local Mutex captured by the tasks.)
    final class Seen: Sendable {
        let indices = Mutex<[Int]>([])
    }

    @Test func productsWithOneTaskOrFewerTasksThanThreads() {
        withWatchdog("small products") {
            for threads in [2, 4] {  // 4: more threads than this machine may have; late workers must not matter
                var team: WorkerTeam?
                WorkerTeam.withTeam(threads: threads) { t in
                    team = t
                    for tasks in [0, 1, 2, threads - 1, threads, 3 * threads] {
                        let seen = Seen()
                        t.run(tasks: tasks) { i in seen.indices.withLock { $0.append(i) } }
                        #expect(seen.indices.withLock { $0.sorted() } == Array(0..<tasks), "threads \(threads), tasks \(tasks)")
                    }
                }
                #expect(team?.workersRunning == 0, "every worker returned when the session ended")
            }
        }
    }

    @Test func aOneThreadTeamStartsNoWorker() {
        let caller = pthread_self()
        let tally = Tally()
        WorkerTeam.withTeam(threads: 1) { team in
            #expect(team.threads == 1)
            team.run(tasks: 5) { _ in
                tally.add()
                tally.noteThread()
            }
            #expect(team.workersRunning == 0)
        }
        #expect(tally.value == 5)
        #expect(tally.threads.withLock { $0 } == [UInt(bitPattern: Int(bitPattern: UInt(caller)))])
    }

    struct Interrupted: Error {}

    @Test func anErrorInsideASessionEndsTheTeam() {
        withWatchdog("a session that throws") {
            var team: WorkerTeam?
            let tally = Tally()
            #expect(throws: Interrupted.self) {
                try WorkerTeam.withTeam(threads: 2) { t in
                    team = t
                    t.run(tasks: 8) { _ in tally.add() }
                    throw Interrupted()
                }
            }
            #expect(tally.value == 8)
            #expect(team?.workersRunning == 0)
            // The driver's session too: the next product runs on a new team of its own.
            let a = try! BSRMatrix.random(GeneratorSpec(rows: 256, cols: 128, block: try! BlockShape(square: 4),
                                                        sparsity: 0.5, distribution: .uniform, seed: 3))
            let b = try! DenseMatrix.random(rows: 128, cols: 16, seed: 4)
            let kernel = try! Kernel.select(.bsr, block: a.block, n: 16)
            let driver = try! ParallelSpMM(.bsr(a), b, kernel: kernel, options: DriverOptions(threads: 2))
            #expect(throws: Interrupted.self) { try driver.withSession { driver.run(); throw Interrupted() } }
            driver.run()
            let reference = try! Reference(a, b)
            #expect(driver.result().values.withUnsafeBufferPointer { reference.verify($0, ld: 16) }.passed)
        }
    }

    @Test func teamAndDispatchGiveBitIdenticalResults() throws {
        // Row splits, an N split (one heavy block row), and accumulation.
        let uniform = try BSRMatrix.random(GeneratorSpec(rows: 300, cols: 784, block: try BlockShape(square: 8),
                                                         sparsity: 0.9, distribution: .uniform, seed: 11))
        let heavy = try BSRMatrix.random(GeneratorSpec(rows: 64, cols: 512, block: try BlockShape(square: 4),
                                                       sparsity: 0.6, distribution: .powerlaw, seed: 12))
        for (a, n) in [(uniform, 64), (uniform, 1), (uniform, 13), (heavy, 64)] {
            let b = try DenseMatrix.random(rows: a.cols, cols: n, seed: 5)
            let kernel = try Kernel.select(.bsr, block: a.block, n: n)
            func product(_ runtime: ThreadingRuntime, inSession: Bool) throws -> [Float] {
                let driver = try ParallelSpMM(.bsr(a), b, kernel: kernel,
                                              options: DriverOptions(threads: 2, runtime: runtime))
                if inSession {
                    driver.withSession { driver.run(); driver.run(accumulate: true) }
                } else {
                    driver.run()
                    driver.run(accumulate: true)
                }
                return driver.result().values
            }
            let dispatch = try product(.dispatch, inSession: false)
            for inSession in [false, true] {
                let team = try product(.team, inSession: inSession)
                #expect(team.map(\.bitPattern) == dispatch.map(\.bitPattern), "\(a.rows)x\(a.cols) n \(n)")
            }
        }
    }
}
