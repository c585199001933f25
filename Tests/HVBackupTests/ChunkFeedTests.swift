import Foundation
import Glibc
@testable import HVBackup
import HVBackupStore
import HVSystem
import HVTestSupport
import Testing

/// A reader's chunks fed to the repository's writer on the feed's own thread: the backup they
/// make, and what becomes of a failure on either side.
struct ChunkFeedTests {
    static let chunkSize = 4096

    /// A repository in a private directory, removed with it.
    final class Place {
        let directory: TemporaryDirectory
        let repository: Repository

        init() throws {
            directory = try TemporaryDirectory("hv-feed")
            repository = try Repository.create(at: directory.file("repository"), chunkSize: ChunkFeedTests.chunkSize)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory.path) }

        func restore(_ id: String, disk: String) throws -> [UInt8] {
            let path = directory.file(UUID().uuidString)
            let file = try Descriptor.open(path, O_RDWR | O_CREAT | O_TRUNC, mode: 0o600)
            try BackupReader(repository: repository, backup: id).restore(disk: disk, to: file)
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// Feeds `image` as disk `disk`: zero chunks as zero, chunks in `unchanged` as unchanged, the
    /// rest as data, in order.
    static func feed(_ feed: ChunkFeed, disk: String, _ image: [UInt8], unchanged: Set<Int> = []) throws {
        for index in 0..<(image.count / chunkSize) {
            let bytes = Array(image[index * chunkSize..<(index + 1) * chunkSize])
            func hand(_ content: DiskChunk.Content) throws {
                try feed.take(DiskChunk(
                    disk: disk, diskSize: UInt64(image.count), index: index, offset: UInt64(index * chunkSize), length: chunkSize,
                    content: content))
            }
            if unchanged.contains(index) {
                try hand(.unchanged)
            } else if bytes.allSatisfy({ $0 == 0 }) {
                try hand(.zero)
            } else {
                try bytes.withUnsafeBytes { try hand(.data($0)) }
            }
        }
    }

    /// More chunks than the feed has buffers, over two disks, the second incremental to the
    /// first backup, with one storing thread and with several: each backup restores byte for
    /// byte, and the formats are recorded.
    @Test(arguments: [1, 4])
    func aFedBackupRestoresEveryDiskAndKeepsUnchangedRuns(storers: Int) throws {
        let place = try Place()
        var first = Self.random(64 * Self.chunkSize)
        first.replaceSubrange((8 * Self.chunkSize)..<(10 * Self.chunkSize), with: [UInt8](repeating: 0, count: 2 * Self.chunkSize))
        let second = Self.random(16 * Self.chunkSize)

        let writer = try BackupWriter.begin(in: place.repository, machine: "web1")
        let feed = ChunkFeed(
            writer: writer, formats: ["vda": "qcow2"], chunkSize: Self.chunkSize, bufferBytes: 2 * Self.chunkSize, storers: storers)
        try Self.feed(feed, disk: "vda", first)
        try Self.feed(feed, disk: "vdb", second)
        try feed.finish()
        let full = try writer.commit(spec: "name: web1\n", domainXML: "<domain/>", frozen: false)
        #expect(full.disks.map(\.target) == ["vda", "vdb"])
        #expect(full.disks.map(\.format) == ["qcow2", "raw"])
        #expect(try place.restore(full.id, disk: "vda") == first)
        #expect(try place.restore(full.id, disk: "vdb") == second)
        #expect(feed.storingTime > .zero)

        var changed = first
        changed.replaceSubrange(0..<Self.chunkSize, with: Self.random(Self.chunkSize))
        let next = try BackupWriter.begin(in: place.repository, machine: "web1", parent: full.id)
        let incremental = ChunkFeed(writer: next, formats: [:], chunkSize: Self.chunkSize, storers: storers)
        try Self.feed(incremental, disk: "vda", changed, unchanged: Set(1..<64))
        try incremental.finish()
        let manifest = try next.commit(spec: "name: web1\n", domainXML: "<domain/>", frozen: false)
        #expect(manifest.disks[0].bytesRead == UInt64(Self.chunkSize), "only the changed chunk was handed in")
        #expect(try place.restore(manifest.id, disk: "vda") == changed)
    }

    /// The writer refuses a chunk (an index past the disk's end): the failure comes back to the
    /// reader, by a later `take` or by `finish`, and nothing more is stored.
    @Test func aWritersFailureReachesTheReader() throws {
        let place = try Place()
        let writer = try BackupWriter.begin(in: place.repository, machine: "web1")
        let feed = ChunkFeed(writer: writer, formats: [:], chunkSize: Self.chunkSize)
        let bytes = Self.random(Self.chunkSize)
        let error = #expect(throws: HVBackupStore.BackupError.self) {
            try bytes.withUnsafeBytes { buffer in
                try feed.take(DiskChunk(disk: "vda", diskSize: UInt64(Self.chunkSize), index: 5, offset: 0, length: Self.chunkSize, content: .data(buffer)))
                try feed.finish()
            }
        }
        #expect(error?.reason.contains("there is no chunk 5") == true, "\(String(describing: error))")
        #expect(throws: HVBackupStore.BackupError.self) { try feed.finish() }
        feed.cancel()
        writer.abort()
    }

    /// An unchanged run the parent can't supply (its chunk is gone): the feed says the backup
    /// must begin again in full.
    @Test func anUnchangedChunkTheParentLacksAsksForAFullBackup() throws {
        let place = try Place()
        let image = Self.random(4 * Self.chunkSize)
        let writer = try BackupWriter.begin(in: place.repository, machine: "web1")
        let feed = ChunkFeed(writer: writer, formats: [:], chunkSize: Self.chunkSize)
        try Self.feed(feed, disk: "vda", image)
        try feed.finish()
        let full = try writer.commit(spec: "", domainXML: "<domain/>", frozen: false)
        let chunks = place.directory.file("repository/chunks")
        for path in FileManager.default.enumerator(atPath: chunks)?.allObjects as? [String] ?? [] where path.count > 10 {
            try FileManager.default.removeItem(atPath: chunks + "/" + path)
        }

        let next = try BackupWriter.begin(in: place.repository, machine: "web1", parent: full.id)
        let incremental = ChunkFeed(writer: next, formats: [:], chunkSize: Self.chunkSize)
        #expect(throws: ParentIncomplete.self) {
            try Self.feed(incremental, disk: "vda", image, unchanged: Set(0..<4))
            try incremental.finish()
        }
        incremental.cancel()
        next.abort()
    }

    /// A feed given up while the reader still hands in chunks ends its thread and stores no more.
    @Test func aCancelledFeedEndsAtOnce() throws {
        let place = try Place()
        let writer = try BackupWriter.begin(in: place.repository, machine: "web1")
        let feed = ChunkFeed(writer: writer, formats: [:], chunkSize: Self.chunkSize, bufferBytes: 2 * Self.chunkSize)
        try Self.feed(feed, disk: "vda", Self.random(32 * Self.chunkSize))
        feed.cancel()
        feed.cancel()
        let bytes = Self.random(Self.chunkSize)
        #expect(throws: HVBackup.BackupError.self) {
            try bytes.withUnsafeBytes { buffer in
                try feed.take(DiskChunk(disk: "vda", diskSize: UInt64(32 * Self.chunkSize), index: 0, offset: 0, length: Self.chunkSize, content: .data(buffer)))
            }
        }
        writer.abort()
        #expect(try place.repository.backups().isEmpty)
    }
}
