import Foundation
import Glibc
@testable import HVBackupStore
import HVProtocol
import HVSystem
import HVTestSupport
import Testing

/// Backups restore to the bytes they were made of, full or incremental, and store each distinct
/// chunk once.
@Suite struct RoundTripTests {
    let scratch: Scratch
    let repository: Repository

    init() throws {
        scratch = try Scratch()
        repository = try scratch.create()
    }

    /// A machine's two disks backed up three times as they change (chunks rewritten, zeroed, the
    /// disk grown): every backup restores to the disks as they were at its time.
    @Test func fullAndIncrementalBackupsRestoreEachPointInTime() throws {
        let v0 = image(chunks: 40, tail: 1000, zero: [7, 8, 30])
        var v1 = v0
        v1.replaceSubrange(3 * 4096..<4 * 4096, with: randomBytes(4096))
        v1.replaceSubrange(17 * 4096..<18 * 4096, with: randomBytes(4096))
        var v2 = v1 + randomBytes(3 * 4096)
        v2.replaceSubrange(0..<4096, with: randomBytes(4096))
        v2.replaceSubrange(5 * 4096..<6 * 4096, with: [UInt8](repeating: 0, count: 4096))
        let other = image(chunks: 5, tail: 17)

        let hour = Date(timeIntervalSinceNow: -3600)
        let b0 = try backUp(repository, disks: [("vda", v0), ("vdb", other)], now: hour)
        let b1 = try backUp(
            repository, disks: [("vda", v1), ("vdb", other)], parent: b0.id, previous: ["vda": v0, "vdb": other],
            now: hour + 60)
        let b2 = try backUp(
            repository, disks: [("vda", v2), ("vdb", other)], parent: b1.id, previous: ["vda": v1, "vdb": other],
            now: hour + 120)

        for (backup, expected) in [(b0, v0), (b1, v1), (b2, v2)] {
            #expect(try restore(repository, backup.id, disk: "vda", into: scratch.file("vda")) == expected, "vda of \(backup.id)")
            #expect(try restore(repository, backup.id, disk: "vdb", into: scratch.file("vdb")) == other, "vdb of \(backup.id)")
        }
        #expect(b1.parent == b0.id && b2.parent == b1.id && b0.parent == nil)
        // Only the two changed chunks were read and stored for the first incremental backup.
        let vda1 = try #require(b1.disk("vda"))
        #expect(vda1.bytesRead == 2 * 4096 && vda1.bytesStored == 2 * 4096)
        #expect(b1.disk("vdb")?.bytesRead == 0 && b1.disk("vdb")?.bytesStored == 0)
        // Grown by three chunks' worth, chunk 0 rewritten, chunk 5 zeroed (declared, not read):
        // the old 1000-byte tail is now a full chunk 40, then 41, 42 and a 1000-byte 43.
        let vda2 = try #require(b2.disk("vda"))
        #expect(vda2.chunkCount == 44 && vda2.size == UInt64(v2.count))
        #expect(vda2.bytesRead == 4 * 4096 + 1000)
        #expect(try repository.backups().map(\.id) == [b0, b1, b2].map(\.id))
        #expect(try repository.manifest(b2.id) == b2, "the manifest read back is the one committed")
    }

    /// The same data backed up twice, even for another machine, is stored once; a chunk repeated
    /// within a disk too.
    @Test func theSameDataTwiceIsStoredOnce() throws {
        let piece = randomBytes(4096)
        let disk = piece + randomBytes(4096) + piece + piece
        let first = try backUp(repository, disks: [("vda", disk)])
        #expect(first.disk("vda")?.bytesStored == 2 * 4096 && first.disk("vda")?.bytesRead == 4 * 4096)
        #expect(chunkFiles(repository).count == 2)

        let second = try backUp(repository, machine: "db1", disks: [("vda", disk)])
        #expect(second.disk("vda")?.bytesStored == 0, "nothing new to store")
        #expect(second.disk("vda")?.bytesRead == 4 * 4096)
        #expect(chunkFiles(repository).count == 2)
        #expect(try restore(repository, second.id, disk: "vda", into: scratch.file("out")) == disk)
        #expect(try repository.backups(machine: "db1").map(\.id) == [second.id])
    }

