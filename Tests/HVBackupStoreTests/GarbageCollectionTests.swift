import Foundation
import Glibc
@testable import HVBackupStore
import HVSystem
import HVTestSupport
import Testing

/// Prune removes the backups its policy does not keep, and garbage collection the chunks no
/// backup uses, never one a backup or a writer at work may need.
@Suite struct GarbageCollectionTests {
    let scratch: Scratch
    let repository: Repository

    init() throws {
        scratch = try Scratch()
        repository = try scratch.create()
    }

    /// After a backup is deleted, exactly the chunks only it used are removed; the other backup
    /// still verifies and restores.
    @Test func collectionRemovesExactlyTheChunksNoBackupUses() throws {
        let shared = image(chunks: 4)
        let onlyFirst = image(chunks: 3)
        let first = try backUp(repository, disks: [("vda", shared), ("vdb", onlyFirst)])
        let second = try backUp(repository, disks: [("vda", shared)])
        #expect(chunkFiles(repository).count == 7)
        try repository.delete(first.id)
        age(repository)

        let report = try repository.gc(safetyMargin: .zero)
        #expect(report.chunksRemoved == 3 && report.bytesRemoved == 3 * 4096)
        #expect(report.chunksInUse == 4 && report.chunksKept == 4 && report.backups == 1 && report.liveWriters == 0)
        #expect(Set(chunkFiles(repository).map { String($0.suffix(64)) }) == Set(try digests(repository, second.id, disk: "vda").map(\.description)))
        #expect(try repository.verify(second.id).ok)
        #expect(try repository.gc(safetyMargin: .zero).chunksRemoved == 0, "a second collection finds nothing more")
    }

    /// A chunk nothing uses any more but touched within the safety margin stays, in case the
    /// clock was set back under a writer.
    @Test func recentlyTouchedChunksStayForTheMargin() throws {
        let manifest = try backUp(repository, disks: [("vda", image(chunks: 3))])
        try repository.delete(manifest.id)
        #expect(try repository.gc().chunksRemoved == 0)
        #expect(chunkFiles(repository).count == 3)
        age(repository, by: 600)
        #expect(try repository.gc().chunksRemoved == 3)
    }

    /// A damaged index stops the collection before anything is removed: what it references
    /// can't be known.
    @Test func anUnreadableIndexStopsTheCollection() throws {
        let kept = try backUp(repository, disks: [("vda", image(chunks: 3))])
        let deleted = try backUp(repository, disks: [("vda", image(chunks: 2))])
        try repository.delete(deleted.id)
        age(repository)
        try corrupt(repository.path + "/backups/\(kept.id)/vda.fidx")
        let error = #expect(throws: BackupError.self) { try repository.gc(safetyMargin: .zero) }
        #expect(error?.code == .corrupt && error?.reason.contains("stopped before removing anything") == true)
        #expect(chunkFiles(repository).count == 5)
    }

    /// Chunks set aside as bad go once nothing needs them or a good copy was written; one a
    /// backup still needs, with no good copy, stays as evidence.
    @Test func badChunksGoOnceNothingNeedsThem() throws {
        let disk = image(chunks: 2)
        let manifest = try backUp(repository, disks: [("vda", disk)])
        let chunks = try digests(repository, manifest.id, disk: "vda")
        try corrupt(chunkPath(repository, chunks[0]))
        try corrupt(chunkPath(repository, chunks[1]))
        #expect(try repository.verify(manifest.id).problems.count == 2)
        age(repository)
        #expect(try repository.gc(safetyMargin: .zero).badChunksRemoved == 0, "the backup still needs both")
        try backUp(repository, disks: [("vda", Array(chunk(disk, 0, size: 4096)))])
        #expect(try repository.gc(safetyMargin: .zero).badChunksRemoved == 1, "chunk 0 has a good copy again")
        try repository.delete(manifest.id)
        #expect(try repository.gc(safetyMargin: .zero).badChunksRemoved == 1)
        #expect(files(below: repository.path + "/chunks").allSatisfy { !$0.hasSuffix(".bad") })
    }

    /// Prune applies the policy to each machine on its own, removes the rest and collects their
    /// chunks; a dry run only decides; backups after `now` are left alone.
    @Test func pruneKeepsPerMachineAndCollects() throws {
        let day: TimeInterval = 86400
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        var ids: [String: [String]] = [:]
        for machine in ["web1", "db1"] {
            for offset in 0..<4 {
                let manifest = try backUp(
                    repository, machine: machine, disks: [("vda", image(chunks: 2))], now: start.addingTimeInterval(Double(offset) * day))
                ids[machine, default: []].append(manifest.id)
            }
        }
        let future = try backUp(repository, machine: "web1", disks: [("vda", image(chunks: 1))], now: start.addingTimeInterval(30 * day))
        age(repository)
        let policy = RetentionPolicy(last: 1, daily: 2)
        let now = start.addingTimeInterval(10 * day)

        let dry = try repository.prune(policy, now: now, dryRun: true, timeZone: .gmt, safetyMargin: .zero)
        #expect(dry.garbage == nil && dry.removed.count == 4)
        #expect(try repository.backups().count == 9)
        #expect(dry.entries.map(\.machine) == Array(repeating: "db1", count: 4) + Array(repeating: "web1", count: 4))
        #expect(dry.entries.first { $0.id == ids["web1"]![3] }?.reasons.map(\.description) == ["last", "daily"])
        #expect(dry.entries.first { $0.id == ids["web1"]![2] }?.reasons.map(\.description) == ["daily"])
        #expect(!dry.entries.contains { $0.id == future.id }, "a backup after now is not decided on")

        let report = try repository.prune(policy, now: now, timeZone: .gmt, safetyMargin: .zero)
        #expect(Set(report.removed.map(\.id)) == Set(ids["web1"]![0..<2] + ids["db1"]![0..<2]))
        #expect(try Set(repository.backups().map(\.id)) == Set(ids["web1"]![2...] + ids["db1"]![2...] + [future.id]))
        #expect(report.garbage?.chunksRemoved == 8 && chunkFiles(repository).count == 9)
        // Each backup pruned left its name in backups/.deleted, which a copy that follows the
        // repository reads; the backups kept left none, and the listing shows only backups.
        let deleted = try FileManager.default.contentsOfDirectory(atPath: repository.path + "/backups/" + Repository.deletedDirectory)
        #expect(Set(deleted) == Set(report.removed.map(\.id)))
        #expect(
            (#expect(throws: BackupError.self) { try repository.prune(RetentionPolicy(), now: now) })?.code == .invalidArgument)
    }
}
