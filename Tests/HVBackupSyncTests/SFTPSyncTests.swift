import Foundation
import Glibc
import HVBackupStore
import HVBackupSync
import HVImages
import HVSystem
import HVTestSupport
import Testing

/// A repository copied to a second one over SFTP (a real OpenSSH server and rclone on this host):
/// the copy opens as a repository, verifies and restores; later copies send only what changed;
/// a copy cut off midway is completed; the wrong host key and another repository are refused.
@Suite(.serialized, .enabled(if: SFTPServer.available, "needs root, openssh-server (sshd) and rclone"))
final class SFTPSyncTests {
    let server: SFTPServer
    let scratch: TemporaryDirectory
    let chunkSize = 4096

    init() throws {
        server = try SFTPServer()
        scratch = try TemporaryDirectory("hv-sync")
    }

    deinit { scratch.remove() }

    var local: String { scratch.file("local") }
    var copy: String { scratch.file("copy") }

    /// Copies to the SFTP server; `removeVanished`: the copy follows the repository's deletions.
    func sync(to target: SyncTarget? = nil, removeVanished: Bool = false) throws -> RepositorySync.Report {
        let work = scratch.file("work")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let rclone = try Rclone(target: target ?? server.target(copy), runner: ProcessRunner(), workDirectory: work)
        let chunksInUse: (@Sendable ([String]) throws -> Set<String>)? =
            removeVanished ? { @Sendable [local] ids in try Repository.open(at: local).chunkPaths(usedBy: ids) } : nil
        return try RepositorySync(repository: local, rclone: rclone, chunksInUse: chunksInUse).run()
    }

    @Test func aCopyOverSFTPIsARepositoryAndLaterCopiesSendOnlyWhatChanged() throws {
        let repository = try Repository.create(at: local, chunkSize: chunkSize)
        var image = Self.bytes(chunks: 24)
        let first = try Self.backUp(repository, image)

        let initial = try sync()
        #expect(initial.backupsCopied == [first.id])
        #expect(initial.chunksCopied == Self.chunkFiles(local).count)
        #expect(initial.chunksAlreadyThere == 0)
        var copied = try Repository.open(at: copy)
        #expect(try copied.backups().map(\.id) == [first.id])
        #expect(try copied.verify(first.id).ok)
        #expect(try Self.restore(copied, first.id, into: scratch.file("restored-1")) == image)

        // The guest changes two chunks: the next copy sends those two and the new backup.
        for index in [3 * chunkSize + 7, 17 * chunkSize] { image[index] ^= 0xff }
        let second = try Self.backUp(repository, image, parent: first.id)
        let next = try sync()
        #expect(next.backupsCopied == [second.id])
        #expect(next.chunksCopied == 2)
        #expect(next.chunksAlreadyThere == Self.chunkFiles(local).count - 2)
        copied = try Repository.open(at: copy)
        #expect(try copied.verify(second.id).ok)
        #expect(try Self.restore(copied, second.id, into: scratch.file("restored-2")) == image)

        // Verifying here adds a result to the manifest: the copy gets the new manifest, no chunk.
        // The copy's own result for the second backup (verified there above) gives way to this
        // repository's manifest too: the copy follows the repository.
        #expect(try repository.verify(first.id).ok)
        let afterVerify = try sync()
        #expect(afterVerify.manifestsUpdated == [first.id, second.id])
        #expect(afterVerify.chunksCopied == 0 && afterVerify.backupsCopied.isEmpty)
        #expect(try Repository.open(at: copy).manifest(first.id).disks.first?.verifications.count == 1)

        // Deleted here, kept there.
        try repository.delete(first.id)
        let afterDelete = try sync()
        #expect(afterDelete.backupsOnlyThere == [first.id])
        #expect(afterDelete.backupsThere == 2)
        #expect(try Repository.open(at: copy).backups().map(\.id) == [first.id, second.id])
    }

