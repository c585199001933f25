import Foundation
import HVProtocol
import HVTestSupport
import HVWork
import Synchronization
import Testing

/// The pool's promises, shown with work that blocks until the test releases it: callers are served
/// in turn, each caller's backlog is bounded, and a caller that goes away takes its work with it.
@Suite struct WorkPoolTests {
    @Test func aSecondCallerIsServedBeforeTheFirstCallersBacklog() async throws {
        let pool = WorkPool(.init(name: "test", threads: 1, maximumQueuedPerCaller: 16))
        let gate = Gate()
        let order = Recorder<String>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<4 {
                group.addTask {
                    try await pool.run(for: 1000) { _ in
                        gate.wait()
                        order.append("a\(index)")
                    }
                }
                // Queued in this order: a0 runs, a1...a3 wait.
                #expect(await eventually(10) { pool.load.running + (pool.load.queued[1000] ?? 0) == index + 1 })
            }
            group.addTask {
                try await pool.run(for: 2000) { _ in order.append("b") }
            }
            #expect(await eventually(10) { pool.load.queued[2000] == 1 })
            gate.open()
            try await group.waitForAll()
        }
        // b came after a1...a3 were queued, yet runs right after a0.
        #expect(order.all == ["a0", "b", "a1", "a2", "a3"])
    }

    @Test func aCallerRunsAtMostItsShareWhileAnotherWaits() async throws {
        let pool = WorkPool(.init(name: "jobs", threads: 2, maximumQueuedPerCaller: 8, maximumRunningPerCaller: 1))
        let gate = Gate()
        let running = Recorder<UInt32>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await pool.run(for: 1000) { _ in
                        running.append(1000)
                        gate.wait()
                    }
                }
            }
            #expect(await eventually(10) { pool.load.running == 1 && pool.load.queued[1000] == 2 })
            // The second thread stays free for another caller.
            group.addTask { try await pool.run(for: 2000) { _ in running.append(2000) } }
            #expect(await eventually(10) { running.all.contains(2000) })
            #expect(running.all.filter { $0 == 1000 }.count == 1)
            gate.open()
            try await group.waitForAll()
        }
    }

    @Test func aCallerBeyondItsQueueBoundIsRefusedWithAReasonAndAFix() async throws {
        let pool = WorkPool(.init(name: "libvirt", threads: 1, maximumQueuedPerCaller: 2))
        let gate = Gate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { try await pool.run(for: 1000) { _ in gate.wait() } } }
            #expect(await eventually(10) { pool.load.running == 1 && pool.load.queued[1000] == 2 })
            do throws(WorkPoolError) {
                try await pool.run(for: 1000) { _ in }
                Issue.record("a fourth call of the same caller was accepted")
            } catch {
                #expect(error.code == .queueFull)
                #expect(error.limit == 2)
                #expect(error.reason.contains("uid 1000 already has 2 calls waiting for the broker's libvirt threads"))
                #expect(error.fix != nil)
                #expect(error.hvError.code == .busy)
                #expect(error.hvError.details["pool"] == "libvirt")
            }
            // Another caller is not held to the first one's bound.
            group.addTask { try await pool.run(for: 2000) { _ in } }
            gate.open()
            try await group.waitForAll()
        }
    }

    @Test func cancellingAWaitingCallerTakesItsWorkOutOfTheQueue() async throws {
        let pool = WorkPool(.init(name: "test", threads: 1, maximumQueuedPerCaller: 4))
        let gate = Gate()
        let ran = Atomic<Bool>(false)
        let blocker = Task { try await pool.run(for: 1) { _ in gate.wait() } }
        #expect(await eventually(10) { pool.load.running == 1 })
        let waiting = Task { try await pool.run(for: 2) { _ in ran.store(true, ordering: .relaxed) } }
        #expect(await eventually(10) { pool.load.queued[2] == 1 })
        waiting.cancel()
        do {
            try await waiting.value
            Issue.record("the cancelled work ran")
        } catch {
            #expect((error as? WorkPoolError)?.code == .cancelled)
        }
        #expect(pool.load.queued[2] == nil)
        gate.open()
        try await blocker.value
        let cancelledWorkRan = ran.load(ordering: .relaxed)
        #expect(!cancelledWorkRan)
    }

    @Test func cancellingARunningCallerTellsItsJob() async throws {
        let pool = WorkPool(.init(name: "jobs", threads: 1, maximumQueuedPerCaller: 4))
        let started = Atomic<Bool>(false)
        let task = Task {
            try await pool.run(for: 1) { context -> Int in
                started.store(true, ordering: .relaxed)
                var chunks = 0
                while !context.isCancelled {
                    chunks += 1
                    context.report(JobProgress(done: UInt64(chunks), total: nil))
                    usleep(1_000)
                }
                return chunks
            }
        }
        // Generous: the task needs a thread of Swift's cooperative pool to start, and other suites
        // running beside this one (nix-instantiate waits, for one) can hold them for seconds.
        #expect(await eventually(60) { started.load(ordering: .relaxed) })
        task.cancel()
        // The job saw the cancellation and returned; it did not run on forever.
        #expect(try await task.value > 0)
    }

    @Test func progressReachesTheRequestsListener() async throws {
        let pool = WorkPool(.init(name: "jobs", threads: 1, maximumQueuedPerCaller: 4))
        let heard = Recorder<UInt64>()
        try await WorkPool.$progress.withValue({ progress in heard.append(progress.done) }) {
            try await pool.run(for: 1) { context in
                for done in [10, 20, 30] as [UInt64] { context.report(JobProgress(done: done, total: 30)) }
            }
        }
        #expect(heard.all == [10, 20, 30])
    }

    @Test func workIsChargedToTheRequestsCaller() async throws {
        let pool = WorkPool(.init(name: "test", threads: 1, maximumQueuedPerCaller: 4))
        let gate = Gate()
        let blocker = Task { try await pool.run(for: 1) { _ in gate.wait() } }
        #expect(await eventually(10) { pool.load.running == 1 })
        let queued = Task { try await WorkPool.$caller.withValue(4242) { try await pool.run { _ in } } }
        #expect(await eventually(10) { pool.load.queued[4242] == 1 })
        gate.open()
        try await blocker.value
        try await queued.value
    }

    @Test func longJobsRunAtTheirNiceValue() async throws {
        let jobs = WorkPool(.longJobs)
        let calls = WorkPool(.libvirtCalls)
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        #expect(try await jobs.run(for: 1) { _ in getpriority(which, 0) } == 10)
        #expect(try await calls.run(for: 1) { _ in getpriority(which, 0) } == 0)
    }

    @Test func afterShutdownWorkIsRefused() async throws {
        let pool = WorkPool(.init(name: "test", threads: 1, maximumQueuedPerCaller: 4))
        try await pool.shutdownGracefully()
        await #expect(throws: WorkPoolError.self) { try await pool.run(for: 1) { _ in } }
    }

    /// The broker's own work (no caller) and many concurrent callers all run.
    @Test func manyCallsWithAndWithoutACallerAllRun() async throws {
        let pool = WorkPool(.init(name: "test", threads: 8, maximumQueuedPerCaller: 200))
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<200 {
                group.addTask { try await pool.run(for: index % 3 == 0 ? nil : UInt32(index % 5)) { _ in 1 } }
            }
            return try await group.reduce(0, +)
        }
        #expect(total == 200)
        #expect(pool.load.running == 0 && pool.load.queued.isEmpty)
    }
}
