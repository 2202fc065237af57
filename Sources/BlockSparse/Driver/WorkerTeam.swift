import CKernels
import Dispatch
import Foundation
import Synchronization

/// How a threaded product reaches its threads.
public enum ThreadingRuntime: String, CaseIterable, Sendable, Codable {
    /// A ``WorkerTeam`` kept for a session: its workers wait for the next
    /// product between calls (about a microsecond per fork/join here).
    case team
    /// One `DispatchQueue.concurrentPerform` per product: the second worker
    /// starts tens of microseconds late on every call.
    case dispatch
}

/// Workers obtained from Dispatch for the life of a session, to which
/// products are published one after another.
///
/// ``withTeam(threads:spinWindow:_:)`` runs one `concurrentPerform` of
/// `threads` iterations: one runs the session's body, the others become
/// workers that wait for products. ``run(tasks:_:)`` publishes a product: its
/// tasks are taken one at a time from a shared counter by whichever thread
/// is free, the publishing thread included (so a product completes even when
/// no worker has started yet), and it returns once every task has finished.
/// Between products a worker polls (with the CPU's pause hint) for the spin
/// window, then sleeps on a condition variable, so an idle team costs no
/// CPU. The session's end stops the workers: every iteration returns before
/// ``withTeam(threads:spinWindow:_:)`` does.
public final class WorkerTeam: @unchecked Sendable {
    /// Threads of the team, the publishing thread included.
    public let threads: Int
    /// Nanoseconds a worker polls for the next product before it sleeps (0: it sleeps at once).
    let spinWindowNanoseconds: UInt64

    /// Products published so far; a change tells waiting workers to look.
    private let generation = Atomic<UInt64>(0)
    /// The current product's tasks: the count in the high 32 bits, the next
    /// task to hand out in the low 32. A thread owns a task once its
    /// compare-and-exchange moves `next` past it, so a worker that looks late
    /// (or at a newer product than it woke for) takes only what is really
    /// left of the product in place, and one holding no task never delays it.
    private let tasks = Atomic<UInt64>(0)
    /// Tasks of the current product that have finished.
    private let finished = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// Workers that sleep (or are about to) on `wake`.
    private let sleepers = Atomic<Int>(0)
    /// Workers that have entered the worker loop and not yet left it.
    private let activeWorkers = Atomic<Int>(0)
    /// The current product's body: written by the publisher before the
    /// product's tasks are published, read by a thread after it took one of
    /// them (a product's body is replaced only after all its tasks finished).
    private var body: (Int) -> Void = { _ in }
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>

    /// The default spin window: 200 us. Inside a session products follow
    /// each other within microseconds, so a window of a few microseconds
    /// keeps a worker polling between them; with none, every product wakes
    /// its workers from the condition variable (`kernelbench peak
    /// --spin-window 0` on the 2-core VM: 7.4-10.0 us beyond 2 x 20 us of
    /// work against 0.9-1.05 us with 200 us, three runs each). 200 us also
    /// covers a caller's short work between products, and costs nothing after
    /// a session: its end stops the workers at once.
    public static let defaultSpinWindow = 200e-6