    /// Extents declared zero are never handed in, reference one zero chunk per length, and
    /// restore as holes in a regular file.
    @Test func zeroExtentsCostNoReadsAndRestoreAsHoles() throws {
        let scratch = try Scratch()
        let repository = try scratch.create(chunkSize: 64 << 10)
        let size = 1024 * (64 << 10) + 100
        let data = randomBytes(64 << 10)
        let writer = try BackupWriter.begin(in: repository, machine: "web1")
        try writer.beginDisk(target: "vda", size: UInt64(size), format: "raw")
        for index in 0..<1025 where index != 10 { try writer.zero(chunkIndex: index) }
        try writer.write(chunkIndex: 10, data: data)
        let disk = try writer.finishDisk()
        let manifest = try writer.commit(spec: "", domainXML: "", frozen: false)

        #expect(disk.bytesRead == UInt64(data.count), "only the data chunk was handed in")
        #expect(disk.bytesStored == UInt64(64 << 10) * 2 + 100, "a full zero chunk, a 100-byte one and the data")
        #expect(chunkFiles(repository).count == 3)
        var expected = [UInt8](repeating: 0, count: size)
        expected.replaceSubrange(10 * (64 << 10)..<11 * (64 << 10), with: data)
        let path = scratch.file("restored")
        #expect(try restore(repository, manifest.id, disk: "vda", into: path) == expected)
        var info = stat()
        stat(path, &info)
        #expect(info.st_blocks * 512 < 1 << 20, "the zero chunks are holes: \(info.st_blocks * 512) bytes allocated of \(size)")
    }

    /// A chunk read back is checked against its name: a damaged one is refused, naming where it is.
    @Test func aDamagedChunkIsRefusedWhenRead() throws {
        let disk = image(chunks: 4)
        let manifest = try backUp(repository, disks: [("vda", disk)])
        let reader = try BackupReader(repository: repository, backup: manifest.id)
        #expect(try reader.readChunk(disk: "vda", index: 2) == Array(chunk(disk, 2, size: 4096)))
        try corrupt(chunkPath(repository, try digests(repository, manifest.id, disk: "vda")[2]))
        let error = #expect(throws: BackupError.self) { try reader.readChunk(disk: "vda", index: 2) }
        #expect(error?.code == .badChunk)
        #expect(error?.reason.contains("chunk 2 of vda in backup \(manifest.id)") == true, "\(error?.reason ?? "")")
    }

    /// A backup is not listed until it is committed, and an aborted one leaves nothing behind.
    /// A copy brought back from object storage lacks the empty directories and the empty lock
    /// file: it opens all the same, restores, and takes new backups.
    @Test func aCopyWithoutItsScratchDirectoriesOpensAndWorks() throws {
        let disk = image(chunks: 5)
        let first = try backUp(repository, disks: [("vda", disk)])
        for name in ["writers", "tmp", "repository.lock"] { try FileManager.default.removeItem(atPath: repository.path + "/" + name) }
        let reopened = try Repository.open(at: repository.path)
        #expect(try restore(reopened, first.id, disk: "vda", into: scratch.file("restored")) == disk)
        let second = try backUp(reopened, disks: [("vda", image(chunks: 5))])
        #expect(try reopened.verify(second.id).ok)
        for name in ["writers", "tmp", "repository.lock"] { #expect(FileManager.default.fileExists(atPath: repository.path + "/" + name)) }
    }

    @Test func aBackupAppearsOnlyWhenCommitted() throws {
        let writer = try BackupWriter.begin(in: repository, machine: "web1")
        try writeDisk(writer, target: "vda", image: image(chunks: 3), previous: nil, chunkSize: 4096)
        #expect(try repository.backups().isEmpty)
        #expect(FileManager.default.fileExists(atPath: repository.path + "/backups/.partial-" + writer.id))
        #expect(FileManager.default.fileExists(atPath: repository.path + "/writers/" + writer.id))
        let manifest = try writer.commit(spec: "s", domainXML: "d", frozen: false, checkpoint: "cp1")
        #expect(try repository.backups().map(\.id) == [manifest.id])
        #expect(manifest.checkpoint == "cp1" && manifest.spec == "s" && manifest.domainXML == "d" && manifest.frozen == false)
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.path + "/writers").isEmpty)

