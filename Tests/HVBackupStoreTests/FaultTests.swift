import Foundation
import Glibc
@testable import HVBackupStore
import HVSystem
import HVTestSupport
import Testing

/// A backup that runs out of space fails cleanly: a typed error naming what failed, nothing of it
/// left (the new chunks it had not flushed yet go with it), and the backups before it intact.
@Suite(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
struct FaultTests {
    /// On an 8 MiB tmpfs, a first backup of 1 MiB fits and a second of 16 MiB does not.
    @Test func runningOutOfSpaceLeavesTheRepositoryConsistent() throws {
        let scratch = try Scratch()
        let mountPoint = scratch.file("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        let mounted = try run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint])
        guard mounted.status == 0 else {
            print("skipped: a tmpfs could not be mounted here: \(mounted.stderr)")
            return
        }
        defer { _ = try? run(["umount", mountPoint]) }

        let repository = try Repository.create(at: mountPoint + "/repository", chunkSize: 64 << 10)
        let first = image(chunks: 16, chunkSize: 64 << 10)
        let kept = try backUp(repository, disks: [("vda", first)])

        let writer = try BackupWriter.begin(in: repository, machine: "web1", parent: kept.id)
        let error = #expect(throws: BackupError.self) {
            try writeDisk(writer, target: "vda", image: image(chunks: 256, chunkSize: 64 << 10), previous: nil, chunkSize: 64 << 10)
        }
        #expect(error?.code == .noSpace)
        #expect(error?.reason.contains("cannot store chunk") == true && error?.reason.contains("of vda") == true, "\(error?.reason ?? "")")
        #expect(error?.reason.contains("No space left on device") == true)
        #expect(error?.fix?.contains("collect garbage") == true)

        // Nothing of the failed backup is left but the chunks it stored.
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.path + "/backups") == [kept.id])
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.path + "/writers").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.path + "/tmp").isEmpty)
        #expect(throws: BackupError.self) { try writer.finishDisk() }
        #expect(try repository.recover().isEmpty)
        #expect(try repository.verify(kept.id).ok)
        #expect(try restore(repository, kept.id, disk: "vda", into: scratch.file("restored")) == first)

        // Its new chunks waited in its batch, unflushed, and went with it: only the kept backup's
        // chunks are left, and there is room again.
        #expect(chunkFiles(repository).count == 16)
        age(repository)
        let collected = try repository.gc(safetyMargin: .zero)
        #expect(collected.chunksRemoved == 0 && collected.chunksKept == 16)
        let next = try backUp(repository, disks: [("vda", image(chunks: 16, chunkSize: 64 << 10))], parent: kept.id)
        #expect(try repository.verify(next.id).ok)
    }
}
