import Foundation
import HVAudit
import Testing

/// Sealing by size and age, the manifest, compression and retention.
@Suite struct AuditSegmentTests {
    let log = SegmentedLog()

    @Test func theActiveSegmentIsSealedBeforeItOutgrowsItsSize() async throws {
        let audit = try await log.write(60)
        let manifest = try log.manifest()
        #expect(manifest.segments.count >= 4, "\(manifest.segments.count) sealed")
        #expect(manifest.isUnchanged)
        for (index, entry) in manifest.segments.enumerated() {
            #expect(entry.number == index + 1)
            #expect(entry.file == log.files.sealedName(index + 1, compressed: false))
            #expect(try log.size(entry.file) <= 4096, "\(entry.file)")
            let records = try log.records(entry.file)
            #expect(records.first?.seq == entry.firstSeq && records.last?.seq == entry.lastSeq)
            #expect(records.first?.prev == entry.prev && records.last?.hash == entry.lastHash)
            if index > 0 {
                #expect(entry.prev == manifest.segments[index - 1].lastHash, "each segment begins with the previous one's final hash")
                #expect(records.first?.method == "(audit segment)")
                #expect(records.first?.result.contains(manifest.segments[index - 1].lastHash) == true)
            }
        }
        let active = try log.records(log.files.name)
        #expect(active.first?.method == "(audit segment)")
        #expect(active.first?.prev == manifest.segments.last?.lastHash)
        let openings = manifest.segments.count
        let result = await audit.verifyAll()
        #expect(result.intact, "\(String(describing: result.reason))")
        #expect(result.records == 60 + openings)
        #expect(result.segments == manifest.segments.count + 1)
        #expect(AuditLog.verify(logAt: log.path).intact, "from the files alone")
    }

    @Test func theActiveSegmentIsSealedWhenARecordArrivesAfterItsAge() async throws {
        let age = Duration.seconds(60)
        let clock = ManualClock()
        var configuration = AuditConfiguration(segmentAge: age, compression: .none)
        configuration.clock = clock.audit
        let audit = try await log.write(3, configuration)
        clock.advance(age - .seconds(1))
        try await audit.append(SegmentedLog.record(3))
        #expect(try AuditManifest.load(log.files.manifest) == nil, "young: nothing sealed")
        clock.advance(.seconds(1))
        try await audit.append(SegmentedLog.record(4))
        let manifest = try log.manifest()
        #expect(manifest.segments.last?.lastSeq == 4, "sealed before the record that came after its age")
        #expect(try log.records(log.files.name).map(\.method) == ["(audit segment)", "org.hypernixos.Vm.Start"])
        #expect(await audit.verifyAll().intact)
    }

    @Test func aReopenedLogContinuesInItsSegment() async throws {
        do { _ = try await log.write(25) }
        let before = try log.manifest()
        let reopened = try log.open()
        #expect(reopened.startupProblem == nil)
        try await reopened.append(SegmentedLog.record(99))
        #expect(try log.manifest().segments.prefix(before.segments.count) == before.segments[...])
        #expect(await reopened.verifyAll().intact)
    }

    @Test func sealedSegmentsAreCompressedWithGzip() async throws {
        let audit = try await log.write(40, AuditConfiguration(segmentSize: 4096, compression: .gzip))
        await audit.compressSealedSegments()
        let manifest = try log.manifest()
        #expect(!manifest.segments.isEmpty)
        for entry in manifest.segments {
            #expect(entry.file == log.files.sealedName(entry.number, compressed: true))
            #expect(!log.exists(log.files.sealedName(entry.number, compressed: false)), "the plain copy is removed")
            // Readable with the standard tools.
            let text = try run(["/bin/gzip", "-dc", log.files.path(entry.file)])
            #expect(String(decoding: text, as: UTF8.self).split(separator: "\n").count == entry.lastSeq - entry.firstSeq + 1)
        }
        let result = await audit.verifyAll()
        #expect(result.intact, "\(String(describing: result.reason))")
        #expect(AuditLog.verify(logAt: log.path).intact)
    }

    @Test func retentionKeepsTheNewestSegmentsAndRecordsEachRemoval() async throws {
        let audit = try await log.write(80, AuditConfiguration(segmentSize: 4096, keepSegments: 2, compression: .none))
        let manifest = try log.manifest()
        #expect(manifest.segments.count == 2)
        let retired = try #require(manifest.retired)
        #expect(retired.count >= 3)
        #expect(manifest.segments.first?.number == retired.lastNumber + 1)
        #expect(manifest.segments.first?.prev == retired.lastHash, "the chain resumes where the last retired segment ended")
        for number in 1...retired.lastNumber {
            #expect(!log.exists(log.files.sealedName(number, compressed: false)), "segment \(number) removed")
        }
        let removals = try ([log.files.name] + manifest.segments.map(\.file)).flatMap { try log.records($0) }
            .filter { $0.method == "(audit retention)" }
        let removedNames = Set(removals.map(\.target))
        let stillListed = Set(manifest.segments.map(\.file))
        #expect(removedNames.isDisjoint(with: stillListed))
        #expect(removals.allSatisfy { $0.decision == "audit" && $0.result.contains("removed") })

        let result = await audit.verifyAll()
        #expect(result.intact, "\(String(describing: result.reason))")
        #expect(result.retiredSegments == retired.count)
        let offline = AuditLog.verify(logAt: log.path)
        #expect(offline.intact && offline.retiredSegments == retired.count)
    }

    @Test(arguments: ["90m", "7d", "3600", "12h", "45s"])
    func agesAreRead(text: String) throws {
        let age = try #require(AuditConfiguration.age(parsing: text))
        #expect(age > .zero)
    }

    @Test(arguments: ["", "d", "7w", "-1d", "1.5h"])
    func whatIsNotAnAgeIsRefused(text: String) {
        #expect(AuditConfiguration.age(parsing: text) == nil)
    }

    @Test func tooSmallSegmentsAreRefused() {
        let error = #expect(throws: AuditError.self) { try AuditConfiguration(segmentSize: 1000).validate() }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func aReadFlushDelayPastAMinuteIsRefused() throws {
        let error = #expect(throws: AuditError.self) { try AuditConfiguration(unwaitedFlushDelay: .seconds(61)).validate() }
        #expect(error?.code == .invalidConfiguration)
        try AuditConfiguration(unwaitedFlushDelay: .zero).validate()
        try AuditConfiguration(unwaitedFlushDelay: .seconds(60)).validate()
    }
}