    private init(threads: Int, spinWindow: Double) {
        self.threads = max(1, threads)
        spinWindowNanoseconds = UInt64(max(0, spinWindow) * 1e9)
        lock = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil)
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(lock)
        lock.deallocate()
        wake.deallocate()
    }

    /// Runs `body` with a team of `threads` threads (the one running `body`
    /// included) and ends the team when `body` returns or throws: every
    /// worker has returned from its `concurrentPerform` iteration by then.
    /// One thread starts no worker. `body` may run on a Dispatch worker
    /// thread rather than the caller's; it should only publish products
    /// (a `concurrentPerform` inside it would find the cores taken).
    /// - Parameter spinWindow: seconds a worker polls before it sleeps.
    public static func withTeam<R, E: Error>(threads: Int, spinWindow: Double = defaultSpinWindow,
                                             _ body: (WorkerTeam) throws(E) -> R) throws(E) -> R {
        let team = WorkerTeam(threads: threads, spinWindow: spinWindow)
        if team.threads == 1 { return try body(team) }
        var outcome: Result<R, E>?
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let session = body
            nonisolated(unsafe) let slot = UnsafeMutablePointer<Result<R, E>?>.allocate(capacity: 1)
            slot.initialize(to: nil)
            defer { outcome = slot.move(); slot.deallocate() }
            DispatchQueue.concurrentPerform(iterations: team.threads) { i in
                if i == 0 {
                    slot.pointee = Result { () throws(E) -> R in try session(team) }
                    team.stop()
                } else {
                    team.workerLoop()
                }
            }
        }
        return try outcome!.get()
    }

    /// Runs `body(0..<count)` on the team and returns when every task is
    /// done. Tasks are handed out in index order as threads become free; the
    /// calling thread takes them too. Call it from the session's body only
    /// (one product at a time).
    public func run(tasks count: Int, _ body: @escaping (Int) -> Void) {
        guard count > 0 else { return }
        guard threads > 1, count > 1 else {
            for i in 0..<count { body(i) }
            return
        }
        precondition(count <= Int(UInt32.max), "more tasks than a product can hold")
        self.body = body
        finished.store(0, ordering: .sequentiallyConsistent)
        tasks.store(UInt64(count) << 32, ordering: .sequentiallyConsistent)
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        wakeSleepers()
        takeTasks()
        var polls = 0
        while finished.load(ordering: .sequentiallyConsistent) < count {
            polls += 1
            // A worker preempted inside its task: give it the core after a while.
            if polls < 4096 { kb_spin_pause() } else { sched_yield() }
        }
        self.body = { _ in }
    }

    /// Takes and runs tasks of the current product until none is left.
    private func takeTasks() {
        var state = tasks.load(ordering: .sequentiallyConsistent)
        while state & 0xffff_ffff < state >> 32 {
            let (taken, now) = tasks.compareExchange(expected: state, desired: state + 1,
                                                     ordering: .sequentiallyConsistent)
            guard taken else {
                state = now
                continue
            }
            body(Int(state & 0xffff_ffff))
            finished.wrappingAdd(1, ordering: .sequentiallyConsistent)
            state = tasks.load(ordering: .sequentiallyConsistent)
        }
    }

    /// A worker: wait for a product, take what is left of its tasks; until the team stops.
    private func workerLoop() {
        activeWorkers.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { activeWorkers.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        var seen: UInt64 = 0
        while let g = waitForProduct(after: seen) {
            seen = g
            takeTasks()
        }
    }

    /// The next generation after `seen`, or nil once the team stops: polls
    /// for the spin window, then sleeps until woken.
    private func waitForProduct(after seen: UInt64) -> UInt64? {
        let deadline = monotonicNanoseconds() &+ spinWindowNanoseconds
        var polls = 0
        while spinWindowNanoseconds > 0 {
            if stopping.load(ordering: .sequentiallyConsistent) { return nil }
            let g = generation.load(ordering: .sequentiallyConsistent)
            if g != seen { return g }
            kb_spin_pause()
            polls += 1
            // (the clock only every 64 polls, to keep a poll short)
            if polls & 63 == 0 && monotonicNanoseconds() >= deadline { break }
        }
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        // Announced before the last look, under the lock: a publisher that
        // advances the generation after this look sees the sleeper and
        // broadcasts, which it can only do once this thread waits.
        sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        while true {
            if stopping.load(ordering: .sequentiallyConsistent) { return nil }
            let g = generation.load(ordering: .sequentiallyConsistent)
            if g != seen { return g }
            pthread_cond_wait(wake, lock)
        }
    }

    private func wakeSleepers() {
        guard sleepers.load(ordering: .sequentiallyConsistent) > 0 else { return }
        pthread_mutex_lock(lock)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(lock)
    }

    /// Ends the session: workers return from their iterations (those not yet
    /// started return as soon as they start).
    private func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        wakeSleepers()
    }

    /// Workers inside the worker loop now (tests: zero once the session ended).
    var workersRunning: Int { activeWorkers.load(ordering: .sequentiallyConsistent) }
}
