import Foundation
@testable import HVBackupStore
import Testing

/// New chunks wait in temporary files and are flushed and put in place a batch at a time
/// (`BackupWriter.flushChunks`, `flushBytes`): what a batch leaves where, at each step.
struct BatchedStoreTests {
    let chunkSize = 4096

    /// A new repository and a backup of disk `vda` begun in it, `count` random chunks handed in.
    func writing(_ scratch: Scratch, chunks count: Int) throws -> (Repository, BackupWriter, [UInt8]) {
        let repository = try scratch.create(chunkSize: chunkSize)
        let image = randomBytes(count * chunkSize)
        let writer = try BackupWriter.begin(in: repository, machine: "web1")
        try writer.beginDisk(target: "vda", size: UInt64(image.count), format: "qcow2")
        for index in 0..<count { try writer.write(chunkIndex: index, data: Array(chunk(image, index, size: chunkSize))) }
        return (repository, writer, image)
    }

    @Test func aBatchIsPutInPlaceWhenFullAndTheRestWhenTheDiskIsFinished() throws {
        let scratch = try Scratch()
        let count = BackupWriter.flushChunks + 76
        let (repository, writer, image) = try writing(scratch, chunks: count)

        #expect(chunkFiles(repository).count == BackupWriter.flushChunks, "the first full batch is in place")
        #expect(files(below: repository.path + "/tmp").count == 76, "the rest waits in temporary files")
        let disk = try writer.finishDisk()
        #expect(chunkFiles(repository).count == count)
        #expect(files(below: repository.path + "/tmp").isEmpty)
        #expect(disk.bytesStored == UInt64(image.count), "every chunk counts once, across batches")

        let manifest = try writer.commit(spec: "name: web1\n", domainXML: "<domain/>", frozen: false)
        #expect(try repository.verify(manifest.id).ok)
        #expect(try restore(repository, manifest.id, disk: "vda", into: scratch.file("vda.raw")) == image)
    }

    @Test func bytesRepeatedWithinABatchAreWrittenAndCountedOnce() throws {
        let scratch = try Scratch()
        let repository = try scratch.create(chunkSize: chunkSize)
        let unit = randomBytes(chunkSize)
        let image = Array([[UInt8]](repeating: unit, count: 8).joined()) + randomBytes(chunkSize)
        let manifest = try backUp(repository, disks: [("vda", image)])
        #expect(chunkFiles(repository).count == 2)
        #expect(manifest.disks[0].bytesStored == UInt64(2 * chunkSize))
        #expect(try restore(repository, manifest.id, disk: "vda", into: scratch.file("vda.raw")) == image)
    }

    @Test func anAbortedBackupLeavesNoTemporaryChunk() throws {
        let scratch = try Scratch()
        let (repository, writer, _) = try writing(scratch, chunks: BackupWriter.flushChunks + 10)
        #expect(files(below: repository.path + "/tmp").count == 10)
        writer.abort()
        #expect(files(below: repository.path + "/tmp").isEmpty, "the waiting batch is removed")
        #expect(chunkFiles(repository).count == BackupWriter.flushChunks, "placed chunks wait for the collector")
        #expect(try repository.backups().isEmpty)
    }

    /// The parent's chunk is gone (set aside as bad), and this backup already wrote the same
    /// bytes at another offset: the chunk waiting in the batch serves the parent's place too.
    @Test func aChunkWaitingInTheBatchServesAnUnchangedOne() throws {
        let scratch = try Scratch()
        let repository = try scratch.create(chunkSize: chunkSize)
        let image = randomBytes(8 * chunkSize)
        let full = try backUp(repository, disks: [("vda", image)])
        let lost = try digests(repository, full.id, disk: "vda")[3]
        try FileManager.default.removeItem(atPath: chunkPath(repository, lost))

        var changed = image
        changed.replaceSubrange(0..<chunkSize, with: chunk(image, 3, size: chunkSize))
        let writer = try BackupWriter.begin(in: repository, machine: "web1", parent: full.id)
        try writer.beginDisk(target: "vda", size: UInt64(changed.count), format: "qcow2")
        try writer.write(chunkIndex: 0, data: Array(chunk(changed, 0, size: chunkSize)))
        #expect(try writer.keepFromParent(chunks: 1..<8).isEmpty, "chunk 3 is kept: its bytes wait in the batch")
        try writer.finishDisk()
        let incremental = try writer.commit(spec: "name: web1\n", domainXML: "<domain/>", frozen: false)
        #expect(try repository.verify(incremental.id).ok)
        #expect(try restore(repository, incremental.id, disk: "vda", into: scratch.file("vda.raw")) == changed)
    }

    /// A failure aborts the writer, and every later call, from any thread, is refused with that
    /// failure: the cause, not a consequence of the abort (a temporary file it removed).
    @Test func callsAfterAFailureGetTheFailureThatAbortedTheWriter() throws {
        let scratch = try Scratch()
        let repository = try scratch.create(chunkSize: chunkSize)
        let image = randomBytes(4 * chunkSize)
        let writer = try BackupWriter.begin(in: repository, machine: "web1")
        try writer.beginDisk(target: "vda", size: UInt64(image.count), format: "qcow2")
        try writer.write(chunkIndex: 0, data: Array(chunk(image, 0, size: chunkSize)))
        try FileManager.default.removeItem(atPath: repository.path + "/tmp")

        let failure = #expect(throws: BackupError.self) { try writer.write(chunkIndex: 1, data: Array(chunk(image, 1, size: chunkSize))) }
        #expect(failure?.reason.contains("store chunk 1 of vda") == true, "\(String(describing: failure))")
        let later = #expect(throws: BackupError.self) { try writer.write(chunkIndex: 2, data: Array(chunk(image, 2, size: chunkSize))) }
        #expect(later?.reason == failure?.reason && later?.code == failure?.code)
        let finishing = #expect(throws: BackupError.self) { try writer.finishDisk() }
        #expect(finishing?.reason == failure?.reason)
        #expect(try repository.backups().isEmpty)
    }
}
