import Foundation
import HVAudit
import Testing

/// Each way of tampering with sealed segments or the manifest is found, by the broker's full
/// verification and from the files alone, and the report names the segment.
@Suite struct AuditTamperingTests {
    let log = SegmentedLog()

    /// A log with at least four sealed segments; returns it with its manifest.
    func sealed(_ configuration: AuditConfiguration = SegmentedLog.smallSegments) async throws -> (AuditLog, AuditManifest) {
        let audit = try await log.write(50, configuration)
        if configuration.compression == .gzip { await audit.compressSealedSegments() }
        let manifest = try log.manifest()
        try #require(manifest.segments.count >= 4)
        #expect(await audit.verifyAll().intact)
        return (audit, manifest)
    }

    /// Both verifications find the damage in `segment`; returns the broker's.
    @discardableResult
    func expectBroken(_ audit: AuditLog, in segment: String, saying words: String?, line: Int? = nil) async -> AuditChain.Verification {
        let result = await audit.verifyAll()
        let offline = AuditLog.verify(logAt: log.path)
        for (who, found) in [("broker", result), ("files alone", offline)] {
            #expect(!found.intact, "\(who)")
            #expect(found.segment == segment, "\(who): \(String(describing: found.segment)) — \(String(describing: found.reason))")
            if let words { #expect(found.reason?.contains(words) == true, "\(who): \(String(describing: found.reason))") }
            if let line { #expect(found.brokenAtLine == line, "\(who)") }
        }
        return result
    }

    @Test func aRemovedSegmentIsFound() async throws {
        let (audit, manifest) = try await sealed()
        let victim = manifest.segments[1]
        try FileManager.default.removeItem(atPath: log.files.path(victim.file))
        await expectBroken(audit, in: victim.file, saying: "is missing")
    }

    /// Removing the segment and its entry, with the manifest's hash made to fit, still breaks the
    /// chain at the segment that followed it.
    @Test func aSegmentRemovedWithItsEntryIsFound() async throws {
        let (audit, manifest) = try await sealed()
        let victim = manifest.segments[1]
        try FileManager.default.removeItem(atPath: log.files.path(victim.file))
        var forged = manifest
        forged.segments.remove(at: 1)
        try log.forge(forged)
        let result = await audit.verifyAll()
        #expect(!result.intact)
        #expect(result.segment == victim.file, "\(String(describing: result.reason))")
        #expect(result.reason?.contains("differs from the one the broker wrote") == true)
        let offline = AuditLog.verify(logAt: log.path)
        #expect(!offline.intact)
        #expect(offline.segment == manifest.segments[2].file)
        #expect(offline.reason?.contains("a segment was removed") == true, "\(String(describing: offline.reason))")
    }

    @Test func reorderedSegmentsAreFound() async throws {
        let (audit, manifest) = try await sealed()
        let (first, second) = (manifest.segments[1].file, manifest.segments[2].file)
        let swap = log.files.path("swap")
        try FileManager.default.moveItem(atPath: log.files.path(first), toPath: swap)
        try FileManager.default.moveItem(atPath: log.files.path(second), toPath: log.files.path(first))
        try FileManager.default.moveItem(atPath: swap, toPath: log.files.path(second))
        await expectBroken(audit, in: first, saying: "reordered", line: 1)
    }

    @Test func anEditedLineInASealedSegmentIsFound() async throws {
        let (audit, manifest) = try await sealed()
        let victim = manifest.segments[2].file
        var lines = try log.lines(victim)
        lines[3] = lines[3].replacingOccurrences(of: #""decision":"allowed""#, with: #""decision":"denied""#)
        try log.rewrite(victim, lines)
        await expectBroken(audit, in: victim, saying: "changed", line: 4)
    }

    @Test func anEditedCompressedSegmentIsFound() async throws {
        let (audit, manifest) = try await sealed(AuditConfiguration(segmentSize: 4096, compression: .gzip))
        let victim = manifest.segments[1].file
        let path = log.files.path(victim)
        var text = String(decoding: try run(["/bin/gzip", "-dc", path]), as: UTF8.self)
        text = text.replacingOccurrences(of: "machine-", with: "machinX-")
        try run(["/bin/sh", "-c", "gzip -c > '\(path)'"], input: Data(text.utf8))
        // Line 1 is the segment's opening record, which names no machine.
        await expectBroken(audit, in: victim, saying: "changed", line: 2)
    }

    @Test func aDamagedCompressedSegmentIsFound() async throws {
        let (audit, manifest) = try await sealed(AuditConfiguration(segmentSize: 4096, compression: .gzip))
        let victim = manifest.segments[1].file
        var bytes = try Data(contentsOf: URL(fileURLWithPath: log.files.path(victim)))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: log.files.path(victim)))
        await expectBroken(audit, in: victim, saying: nil)
    }

    @Test func aTruncatedSegmentIsFound() async throws {
        let (audit, manifest) = try await sealed()
        let victim = manifest.segments[1].file
        try log.rewrite(victim, Array(try log.lines(victim).dropLast(2)))
        await expectBroken(audit, in: victim, saying: "truncated")
    }

    @Test func linesAddedToASealedSegmentAreFound() async throws {
        let (audit, manifest) = try await sealed()
        let victim = manifest.segments[1].file
        let next = try log.lines(manifest.segments[2].file)
        try log.rewrite(victim, try log.lines(victim) + [next[0]])
        await expectBroken(audit, in: victim, saying: "lines were added")
    }

    @Test func anEditedManifestIsFound() async throws {
        let (audit, manifest) = try await sealed()
        let victim = manifest.segments[1]
        var text = try String(contentsOfFile: log.files.manifest, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"lastSeq\" : \(victim.lastSeq),", with: "\"lastSeq\" : \(victim.lastSeq - 1),")
        try text.write(toFile: log.files.manifest, atomically: true, encoding: .utf8)
        let result = await audit.verifyAll()
        #expect(!result.intact)
        #expect(result.segment == victim.file, "\(String(describing: result.reason))")
        #expect(result.reason?.contains("was edited") == true)
        let offline = AuditLog.verify(logAt: log.path)
        #expect(!offline.intact)
        #expect(offline.reason?.contains("was edited") == true, "\(String(describing: offline.reason))")
    }

    /// A manifest made consistent again by a forger still disagrees with the segment it describes.
    @Test func aForgedManifestEntryIsFound() async throws {
        let (audit, manifest) = try await sealed()
        var forged = manifest
        forged.segments[2].lastSeq -= 1
        try log.forge(forged)
        let result = await audit.verifyAll()
        #expect(result.segment == manifest.segments[2].file)
        #expect(result.reason?.contains("differs from the one the broker wrote") == true)
        let offline = AuditLog.verify(logAt: log.path)
        #expect(offline.segment == manifest.segments[2].file, "\(String(describing: offline.reason))")
        #expect(offline.reason?.contains("lines were added") == true)
    }

    @Test func aRemovedManifestIsFound() async throws {
        let (audit, _) = try await sealed()
        try FileManager.default.removeItem(atPath: log.files.manifest)
        let result = await audit.verifyAll()
        #expect(!result.intact)
        #expect(result.segment == "audit.jsonl.manifest" || result.reason?.contains("manifest") == true, "\(String(describing: result.reason))")
    }

    /// The health check's verification skips decoding a manifest whose bytes passed before; an
    /// edit, a forgery or a removal made after it passed is still found by the next one.
    @Test func theHealthCheckFindsAManifestChangedAfterItPassed() async throws {
        let (audit, manifest) = try await sealed()
        #expect(await audit.verifyRecent().intact)
        #expect(await audit.verifyRecent().intact, "the same bytes pass again")

        let genuine = try String(contentsOfFile: log.files.manifest, encoding: .utf8)
        let victim = manifest.segments[1]
        let edited = genuine.replacingOccurrences(of: "\"lastSeq\" : \(victim.lastSeq),", with: "\"lastSeq\" : \(victim.lastSeq - 1),")
        try #require(edited != genuine)
        try edited.write(toFile: log.files.manifest, atomically: true, encoding: .utf8)
        let afterEdit = await audit.verifyRecent()
        #expect(!afterEdit.intact)
        #expect(afterEdit.reason?.contains("was edited") == true, "\(String(describing: afterEdit.reason))")

        var forged = manifest
        forged.segments[2].lastSeq -= 1
        try log.forge(forged)
        let afterForgery = await audit.verifyRecent()
        #expect(afterForgery.reason?.contains("differs from the one the broker wrote") == true, "\(String(describing: afterForgery.reason))")

        try FileManager.default.removeItem(atPath: log.files.manifest)
        #expect(!(await audit.verifyRecent().intact))

        try genuine.write(toFile: log.files.manifest, atomically: true, encoding: .utf8)
        #expect(await audit.verifyRecent().intact, "the genuine manifest passes again")
    }
}