    /// With `remove_vanished`, a backup pruned here leaves the copy after the next copy, and so do
    /// the chunks only it used; a chunk set aside as bad here stays there, since a backup there
    /// uses it; what a removal cut off midway left goes next time; and a repository with no
    /// backup at all empties nothing.
    @Test func aCopyThatFollowsDeletionsRemovesOnlyWhatNoBackupThereUses() throws {
        let repository = try Repository.create(at: local, chunkSize: chunkSize)
        var image = Self.bytes(chunks: 16)
        let first = try Self.backUp(repository, image)
        for index in [2 * chunkSize, 9 * chunkSize + 5] { image[index] ^= 0xff }
        let second = try Self.backUp(repository, image, parent: first.id)
        let initial = try sync(removeVanished: true)
        // Both made within a second: their ids sort by their random part.
        #expect(Set(initial.backupsCopied) == [first.id, second.id])
        #expect(initial.removed == RepositorySync.Removal(backups: [], chunks: 0, bytes: 0, chunksKeptBecause: nil))

        // Pruned and collected here: the first backup goes, and the two chunks only it used.
        try repository.delete(first.id)
        Self.age(chunksOf: local)
        #expect(try repository.gc(safetyMargin: .zero).chunksRemoved == 2)
        // A chunk of the second backup found bad here is set aside: the copy's good one must stay.
        let bad = try #require(Self.chunkFiles(local).first)
        try FileManager.default.moveItem(atPath: local + "/" + bad, toPath: local + "/" + bad + ".bad")

        let report = try sync(removeVanished: true)
        #expect(report.removed == RepositorySync.Removal(backups: [first.id], chunks: 2, bytes: Int64(2 * chunkSize), chunksKeptBecause: nil))
        #expect(report.backupsOnlyThere.isEmpty && report.backupsThere == 1)
        var copied = try Repository.open(at: copy)
        #expect(try copied.backups().map(\.id) == [second.id])
        #expect(Self.chunkFiles(copy) == (Self.chunkFiles(local) + [bad]).sorted())
        #expect(try copied.verify(second.id).ok)
        #expect(try Self.restore(copied, second.id, into: scratch.file("restored")) == image)

        // A removal cut off after the manifest: the index left behind goes with the next copy.
        try FileManager.default.createDirectory(atPath: "\(copy)/backups/\(first.id)", withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: "\(copy)/backups/\(first.id)/vda.fidx"))
        #expect(try sync(removeVanished: true).removed?.backups == [first.id])
        #expect(!FileManager.default.fileExists(atPath: "\(copy)/backups/\(first.id)"))

        // Every backup deleted here: the copy keeps its own, and the report says why.
        try repository.delete(second.id)
        let emptied = try sync(removeVanished: true)
        #expect(emptied.removed?.backups == [] && emptied.removed?.chunks == 0)
        #expect(emptied.removed?.chunksKeptBecause?.contains("holds no backup") == true)
        #expect(emptied.backupsOnlyThere == [second.id])
        copied = try Repository.open(at: copy)
        #expect(try copied.verify(second.id).ok)

