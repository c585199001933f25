import Foundation
import HVAudit
import Testing

/// A history written in one go is the very log the broker's writer leaves for the same records at
/// the same times, and a broker opening it goes on from its checkpoint.
@Suite struct AuditHistoryWriterTests {
    /// Small gzip segments, so a few hundred records seal and compress many.
    static let configuration = AuditConfiguration(segmentSize: 4096, compression: .gzip)
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// Record `index`, which arrives `index` seconds after `start`.
    static func record(_ index: Int) -> (AuditRecord, Date) {
        let time = start.addingTimeInterval(Double(index))
        var record = SegmentedLog.record(index, uid: UInt32(1000 + index % 3), decision: index % 7 == 0 ? "denied" : "allowed")
        record.time = AuditRecord.timestamp(time)
        return (record, time)
    }

    func files(in log: SegmentedLog) throws -> [String: Data] {
        var contents: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: log.directory) {
            contents[name] = try Data(contentsOf: URL(fileURLWithPath: log.files.path(name)))
        }
        return contents
    }

    @Test func theHistoryIsWhatTheBrokersWriterWrites() async throws {
        let count = 300
        let byTheBroker = SegmentedLog()
        do {
            let clock = ManualClock()
            var configuration = Self.configuration
            configuration.clock = clock.audit
            clock.advance(.seconds(Int64(Self.start.timeIntervalSince(clock.now))))
            let audit = try byTheBroker.open(configuration)
            for index in 0..<count {
                let (record, time) = Self.record(index)
                clock.advance(.seconds(Int64(time.timeIntervalSince(clock.now))))
                try await audit.append(record)
            }
            await audit.compressSealedSegments()
            #expect(await audit.verifyRecent().intact)
        }

        let inOneGo = SegmentedLog()
        let writer = try AuditHistoryWriter(path: inOneGo.path, configuration: Self.configuration)
        for index in 0..<count {
            let (record, time) = Self.record(index)
            try writer.append(record, at: time)
        }
        let checkpoint = try writer.finish()

        let expected = try files(in: byTheBroker)
        let written = try files(in: inOneGo)
        #expect(try inOneGo.manifest().segments.count >= 20, "many segments sealed")
        #expect(expected.keys.contains { $0.hasSuffix(".gz") }, "sealed segments compressed")
        #expect(written.keys.sorted() == expected.keys.sorted())
        for (name, bytes) in expected {
            #expect(written[name] == bytes, "\(name) differs from the one the broker's writer wrote")
        }
        #expect(checkpoint.seq == (try byTheBroker.manifest().segments.count) + count, "every record and each segment's opening")
    }

    @Test func aBrokerGoesOnFromTheCheckpoint() async throws {
        let log = SegmentedLog()
        let writer = try AuditHistoryWriter(path: log.path, configuration: Self.configuration)
        for index in 0..<200 {
            let (record, time) = Self.record(index)
            try writer.append(record, at: time)
        }
        let checkpoint = try writer.finish()

        let audit = try log.open(Self.configuration)
        #expect(audit.startupProblem == nil)
        #expect(audit.verified == checkpoint)
        let recent = await audit.verifyRecent()
        #expect(recent.intact && recent.records == 0)
        #expect(recent.bytesRead <= 4096, "only the last record verified is read back")
        let all = await audit.verifyAll()
        #expect(all.intact, "\(String(describing: all.reason))")
        #expect(all.records == checkpoint.seq)
        #expect(AuditLog.verify(logAt: log.path).intact, "from the files alone")
    }

    @Test func anExistingLogIsNotWrittenOver() async throws {
        let log = SegmentedLog()
        _ = try await log.write(3)
        #expect(throws: AuditError.self) { try AuditHistoryWriter(path: log.path, configuration: Self.configuration) }
    }
}
