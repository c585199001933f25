import Foundation
import HVAudit
import Testing

/// A flood of refusals from one caller is written as its first few records and one count per
/// window; nothing is lost, and other callers and other records are untouched.
@Suite struct AuditCoalescingTests {
    let log = SegmentedLog()

    func records(_ audit: AuditLog) throws -> [AuditRecord] {
        try log.records(log.files.name)
    }

    @Test func aFloodBecomesAFewRecordsWhoseCountsAddUp() async throws {
        // The log's clock stands still, so the flood stays in one window however slowly it runs.
        var configuration = AuditConfiguration(compression: .none)
        configuration.clock = ManualClock().audit
        let audit = try log.open(configuration)
        let flood = AuditCoalescing(uid: 1003, kind: "invalid messages")
        var written = 0
        for index in 0..<10_000 {
            if try await audit.append(SegmentedLog.record(index, uid: 1003, decision: "invalid"), coalescing: flood) != nil { written += 1 }
        }
        try await audit.append(SegmentedLog.record(0, uid: 1003))
        await audit.flush()
        let all = try records(audit)
        #expect(written == 5)
        #expect(all.count == 7, "five, the allowed one, and the count: \(all.count)")
        let summary = try #require(all.last)
        #expect(summary.coalesced == 9_995)
        #expect(summary.result == "9995 more invalid messages from uid 1003 in the last 10 s")
        #expect(summary.decision == "invalid" && summary.uid == 1003)
        let accounted = all.filter { $0.decision == "invalid" }.map { $0.coalesced ?? 1 }.reduce(0, +)
        #expect(accounted == 10_000)
        #expect(all.filter { $0.decision == "allowed" }.count == 1, "a record not marked for coalescing is written as it is")
        #expect(await audit.verifyAll().intact)
    }

    @Test func callersAreCountedApart() async throws {
        var configuration = AuditConfiguration(compression: .none, coalescingBurst: 2)
        configuration.clock = ManualClock().audit
        let audit = try log.open(configuration)
        for index in 0..<10 {
            for uid: UInt32 in [1003, 1004] {
                _ = try await audit.append(
                    SegmentedLog.record(index, uid: uid, decision: "denied"), coalescing: AuditCoalescing(uid: uid, kind: "requests denied")
                )
            }
        }
        await audit.flush()
        let summaries = try records(audit).filter { $0.coalesced != nil }
        #expect(summaries.map(\.uid).sorted() == [1003, 1004])
        #expect(summaries.allSatisfy { $0.coalesced == 8 })
    }

    /// The count is written when the window ends, with no request to prompt it.
    @Test func theCountIsWrittenWhenTheWindowEnds() async throws {
        let window = Duration.seconds(10)
        let clock = ManualClock()
        var configuration = AuditConfiguration(compression: .none, coalescingWindow: window, coalescingBurst: 1)
        configuration.clock = clock.audit
        let audit = try log.open(configuration)
        let key = AuditCoalescing(uid: 1005, kind: "invalid messages")
        for index in 0..<4 { _ = try await audit.append(SegmentedLog.record(index, uid: 1005, decision: "invalid"), coalescing: key) }
        #expect(try records(audit).count == 1, "the first is written, the rest counted")
        func accounted() throws -> Int { try records(audit).map { $0.coalesced ?? 1 }.reduce(0, +) }
        // The writer waits out the window by itself; no request prompts it.
        clock.advance(window)
        let started = ContinuousClock.now
        while try accounted() < 4, ContinuousClock.now - started < .seconds(60) {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try records(audit).contains { $0.coalesced != nil }, "written by the writer when the window ended")
        #expect(try accounted() == 4)
    }

    @Test func countsStillOpenAreWrittenWhenTheLogCloses() async throws {
        do {
            var configuration = AuditConfiguration(compression: .none, coalescingBurst: 1)
            configuration.clock = ManualClock().audit
            let audit = try log.open(configuration)
            let key = AuditCoalescing(uid: 1006, kind: "invalid messages")
            for index in 0..<3 { _ = try await audit.append(SegmentedLog.record(index, uid: 1006, decision: "invalid"), coalescing: key) }
        }
        #expect(try log.records(log.files.name).last?.coalesced == 2)
    }
}

/// An append that can't reach the disk fails, and nothing of it stays in the log.
@Suite struct AuditFailureTests {
    let log = SegmentedLog()

    /// /dev/full fails every write with ENOSPC: a full filesystem, whoever runs the test.
    @Test func anAppendToAFullDiskThrows() async throws {
        try FileManager.default.createDirectory(atPath: log.directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: log.path, withDestinationPath: "/dev/full")
        let audit = try log.open()
        let error = await #expect(throws: AuditError.self) { try await audit.append(SegmentedLog.record(0)) }
        #expect(error?.code == .unwritable)
        #expect(error?.reason.contains("No space left") == true, "\(String(describing: error))")
    }

    /// On a real filesystem that fills up, a record written in part is cut back off: the log holds
    /// exactly what it held before. Needs root to mount a small tmpfs; said and skipped otherwise.
    @Test func aFullFilesystemLeavesNoPartialRecord() async throws {
        try FileManager.default.createDirectory(atPath: log.directory, withIntermediateDirectories: true)
        guard getuid() == 0, (try? run(["/bin/mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", log.directory])) != nil else {
            print("skipped: mounting a small tmpfs needs root")
            return
        }
        defer { _ = try? run(["/bin/umount", "-l", log.directory]) }
        let audit = try log.open(AuditConfiguration(compression: .none))
        try await audit.append(SegmentedLog.record(0))
        // Fill what is left but a few hundred bytes, so the next records are cut off part way.
        let free = try #require(try FileManager.default.attributesOfFileSystem(forPath: log.directory)[.systemFreeSize] as? Int)
        try Data(count: max(0, free - 300)).write(to: URL(fileURLWithPath: log.directory + "/filler"))
        let before = try Data(contentsOf: URL(fileURLWithPath: log.path))
        var failed = false
        for index in 1..<20 where !failed {
            do {
                try await audit.append(SegmentedLog.record(index))
            } catch {
                failed = true
            }
        }
        #expect(failed, "the filesystem filled up")
        let after = try Data(contentsOf: URL(fileURLWithPath: log.path))
        #expect(after.starts(with: before))
        #expect(after.last == UInt8(ascii: "\n"), "no partial record")
        #expect(await audit.verifyAll().intact)
    }
}
