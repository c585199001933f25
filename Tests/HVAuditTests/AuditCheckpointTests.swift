import Foundation
import HVAudit
import Testing

/// The verified checkpoint: verifying again reads only what was appended since (counted in bytes
/// read, not timed), across restarts, and still notices the record it stopped at being changed.
@Suite struct AuditCheckpointTests {
    let log = SegmentedLog()
    /// One segment holds everything: what is read is measured against one file.
    let unsegmented = AuditConfiguration(compression: .none)

    func appendedBytes(_ audit: AuditLog, _ range: Range<Int>) async throws -> Int {
        let before = try log.size(log.files.name)
        for index in range { try await audit.append(SegmentedLog.record(index)) }
        return try log.size(log.files.name) - before
    }

    @Test func verifyingAgainReadsOnlyWhatWasAppended() async throws {
        let audit = try await log.write(2_000, unsegmented)
        let history = try log.size(log.files.name)
        let first = await audit.verifyRecent()
        #expect(first.intact)
        #expect(first.records == 2_000)
        #expect(first.bytesRead == history, "the first verification reads everything once")

        let appended = try await appendedBytes(audit, 2_000..<2_010)
        let second = await audit.verifyRecent()
        #expect(second.intact)
        #expect(second.records == 10)
        #expect(second.head?.seq == 2_010)
        // The new lines, and the last line verified before, read back (at most 4 KiB).
        #expect(second.bytesRead >= appended && second.bytesRead <= appended + 4096, "\(second.bytesRead) bytes for \(appended) new")
        #expect(second.bytesRead * 20 < history)

        let idle = await audit.verifyRecent()
        #expect(idle.intact && idle.records == 0)
        #expect(idle.bytesRead <= 4096)
    }

    @Test func theCheckpointOutlivesARestart() async throws {
        do {
            let audit = try await log.write(1_000, unsegmented)
            #expect(await audit.verifyRecent().intact)
        }
        let audit = try log.open(unsegmented)
        #expect(audit.verified.seq == 1_000)
        let appended = try await appendedBytes(audit, 1_000..<1_005)
        let result = await audit.verifyRecent()
        #expect(result.intact && result.records == 5)
        #expect(result.bytesRead <= appended + 4096)
    }

    @Test func theCheckpointFollowsSealedSegments() async throws {
        let audit = try await log.write(30)
        let first = await audit.verifyRecent()
        let start = try #require(first.head)
        let sealedBefore = try log.manifest().segments.count
        var last: AuditRecord?
        for index in 30..<60 { last = try await audit.append(SegmentedLog.record(index)) }
        #expect(try log.manifest().segments.count > sealedBefore, "segments were sealed since the checkpoint")
        let result = await audit.verifyRecent()
        #expect(result.intact, "\(String(describing: result.reason))")
        #expect(result.head?.seq == last?.seq)
        #expect(result.records == (last?.seq ?? 0) - start.seq, "every record since, and only those")
    }

    @Test func aChangedRecordAtTheCheckpointIsFound() async throws {
        let audit = try await log.write(20, unsegmented)
        #expect(await audit.verifyRecent().intact)
        var lines = try log.lines(log.files.name)
        lines[19] = lines[19].replacingOccurrences(of: "machine-19", with: "machine-XX")
        try log.rewrite(log.files.name, lines)
        let result = await audit.verifyRecent()
        #expect(!result.intact)
        #expect(result.brokenAtLine == 20)
        #expect(result.reason?.contains("changed or removed since") == true)
    }

    @Test func aTruncatedActiveSegmentIsFoundFromTheCheckpoint() async throws {
        let audit = try await log.write(20, unsegmented)
        #expect(await audit.verifyRecent().intact)
        try log.rewrite(log.files.name, Array(try log.lines(log.files.name).prefix(10)))
        #expect(!(await audit.verifyRecent()).intact)
    }
}
