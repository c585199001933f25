import Foundation
import HVAudit
import Testing

@Suite struct AuditChainTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hv-audit-\(UUID().uuidString)").path

    func record(_ index: Int) -> AuditRecord {
        AuditRecord(
            time: "2026-11-25T00:00:0\(index).000Z", uid: 1000, gid: 1000, pid: Int32(100 + index), executable: "/usr/bin/hv",
            method: "org.hypernixos.Vm.Start", action: "org.hypernixos.vm.start", target: "vm\(index)", decision: "allowed",
            result: "ok", durationMs: 1.5
        )
    }

    func writeLog(_ count: Int) async throws -> AuditLog {
        let log = try AuditLog(path: directory + "/audit.jsonl", journal: false)
        for index in 0..<count { try await log.append(record(index)) }
        return log
    }

    func lines(_ log: AuditLog) throws -> [String] {
        try String(contentsOfFile: log.path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func rewrite(_ log: AuditLog, _ lines: [String]) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: log.path, atomically: true, encoding: .utf8)
    }

    @Test func intactLogVerifies() async throws {
        let log = try await writeLog(5)
        let result = await log.verifyAll()
        #expect(result.intact)
        #expect(result.records == 5)
    }

    @Test func editedLineIsFound() async throws {
        let log = try await writeLog(5)
        var content = try lines(log)
        content[2] = content[2].replacingOccurrences(of: #""decision":"allowed""#, with: #""decision":"denied""#)
        try rewrite(log, content)
        let result = await log.verifyAll()
        #expect(!result.intact)
        #expect(result.brokenAtLine == 3)
        #expect(result.reason?.contains("changed") == true)
    }

    @Test func deletedLineIsFound() async throws {
        let log = try await writeLog(5)
        var content = try lines(log)
        content.remove(at: 1)
        try rewrite(log, content)
        let result = await log.verifyAll()
        #expect(!result.intact)
        #expect(result.brokenAtLine == 2)
    }

    @Test func truncatedTailIsFound() async throws {
        let log = try await writeLog(5)
        try rewrite(log, Array(try lines(log).dropLast()))
        let result = await log.verifyAll()
        #expect(!result.intact)
        #expect(result.reason?.contains("removed from the end") == true)
    }

    /// Recomputing one line's hash doesn't help: the next line still names the old one.
    @Test func rehashedForgeryIsFound() async throws {
        let log = try await writeLog(3)
        var content = try lines(log)
        var forged = try JSONDecoder().decode(AuditRecord.self, from: Data(content[0].utf8))
        forged.uid = 0
        forged.hash = AuditChain.hash(of: forged)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        content[0] = String(decoding: try encoder.encode(forged), as: UTF8.self)
        try rewrite(log, content)
        #expect(await log.verifyAll().brokenAtLine == 2)
    }

    /// A verify that read the head just before another request appended still passes.
    @Test func recordsAfterTheHeadAreFine() async throws {
        let log = try await writeLog(4)
        let contents = try #require(FileManager.default.contents(atPath: log.path))
        let lines = contents.split(separator: UInt8(ascii: "\n"))
        let second = try JSONDecoder().decode(AuditRecord.self, from: Data(lines[1]))
        #expect(AuditChain.verify(contents: contents, head: .init(seq: 2, hash: second.hash)).intact)
        #expect(!AuditChain.verify(contents: contents, head: .init(seq: 2, hash: AuditChain.genesis)).intact)
        #expect(!AuditChain.verify(contents: contents, head: .init(seq: 9, hash: second.hash)).intact)
    }

    @Test func reopenedLogContinuesTheChain() async throws {
        _ = try await writeLog(2)
        let reopened = try AuditLog(path: directory + "/audit.jsonl", journal: false)
        let third = try await reopened.append(record(9))
        #expect(third.seq == 3)
        #expect(await reopened.verifyAll().intact)
        #expect(AuditLog.verify(logAt: reopened.path).intact, "from the files alone, with the head file")
    }
}

@Suite struct AuditStartupTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("hv-audit-\(UUID().uuidString)/audit.jsonl").path

    func record(_ index: Int) -> AuditRecord {
        AuditRecord(
            time: "t", uid: 1, gid: 1, pid: 1, executable: "/usr/bin/hv", method: "m", action: "a", target: "vm\(index)",
            decision: "allowed", result: "ok", durationMs: 1
        )
    }

    /// A tail cut off while no broker ran is reported when the log is opened again.
    @Test func truncationWhileStoppedIsReported() async throws {
        do {
            let log = try AuditLog(path: path, journal: false)
            for index in 0..<3 { try await log.append(record(index)) }
            #expect(log.startupProblem == nil)
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let reopened = try AuditLog(path: path, journal: false)
        #expect(reopened.startupProblem?.contains("ends at record 2") == true)
    }

    @Test func tornLastLineIsEndedBeforeTheNextRecord() async throws {
        do {
            let log = try AuditLog(path: path, journal: false)
            try await log.append(record(0))
        }
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"seq":2,"tor"#.utf8))
        try handle.close()
        let reopened = try AuditLog(path: path, journal: false)
        try await reopened.append(record(1))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[2].hasPrefix("{\"action\""), "the new record starts its own line")
        #expect(await reopened.verifyAll().brokenAtLine == 2, "the torn line is reported, not hidden")
    }
}

/// The chain hashes records as `canonicalEncoder()` writes them; the writer and the verifier now
/// encode through `canonicalJSON`, which must write the very same bytes, or no old log would verify.
@Suite struct AuditCanonicalJSONTests {
    static let records: [AuditRecord] = [
        AuditRecord(
            seq: 1, time: "2026-11-25T00:00:00.000Z", uid: 0, gid: 0, pid: 1, executable: "/usr/bin/hv", method: "org.hypernixos.Vm.Info",
            action: "org.hypernixos.vm.info", target: "web", decision: "allowed", result: "ok", durationMs: 0.25, prev: AuditChain.genesis
        ),
        AuditRecord(
            seq: 2, time: "t", uid: .max, gid: 7, pid: .min, executable: "/a/b\\c \"quoted\" é 😀 \u{1}\u{1f}\t\n",
            method: "x/y", action: "", target: "…(1048576 bytes)", decision: "denied", result: "org.varlink.service.InvalidParameter",
            durationMs: 12345.678, coalesced: 312, prev: String(repeating: "a", count: 64), hash: String(repeating: "b", count: 64)
        ),
        AuditRecord(
            time: "", uid: 1, gid: 1, pid: 0, executable: "", method: "", action: "", target: "", decision: "invalid", result: "",
            durationMs: 1e-7
        ),
        AuditRecord(
            time: "", uid: 1, gid: 1, pid: 0, executable: "", method: "", action: "", target: "", decision: "audit", result: "",
            durationMs: 15_000.5, coalesced: 0
        ),
    ]

    @Test(arguments: records)
    func canonicalJSONIsTheCanonicalEncodersBytes(_ record: AuditRecord) throws {
        #expect(AuditChain.canonicalJSON(record) == Array(try AuditChain.canonicalEncoder().encode(record)))
    }

    @Test func durationsOfEveryMagnitudeAreWrittenAlike() throws {
        for exponent in -9...9 {
            for mantissa in [1.0, 1.5, 2.25, 3.14159, 9.999, 123.456] {
                var record = Self.records[0]
                record.durationMs = mantissa * pow(10, Double(exponent))
                #expect(AuditChain.canonicalJSON(record) == Array(try AuditChain.canonicalEncoder().encode(record)), "\(record.durationMs)")
            }
        }
    }
}