        let aborted = try BackupWriter.begin(in: repository, machine: "web1")
        try writeDisk(aborted, target: "vda", image: image(chunks: 3), previous: nil, chunkSize: 4096)
        aborted.abort()
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.path + "/backups") == [manifest.id])
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.path + "/writers").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.path + "/tmp").isEmpty)
        #expect(throws: BackupError.self) { try aborted.beginDisk(target: "vdb", size: 1, format: "raw") }
    }

    /// The writer refuses what does not fit the disk: a chunk of the wrong length or index, a
    /// disk left incomplete, a commit with a disk open; and a backup deleted is gone.
    @Test func theWriterRefusesMisuse() throws {
        let writer = try BackupWriter.begin(in: repository, machine: "web1")
        try writer.beginDisk(target: "vda", size: 3 * 4096 + 10, format: "raw")
        #expect(throws: BackupError.self) { try writer.write(chunkIndex: 3, data: randomBytes(4096)) }
        #expect(throws: BackupError.self) { try writer.write(chunkIndex: 4, data: randomBytes(10)) }
        #expect(throws: BackupError.self) { try writer.beginDisk(target: "vdb", size: 1, format: "raw") }
        try writer.write(chunkIndex: 3, data: randomBytes(10))
        let incomplete = #expect(throws: BackupError.self) { try writer.finishDisk() }
        #expect(incomplete?.code == .invalidState && incomplete?.reason.contains("the first 0, 1, 2") == true)
        #expect(throws: BackupError.self) { try writer.commit(spec: "", domainXML: "", frozen: false) }
        #expect(throws: BackupError.self) { try writer.keepFromParent(chunks: 0..<1) }
        for index in 0..<3 { try writer.zero(chunkIndex: index) }
        try writer.finishDisk()
        #expect(throws: BackupError.self) { try writer.beginDisk(target: "vda", size: 1, format: "raw") }
        #expect(throws: BackupError.self) { try writer.beginDisk(target: "../x", size: 1, format: "raw") }
        let manifest = try writer.commit(spec: "", domainXML: "", frozen: false)

        try repository.delete(manifest.id)
        #expect(try repository.backups().isEmpty)
        #expect((#expect(throws: BackupError.self) { try repository.manifest(manifest.id) })?.code == .notFound)
        #expect((#expect(throws: BackupError.self) { try repository.delete("../repository.json") })?.code == .invalidArgument)
        #expect(
            (#expect(throws: BackupError.self) { try BackupWriter.begin(in: repository, machine: "web1", parent: manifest.id) })?
                .code == .notFound)
    }

    /// Errors keep their kind on the wire: invalid input, missing things and state apart from failures.
    @Test(arguments: [
        (BackupError.Code.invalidArgument, HVError.Code.invalidParameter), (.notFound, .notFound), (.alreadyExists, .alreadyExists),
        (.invalidState, .invalidState), (.keyRequired, .invalidState), (.wrongKey, .invalidState), (.noSpace, .failed),
        (.ioFailed, .failed), (.corrupt, .failed), (.badChunk, .failed),
    ])
    func errorsKeepTheirKindOnTheWire(_ code: BackupError.Code, _ wire: HVError.Code) {
        let error = BackupError(code, "reason", fix: "fix")
        #expect(error.hvError == HVError(wire, "reason", fix: "fix"))
    }

    /// Opening checks what is there: no repository, a repository twice, an unusable chunk size.
    @Test func creatingAndOpeningRefuseWhatIsNotARepository() throws {
        #expect((#expect(throws: BackupError.self) { try Repository.open(at: scratch.file("none")) })?.code == .notFound)
        #expect((#expect(throws: BackupError.self) { try Repository.create(at: repository.path) })?.code == .alreadyExists)
        let full = scratch.file("full")
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: false)
        try put(full + "/something", [])
        #expect((#expect(throws: BackupError.self) { try Repository.create(at: full) })?.code == .invalidState)
        #expect((#expect(throws: BackupError.self) { try Repository.open(at: full) })?.code == .notFound)
        #expect(
            (#expect(throws: BackupError.self) { try Repository.create(at: scratch.file("odd"), chunkSize: 5000) })?.code
                == .invalidArgument)
        let reopened = try Repository.open(at: repository.path)
        #expect(reopened.chunkSize == 4096 && reopened.keyFingerprint == nil)
    }
}
