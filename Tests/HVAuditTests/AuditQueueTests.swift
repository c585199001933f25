import Foundation
@testable import HVAudit
import Synchronization
import Testing

/// Records queued without waiting (`enqueue`): written in order with waited-for ones, and the
/// queue bounded, so a caller that never pauses waits once it is full.
@Suite struct AuditQueueTests {
    @Test func queuedRecordsAreWrittenInOrderWithAppendedOnes() async throws {
        let log = SegmentedLog()
        let audit = try log.open(AuditConfiguration(compression: .none))
        let outcomes = Mutex<[Int]>([])
        try await audit.append(SegmentedLog.record(0))
        for index in 1...3 {
            await audit.enqueue(SegmentedLog.record(index)) { result in
                if case .success(let record) = result, record != nil { outcomes.withLock { $0.append(index) } }
            }
        }
        try await audit.append(SegmentedLog.record(4))
        await audit.settle()
        #expect(try log.records(log.files.name).map(\.target) == (0...4).map { "machine-\($0)" })
        #expect(outcomes.withLock { $0 } == [1, 2, 3], "each queued record's outcome is told")
        #expect((await audit.verifyAll()).intact)
    }

    /// A queued record is written without any other call: its outcome is told, and it is on disk.
    @Test(.timeLimit(.minutes(1))) func aQueuedRecordIsWrittenWithoutAnotherCall() async throws {
        let log = SegmentedLog()
        let audit = try log.open(AuditConfiguration(compression: .none))
        let written = await withCheckedContinuation { (continuation: CheckedContinuation<AuditRecord?, Never>) in
            Task {
                await audit.enqueue(SegmentedLog.record(1)) { result in continuation.resume(returning: try? result.get()) }
            }
        }
        #expect(written?.target == "machine-1")
        #expect(try log.records(log.files.name).map(\.target) == ["machine-1"])
    }

    /// A record a caller waits for takes every queued record before it to the disk with it.
    @Test func aWaitedRecordWritesTheQueuedOnesBeforeIt() async throws {
        let log = SegmentedLog()
        let audit = try log.open(AuditConfiguration(compression: .none))
        for index in 1...3 { await audit.enqueue(SegmentedLog.record(index)) { _ in } }
        try await audit.append(SegmentedLog.record(4))
        #expect(try log.records(log.files.name).map(\.target) == (1...4).map { "machine-\($0)" })
    }

    /// A queued record is written at once but flushed to the disk only once it has waited
    /// `unwaitedFlushDelay` on the log's clock, with no other call to wake the writer.
    @Test(.timeLimit(.minutes(1))) func aQueuedRecordIsFlushedOnceItsDelayHasPassed() async throws {
        let log = SegmentedLog()
        let clock = ManualClock()
        var configuration = AuditConfiguration(compression: .none, unwaitedFlushDelay: .seconds(1))
        configuration.clock = clock.audit
        let audit = try log.open(configuration)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Task { await audit.enqueue(SegmentedLog.record(1)) { _ in continuation.resume() } }
        }
        #expect(try log.records(log.files.name).map(\.target) == ["machine-1"], "written at once")
        #expect(audit.flushedSeq == 0)
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(audit.flushedSeq == 0, "the log's clock has not moved, so the delay has not passed")
        clock.advance(.seconds(1))
        var waited = 0
        while audit.flushedSeq < 1, waited < 200 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        #expect(audit.flushedSeq == 1, "the writer woke for the deadline and flushed the record")
    }

    /// A record a caller waits on is on disk when its call returns, with every record queued
    /// before it; so is an admitted change's, whatever the delay.
    @Test func aWaitedRecordFlushesTheQueuedOnesWithIt() async throws {
        let log = SegmentedLog()
        let audit = try log.open(AuditConfiguration(compression: .none, unwaitedFlushDelay: .seconds(60)))
        for index in 1...3 { await audit.enqueue(SegmentedLog.record(index)) { _ in } }
        await audit.settle()
        #expect(audit.flushedSeq == 0, "written, not yet flushed")
        let written = try await audit.append(SegmentedLog.record(4))
        #expect(written.seq == 4)
        #expect(audit.flushedSeq == 4)
    }

    /// Records no caller waits on wait `unwaitedWriteDelay` for others before they are written,
    /// then go together.
    @Test(.timeLimit(.minutes(1))) func queuedRecordsWaitForOthersThenGoTogether() async throws {
        let log = SegmentedLog()
        var configuration = AuditConfiguration(compression: .none)
        configuration.unwaitedWriteDelay = .seconds(1)
        let audit = try log.open(configuration)
        let written = Mutex<[Int]>([])
        for index in 1...3 {
            await audit.enqueue(SegmentedLog.record(index)) { _ in written.withLock { $0.append(index) } }
        }
        #expect(try log.records(log.files.name).isEmpty, "queued, not written yet")
        try await Task.sleep(for: .milliseconds(100))
        #expect(try log.records(log.files.name).isEmpty, "still waiting for others")
        var waited = 0
        while written.withLock({ $0.count }) < 3, waited < 200 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        #expect(written.withLock { $0 } == [1, 2, 3])
        #expect(try log.records(log.files.name).map(\.target) == (1...3).map { "machine-\($0)" })
    }

    /// A record a caller waits on does not wait out the delay of those queued before it.
    @Test(.timeLimit(.minutes(1))) func aWaitedRecordEndsTheWaitAtOnce() async throws {
        let log = SegmentedLog()
        var configuration = AuditConfiguration(compression: .none)
        configuration.unwaitedWriteDelay = .seconds(1)
        let audit = try log.open(configuration)
        for index in 1...2 { await audit.enqueue(SegmentedLog.record(index)) { _ in } }
        let start = ContinuousClock.now
        try await audit.append(SegmentedLog.record(3))
        #expect(ContinuousClock.now - start < .milliseconds(900), "the waited record was written without waiting out the delay")
        #expect(try log.records(log.files.name).map(\.target) == (1...3).map { "machine-\($0)" })
    }

    @Test func aFullBacklogMakesTheNextCallerWaitForAPlace() async throws {
        let backlog = AuditBacklog(limit: 2)
        await backlog.enter()
        await backlog.enter()
        let entered = Mutex(false)
        let third = Task {
            await backlog.enter()
            entered.withLock { $0 = true }
        }
        // Wait until the third caller is queued behind the full backlog.
        var turns = 0
        while backlog.waiters == 0, turns < 100_000 {
            await Task.yield()
            turns += 1
        }
        #expect(backlog.waiters == 1)
        #expect(!entered.withLock { $0 }, "no place is free, so the third caller waits")
        backlog.leave()
        await third.value
        #expect(entered.withLock { $0 })
        #expect(backlog.taken == 2, "the place went straight to the waiter")
        backlog.leave()
        backlog.leave()
        #expect(backlog.taken == 0)
    }

    @Test func settleWritesNoCoalescedCount() async throws {
        let log = SegmentedLog()
        var configuration = AuditConfiguration(compression: .none, coalescingBurst: 1)
        configuration.clock = ManualClock().audit
        let audit = try log.open(configuration)
        let flood = AuditCoalescing(uid: 1003, kind: "invalid messages")
        for index in 0..<5 {
            _ = try await audit.append(SegmentedLog.record(index, uid: 1003, decision: "invalid"), coalescing: flood)
        }
        await audit.settle()
        #expect(try log.records(log.files.name).count == 1, "the first is written; the rest wait for their window's count")
        await audit.flush()
        #expect(try log.records(log.files.name).count == 2, "a flush writes the count")
    }
}