        // A new repository in the old one's place (a disk replaced, a NAS not mounted at boot),
        // with the same repository.json and a backup of its own: it never deleted the copy's
        // backup, so that backup stays, and with it every chunk.
        try FileManager.default.removeItem(atPath: local)
        let replacement = try Repository.create(at: local, chunkSize: chunkSize)
        let newer = try Self.backUp(replacement, Self.bytes(chunks: 4))
        let chunksBefore = Self.chunkFiles(copy)
        let followed = try sync(removeVanished: true)
        #expect(followed.backupsCopied == [newer.id])
        #expect(followed.removed?.backups == [] && followed.removed?.chunks == 0, "\(followed)")
        #expect(followed.removed?.chunksKeptBecause?.contains("neither has nor deleted (\(second.id))") == true, "\(followed)")
        copied = try Repository.open(at: copy)
        #expect(Set(try copied.backups().map(\.id)) == [second.id, newer.id])
        #expect(Set(Self.chunkFiles(copy)).isSuperset(of: chunksBefore))
        #expect(try copied.verify(second.id).ok)
        #expect(try copied.verify(newer.id).ok)
    }

    @Test func aCopyCutOffMidwayIsCompletedAndNeverShowsAHalfBackup() throws {
        let repository = try Repository.create(at: local, chunkSize: chunkSize)
        let image = Self.bytes(chunks: 16)
        let backup = try Self.backUp(repository, image)
        _ = try sync()
        // As if the copy had been cut off before the manifest and two chunks went out.
        let manifest = "\(copy)/backups/\(backup.id)/manifest.json"
        try FileManager.default.removeItem(atPath: manifest)
        for chunk in Self.chunkFiles(copy).prefix(2) { try FileManager.default.removeItem(atPath: copy + "/" + chunk) }
        #expect(try Repository.open(at: copy).backups().isEmpty, "a backup without its manifest is not shown")

        let report = try sync()
        #expect(report.chunksCopied == 2)
        #expect(report.backupsCopied == [backup.id])
        let copied = try Repository.open(at: copy)
        #expect(try copied.verify(backup.id).ok)
        #expect(try Self.restore(copied, backup.id, into: scratch.file("restored")) == image)
    }

    @Test func anEncryptedRepositoryIsCopiedWithoutItsKeyAndOpensOnlyWithIt() throws {
        let key = try KeyFile.generate(at: scratch.file("key"))
        let repository = try Repository.create(at: local, chunkSize: chunkSize, key: key)
        let image = Self.bytes(chunks: 8)
        let backup = try Self.backUp(repository, image, machine: "payroll-db")
        _ = try sync()
        #expect(throws: BackupError.self) { try Repository.open(at: copy) }
        let copied = try Repository.open(at: copy, key: key)
        #expect(try Self.restore(copied, backup.id, into: scratch.file("restored")) == image)
        let everything = Self.allBytes(below: copy)
        #expect(everything.range(of: Data("payroll-db".utf8)) == nil, "the copy names no machine")
        #expect(everything.range(of: Data(image[0..<64])) == nil, "the copy holds no plaintext")
    }

    @Test func aServerShowingAnotherHostKeyIsRefusedAndNothingIsSent() throws {
        let repository = try Repository.create(at: local, chunkSize: chunkSize)
        _ = try Self.backUp(repository, Self.bytes(chunks: 4))
        #expect {
            try sync(to: server.target(copy, knownHosts: "wrong_known_hosts"))
        } throws: { error in
            let error = error as? SyncError
            return error?.code == .transferFailed && error?.reason.contains("key mismatch") == true
        }
        #expect(!FileManager.default.fileExists(atPath: copy))
    }

    @Test func aDirectoryHoldingAnotherRepositoryOrOtherFilesIsRefused() throws {
        let repository = try Repository.create(at: local, chunkSize: chunkSize)
        _ = try Self.backUp(repository, Self.bytes(chunks: 4))
        _ = try Repository.create(at: copy, chunkSize: 8192)
        #expect { try sync() } throws: { ($0 as? SyncError)?.code == .otherRepository }

        let other = scratch.file("other")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try "not a repository".write(toFile: other + "/notes.txt", atomically: false, encoding: .utf8)
        #expect { try sync(to: server.target(other)) } throws: { ($0 as? SyncError)?.code == .otherRepository }
        #expect(try FileManager.default.contentsOfDirectory(atPath: other) == ["notes.txt"])
    }

    // MARK: - Helpers

    static func bytes(chunks: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<chunks * 4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func backUp(_ repository: Repository, _ image: [UInt8], parent: String? = nil, machine: String = "web1") throws -> BackupManifest {
        let writer = try BackupWriter.begin(in: repository, machine: machine, parent: parent, now: Date())
        try writer.beginDisk(target: "vda", size: UInt64(image.count), format: "qcow2")
        let size = repository.chunkSize
        for index in 0..<(image.count + size - 1) / size {
            try writer.write(chunkIndex: index, data: Array(image[index * size..<min(image.count, (index + 1) * size)]))
        }
        try writer.finishDisk()
        return try writer.commit(spec: "name: \(machine)\n", domainXML: "<domain><name>\(machine)</name></domain>", frozen: false, checkpoint: nil)
    }

    static func restore(_ repository: Repository, _ id: String, into path: String) throws -> [UInt8] {
        let file = try Descriptor.open(path, O_RDWR | O_CREAT | O_TRUNC, mode: 0o600)
        try BackupReader(repository: repository, backup: id).restore(disk: "vda", to: file)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Sets every chunk file's modification time an hour back, so a garbage collection without a
    /// safety margin may remove those no backup uses.
    static func age(chunksOf root: String) {
        for chunk in chunkFiles(root) {
            var times = [timespec(tv_sec: time(nil) - 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)]
            _ = utimensat(AT_FDCWD, root + "/" + chunk, &times, 0)
        }
    }

    /// The chunk files of a repository, by path inside it.
    static func chunkFiles(_ root: String) -> [String] {
        (FileManager.default.enumerator(atPath: root + "/chunks")?.allObjects as? [String] ?? [])
            .filter { $0.split(separator: "/").last?.count == 64 }.map { "chunks/" + $0 }.sorted()
    }

    static func allBytes(below root: String) -> Data {
        var all = Data()
        for case let name as String in FileManager.default.enumerator(atPath: root)?.allObjects ?? [] {
            if let data = FileManager.default.contents(atPath: root + "/" + name) { all.append(data) }
        }
        return all
    }
}

/// `hv-broker backup-sync REMOTE` as an administrator runs it: the remote named in a backup
/// configuration, the outcome kept in its work directory, a failure told and recorded.
@Suite(.serialized, .enabled(if: SFTPServer.available, "needs root, openssh-server (sshd) and rclone"))
final class BackupSyncCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static var broker: String { (ProcessInfo.processInfo.environment["HV_BIN_DIR"] ?? root + "/.build/debug") + "/hv-broker" }

    let server: SFTPServer
    let scratch: TemporaryDirectory

    init() throws {
        server = try SFTPServer()
        scratch = try TemporaryDirectory("hv-sync-command")
    }

    deinit { scratch.remove() }

    /// The remote `name` of repository `local` in backup.yaml, copying over SFTP to the scratch
    /// directory `copy`, trusting the host keys in the server's file `knownHosts`.
    private func remote(_ name: String, copy: String, knownHosts: String = "known_hosts") -> String {
        let keys = server.directory
        return """
              \(name):
                repository: local
                sftp: {host: 127.0.0.1, port: \(server.port), user: root, path: \(scratch.file(copy)),
                       identity_file: \(keys.file("client")), known_hosts_file: \(keys.file(knownHosts))}
            """
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: BackupSyncCommandTests.broker), "hv-broker is not built"))
    func theCommandCopiesToTheNamedRemoteAndRecordsTheOutcome() throws {
        let local = scratch.file("local")
        let repository = try Repository.create(at: local, chunkSize: 4096)
        let image = SFTPSyncTests.bytes(chunks: 6)
        let backup = try SFTPSyncTests.backUp(repository, image)
        let config = try scratch.write(
            "backup.yaml",
            """
            repositories:
              local: {path: \(local)}
            remotes:
            \(remote("offsite", copy: "copy"))
            \(remote("spoofed", copy: "other", knownHosts: "wrong_known_hosts"))

            """
        )
        let work = scratch.file("work")
        let copied = try run([Self.broker, "backup-sync", "offsite", "--config", config, "--work-dir", work, "--json"])
        #expect(copied.status == 0, "\(copied)")
        let report = try JSONDecoder().decode(RepositorySync.Report.self, from: Data(copied.stdout.utf8))
        #expect(report.backupsCopied == [backup.id])
        #expect(SyncState(directory: work + "/offsite").last()?.report == report)
        #expect(try Repository.open(at: scratch.file("copy")).verify(backup.id).ok)

        let refused = try run([Self.broker, "backup-sync", "spoofed", "--config", config, "--work-dir", work])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("key mismatch"), "\(refused)")
        let last = SyncState(directory: work + "/spoofed").last()
        #expect(last?.report == nil && last?.error?.contains("key mismatch") == true)

        // Without systemd the loop beside the broker asks for what is due: the remote copied to a
        // moment ago is not; the one that failed an hour ago and never copied to would be.
        let due = try run([Self.broker, "backup-sync", "--due", "--config", config, "--work-dir", work])
        #expect(due.status == 0 && due.stdout == "no copy is due\n", "\(due)")
        try FileManager.default.removeItem(atPath: work + "/offsite/last.json")
        let dueAgain = try run([Self.broker, "backup-sync", "--due", "--config", config, "--work-dir", work])
        #expect(dueAgain.status == 0, "\(dueAgain)")
        #expect(dueAgain.stdout.contains("backups in the copy: 1"), "the remote never copied to is copied: \(dueAgain)")
        #expect(try run([Self.broker, "backup-sync", "--config", config]).status != 0, "a remote or --due is needed")

        let unknown = try run([Self.broker, "backup-sync", "nas", "--config", config, "--work-dir", work])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("there is no remote named 'nas' (configured: offsite, spoofed)"), "\(unknown)")
    }

    /// A remote with `remove_vanished: true` of an encrypted repository: the command opens the
    /// repository with its key to read what the backups left in the copy use, and the backup
    /// deleted here leaves the copy.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: BackupSyncCommandTests.broker), "hv-broker is not built"))
    func aRemoteThatRemovesVanishedBackupsFollowsAnEncryptedRepository() throws {
        let local = scratch.file("local")
        let keyPath = scratch.file("repository.key")
        let key = try KeyFile.generate(at: keyPath)
        let repository = try Repository.create(at: local, chunkSize: 4096, key: key)
        let first = try SFTPSyncTests.backUp(repository, SFTPSyncTests.bytes(chunks: 4))
        let image = SFTPSyncTests.bytes(chunks: 4)
        let second = try SFTPSyncTests.backUp(repository, image)
        let config = try scratch.write(
            "backup.yaml",
            """
            repositories:
              local: {path: \(local), key_file: \(keyPath)}
            remotes:
            \(remote("offsite", copy: "copy"))
                remove_vanished: true

            """
        )
        let work = scratch.file("work")
        let arguments = [Self.broker, "backup-sync", "offsite", "--config", config, "--work-dir", work, "--json"]
        let copied = try run(arguments)
        #expect(copied.status == 0, "\(copied)")

        try repository.delete(first.id)
        let followed = try run(arguments)
        #expect(followed.status == 0, "\(followed)")
        let report = try JSONDecoder().decode(RepositorySync.Report.self, from: Data(followed.stdout.utf8))
        #expect(report.removed?.backups == [first.id], "\(followed)")
        #expect(report.removed?.chunks == 0, "the first backup's chunks are still here, until a collection removes them")
        let copy = try Repository.open(at: scratch.file("copy"), key: key)
        #expect(try copy.backups().map(\.id) == [second.id])
        #expect(try SFTPSyncTests.restore(copy, second.id, into: scratch.file("restored")) == image)
    }
}
