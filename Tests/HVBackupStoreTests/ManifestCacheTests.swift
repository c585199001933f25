import Foundation
@testable import HVBackupStore
import HVSystem
import Synchronization
import Testing

/// Listing the backups reads only the manifests that are new or were rewritten since the last
/// listing, and still sees every change made to the repository meanwhile.
@Suite struct ManifestCacheTests {
    let scratch: Scratch
    let repository: Repository

    init() throws {
        scratch = try Scratch()
        repository = try scratch.create()
    }

    var reads: Int { repository.manifestReads.load(ordering: .relaxed) }

    @Test func aSecondListingOfAnUnchangedRepositoryReadsNoManifest() throws {
        try backUp(repository, disks: [("vda", image(chunks: 1))])
        try backUp(repository, machine: "db1", disks: [("vda", image(chunks: 1))])
        let first = try repository.backups()
        let before = reads
        #expect(try repository.backups() == first)
        #expect(try repository.backups(machine: "db1") == first.filter { $0.machine == "db1" })
        #expect(reads == before)
    }

    @Test func aRecordedCheckIsReadAgain() throws {
        let manifest = try backUp(repository, disks: [("vda", image(chunks: 1))])
        _ = try repository.backups()
        _ = try repository.verify(manifest.id)
        let before = reads
        let listed = try #require(try repository.backups().first)
        #expect(reads == before + 1)
        #expect(listed.disk("vda")?.verifications.count == 1)
        #expect(try listed == repository.manifest(manifest.id))
    }

    @Test func aNewBackupAppearsAndADeletedOneDisappears() throws {
        let kept = try backUp(repository, disks: [("vda", image(chunks: 1))])
        let deleted = try backUp(repository, machine: "db1", disks: [("vda", image(chunks: 1))])
        #expect(try repository.backups().map(\.id).sorted() == [kept.id, deleted.id].sorted())

        try repository.delete(deleted.id)
        let added = try backUp(repository, machine: "mail1", disks: [("vda", image(chunks: 1))])
        let before = reads
        #expect(try repository.backups().map(\.id).sorted() == [kept.id, added.id].sorted())
        #expect(reads == before + 1, "only the new backup's manifest is read")
        #expect(repository.manifestCache.count == 2, "the deleted backup's entry is dropped")

        // A directory removed behind the repository's back, as an administrator might.
        try FileManager.default.removeItem(atPath: "\(repository.path)/backups/\(added.id)")
        #expect(try repository.backups().map(\.id) == [kept.id])
        #expect(repository.manifestCache.count == 1)
    }

    @Test func aManifestReplacedByGarbageIsReportedAsAnUncachedListingReportsIt() throws {
        let manifest = try backUp(repository, disks: [("vda", image(chunks: 1))])
        _ = try repository.backups()
        let path = "\(repository.path)/backups/\(manifest.id)/manifest.json"
        try put(path + ".new", Array("{\"not\": \"a manifest\"}".utf8))
        #expect(rename(path + ".new", path) == 0)

        let cached = #expect(throws: BackupError.self) { try repository.backups() }
        let uncached = #expect(throws: BackupError.self) { try Repository.open(at: repository.path).backups() }
        #expect(cached?.code == .corrupt)
        #expect(cached == uncached)
    }
}
