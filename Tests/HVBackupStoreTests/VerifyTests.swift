import Foundation
import Glibc
@testable import HVBackupStore
import HVSystem
import HVTestSupport
import Testing

/// Verification reads every chunk a backup uses, names each bad or missing one by backup, disk
/// and chunk, records the result, and sets bad chunks aside so that they are written anew.
@Suite struct VerifyTests {
    let scratch: Scratch
    let repository: Repository

    init() throws {
        scratch = try Scratch()
        repository = try scratch.create()
    }

    /// A corrupted chunk is found where the backup uses it, renamed `.bad`, and recorded in the
    /// manifest; the next backup of the same data stores the chunk again, and both verify good.
    @Test func aCorruptedChunkIsFoundSetAsideAndWrittenAnew() throws {
        let vda = image(chunks: 3)
        let vdb = image(chunks: 8, tail: 5)
        let first = try backUp(repository, disks: [("vda", vda), ("vdb", vdb)])
        #expect(try repository.verify(first.id).ok)
        let damaged = try digests(repository, first.id, disk: "vdb")[5]
        try corrupt(chunkPath(repository, damaged))

        let report = try repository.verify(first.id)
        #expect(!report.ok && report.recorded)
        let problem = try #require(report.problems.first)
        #expect(report.problems.count == 1)
        #expect(problem.backup == first.id && problem.disk == "vdb" && problem.chunkIndex == 5 && !problem.missing)
        #expect(problem.digest == damaged.description && problem.reason.contains("does not hash to its name"))
        #expect(!FileManager.default.fileExists(atPath: chunkPath(repository, damaged)))
        #expect(FileManager.default.fileExists(atPath: chunkPath(repository, damaged) + ".bad"))
        let recorded = try repository.manifest(first.id)
        #expect(recorded.disk("vdb")?.verifications.map(\.ok) == [true, false])
        #expect(recorded.disk("vdb")?.verifications.last?.bad == 1 && recorded.disk("vdb")?.verifications.last?.chunks == 9)
        #expect(recorded.disk("vda")?.verifications.map(\.ok) == [true, true])

        // The set-aside chunk reads as missing now, and no backup reuses it.
        let again = try repository.verify(first.id)
        #expect(again.problems.map(\.missing) == [true] && again.problems.first?.reason.contains("set aside") == true)
        let second = try backUp(repository, disks: [("vdb", vdb)])
        #expect(second.disk("vdb")?.bytesStored == 4096, "the bad chunk was written anew")
        #expect(try repository.verify(second.id).ok)
        #expect(try repository.verify(first.id).ok, "the chunk is good again for the first backup too")
        #expect(try restore(repository, first.id, disk: "vdb", into: scratch.file("vdb")) == vdb)
    }

    /// A missing chunk is reported at every place the backup uses it, and counted once.
    @Test func aMissingChunkIsReportedWhereverItIsUsed() throws {
        let piece = randomBytes(4096)
        let disk = piece + randomBytes(4096) + piece
        let manifest = try backUp(repository, disks: [("vda", disk)])
        try FileManager.default.removeItem(atPath: chunkPath(repository, try digests(repository, manifest.id, disk: "vda")[0]))
        let report = try repository.verify(manifest.id)
        #expect(report.problems.map(\.chunkIndex) == [0, 2] && report.problems.allSatisfy(\.missing))
        #expect(report.chunksChecked == 2 && report.bytesChecked == 2 * 4096)
        let result = try #require(try repository.manifest(manifest.id).disk("vda")?.verifications.last)
        #expect(result.missing == 2 && result.bad == 0 && !result.ok)
    }

    /// Progress counts up to the total in the bytes of the distinct chunks read.
    @Test func progressReachesTheTotal() throws {
        let manifest = try backUp(repository, disks: [("vda", image(chunks: 10, tail: 100, zero: [2, 3]))])
        var seen: [BackupProgress] = []
        let report = try repository.verify(manifest.id) { seen.append($0) }
        #expect(seen.count == 10, "9 distinct data chunks and one zero chunk")
        #expect(seen.last == BackupProgress(bytesDone: 8 * 4096 + 100 + 4096, bytesTotal: 8 * 4096 + 100 + 4096))
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.bytesDone < $1.bytesDone })
        #expect(report.bytesChecked == seen.last?.bytesDone && report.bytesPerSecond > 0)
    }

    /// A rough measure, printed: 64 MiB in 4 MiB chunks written, then verified from the page
    /// cache, in the clear and encrypted.
    @Test func verificationThroughput() throws {
        let block = randomBytes(4 << 20)
        var disk: [UInt8] = []
        for index in 0..<16 {
            var chunk = block
            chunk.replaceSubrange(0..<8, with: withUnsafeBytes(of: index) { Array($0) })
            disk += chunk
        }
        for key in [nil, try KeyFile.generate(at: scratch.file("measure.key"))] {
            let scratch = try Scratch()
            let repository = try scratch.create(chunkSize: 4 << 20, key: key)
            let clock = ContinuousClock()
            var manifest: BackupManifest?
            let writing = try clock.measure { manifest = try backUp(repository, disks: [("vda", disk)]) }
            let report = try repository.verify(try #require(manifest).id)
            #expect(report.ok && report.bytesChecked == 64 << 20)
            let seconds = Double(writing.components.seconds) + Double(writing.components.attoseconds) / 1e18
            print(
                "\(key == nil ? "in the clear" : "encrypted"): 64 MiB backed up at \(Int(64 / seconds)) MiB/s, "
                    + "verified at \(Int(report.bytesPerSecond / 1_048_576)) MiB/s in \(report.duration)")
        }
    }

    /// A verification of a backup deleted meanwhile does not bring its manifest back.
    @Test func aDeletedBackupIsNotRecordedInto() throws {
        let manifest = try backUp(repository, disks: [("vda", image(chunks: 2))])
        let id = manifest.id
        let recorded = try repository.updateManifest(id) { _ in }
        #expect(recorded)
        try repository.delete(id)
        #expect(try repository.updateManifest(id) { _ in } == false)
        // Only the name the deletion left for copies that follow the repository.
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.path + "/backups") == [Repository.deletedDirectory])
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.path + "/backups/" + Repository.deletedDirectory) == [id])
    }
}
