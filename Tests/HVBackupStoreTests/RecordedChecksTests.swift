import Foundation
@testable import HVBackupStore
import HVProtocol
import HVTestSupport
import Testing

/// What a backup records of its checks: a failed verification names its bad chunks, boot tests
/// are kept newest last, and an incremental backup never keeps a chunk a verification found bad.
@Suite struct RecordedChecksTests {
    let scratch: Scratch
    let repository: Repository

    init() throws {
        scratch = try Scratch()
        repository = try scratch.create()
    }

    @Test func aFailedVerificationRecordsWhichChunksFailed() throws {
        let manifest = try backUp(repository, disks: [("vda", image(chunks: 4))])
        let damaged = try digests(repository, manifest.id, disk: "vda")[2]
        try corrupt(chunkPath(repository, damaged))
        _ = try repository.verify(manifest.id)
        let result = try #require(try repository.manifest(manifest.id).disk("vda")?.verifications.last)
        #expect(!result.ok)
        #expect(result.problems?.count == 1)
        let problem = try #require(result.problems?.first)
        #expect(problem.hasPrefix("backup \(manifest.id), disk vda, chunk 2 (\(damaged))"), "\(problem)")
    }

    @Test func aPassedVerificationRecordsNoProblems() throws {
        let manifest = try backUp(repository, disks: [("vda", image(chunks: 2))])
        _ = try repository.verify(manifest.id)
        #expect(try repository.manifest(manifest.id).disk("vda")?.verifications.last?.problems == nil)
    }

    @Test func bootTestsAreKeptNewestLastAndBounded() throws {
        let manifest = try backUp(repository, disks: [("vda", image(chunks: 1))])
        #expect(try repository.manifest(manifest.id).bootTests == nil)
        for second in 0..<(BackupManifest.maximumVerifications + 2) {
            let test = BackupBootTest(
                time: Int64(1_800_000_000 + second), ok: second.isMultiple(of: 2), signal: "console: login:",
                seconds: 12, problem: second.isMultiple(of: 2) ? nil : "no signal"
            )
            #expect(try repository.recordBootTest(manifest.id, test))
        }
        let tests = try #require(try repository.manifest(manifest.id).bootTests)
        #expect(tests.count == BackupManifest.maximumVerifications)
        #expect(tests.last?.time == Int64(1_800_000_000 + BackupManifest.maximumVerifications + 1))
        #expect(tests.last?.ok == false && tests.last?.problem == "no signal")
    }

    /// A manifest with boot tests, as the library wrote it before its boot tests were the wire's
    /// `BackupBootTest`: every time an ISO 8601 string.
    static let manifestWrittenBefore = """
        {
          "bootTests" : [
            {
              "ok" : false,
              "problem" : "no signal",
              "seconds" : 300.25,
              "time" : "2027-01-15T08:00:07Z"
            },
            {
              "ok" : true,
              "seconds" : 42,
              "signal" : "console: login:",
              "time" : "2027-01-16T08:00:00Z"
            }
          ],
          "disks" : [
            {
              "bytesRead" : 4096,
              "bytesStored" : 4096,
              "chunkCount" : 1,
              "format" : "qcow2",
              "index" : "vda.fidx",
              "size" : 4096,
              "target" : "vda",
              "verifications" : [
                {
                  "bad" : 0,
                  "chunks" : 1,
                  "missing" : 0,
                  "ok" : true,
                  "time" : "2027-01-15T07:30:00Z"
                }
              ]
            }
          ],
          "domainXML" : "<domain><name>web1</name></domain>",
          "format" : 1,
          "frozen" : true,
          "id" : "2027-01-15T07-00-00Z-0000abcd",
          "machine" : "web1",
          "spec" : "name: web1\\n",
          "time" : "2027-01-15T07:00:00Z"
        }
        """

    @Test func aManifestWrittenBeforeReadsAndIsWrittenTheSameWay() throws {
        let bytes = Array(Self.manifestWrittenBefore.utf8)
        let manifest = try #require(BackupManifest.decode(bytes))
        let tests = try #require(manifest.bootTests)
        #expect(tests[0] == BackupBootTest(time: 1_800_000_007, ok: false, signal: nil, seconds: 300.25, problem: "no signal"))
        #expect(tests[1] == BackupBootTest(time: 1_800_086_400, ok: true, signal: "console: login:", seconds: 42, problem: nil))

        let written = try JSONSerialization.jsonObject(with: Data(manifest.encoded)) as? NSDictionary
        let before = try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary
        #expect(written != nil && written == before)
    }

    @Test func aBootTestOfADeletedBackupIsNotRecorded() throws {
        let manifest = try backUp(repository, disks: [("vda", image(chunks: 1))])
        try repository.delete(manifest.id)
        let test = BackupBootTest(time: Int64(Date().timeIntervalSince1970), ok: true, signal: "guest agent", seconds: 3, problem: nil)
        #expect(try repository.recordBootTest(manifest.id, test) == false)
    }

    /// The chunk a verification set aside is not kept from the parent by an incremental backup
    /// whose disk did not change there: the writer hands it back to be read, and stores it anew.
    @Test func anIncrementalBackupNeverKeepsAChunkFoundBad() throws {
        let vda = image(chunks: 6)
        let first = try backUp(repository, disks: [("vda", vda)])
        let damaged = try digests(repository, first.id, disk: "vda")[3]
        try corrupt(chunkPath(repository, damaged))
        #expect(try !repository.verify(first.id).ok)

        let second = try backUp(repository, disks: [("vda", vda)], parent: first.id, previous: ["vda": vda])
        #expect(second.parent == first.id)
        #expect(second.disk("vda")?.bytesStored == UInt64(repository.chunkSize), "only the bad chunk was stored again")
        #expect(second.disk("vda")?.bytesRead == UInt64(repository.chunkSize), "and only it was read")
        #expect(FileManager.default.fileExists(atPath: chunkPath(repository, damaged)))
        #expect(try repository.verify(second.id).ok)
        #expect(try restore(repository, second.id, disk: "vda", into: scratch.file("vda")) == vda)
    }
}
