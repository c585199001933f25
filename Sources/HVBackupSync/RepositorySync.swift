import Foundation
import Glibc
import HVImages
import HVSystem
import Logging

/// Copies a local backup repository to a target through rclone, so that the copy is itself a
/// repository that opens, lists, verifies and restores on a host that never saw the original.
///
/// The order keeps the copy whole at every moment, on any remote (rclone's S3 has no rename):
/// `repository.json` first (so a half-made copy is recognised as this repository's), then every
/// chunk the copy lacks, then each new backup's indexes, and its manifest last: a backup appears
/// in the copy only once everything it names is there, and one cut off midway is simply copied
/// again. Chunks are named by their contents and never change, so one already there at its size
/// is never sent again. Manifests change (verification results are added): one whose size
/// differs is sent again. When rclone reports success, the copy is listed again and every file
/// checked for its size.
///
/// By default nothing is deleted from the copy: a backup pruned here stays there. With
/// `chunksInUse` set (`remove_vanished` in the backup configuration), the copy then follows this
/// repository's deletions (`VanishedRemoval`).
public struct RepositorySync: Sendable {
    /// How far a copy has come.
    public struct Progress: Sendable, Hashable {
        public var phase: String
        public var bytesDone: Int64
        public var bytesTotal: Int64
    }

    /// What a copy did.
    public struct Report: Sendable, Hashable, Codable {
        public var target: String
        public var chunksCopied: Int
        public var bytesCopied: Int64
        public var chunksAlreadyThere: Int
        /// Backups this copy added, oldest first.
        public var backupsCopied: [String]
        /// Backups whose manifest changed here (new verification results) and was sent again.
        public var manifestsUpdated: [String]
        /// Backups the copy now holds, and those only the copy holds (pruned here since).
        public var backupsThere: Int
        public var backupsOnlyThere: [String]
        /// What was removed from the copy because this repository no longer holds it; nil when
        /// the copy keeps everything.
        public var removed: Removal?
    }

    /// What a copy that follows this repository's deletions removed from it.
    public struct Removal: Sendable, Hashable, Codable {
        /// Backups that were only in the copy.
        public var backups: [String]
        /// Chunks neither this repository holds nor any backup left in the copy uses.
        public var chunks: Int
        public var bytes: Int64
        /// Why no chunk was removed this time, when none could safely be.
        public var chunksKeptBecause: String?

        public init(backups: [String], chunks: Int, bytes: Int64, chunksKeptBecause: String?) {
            self.backups = backups
            self.chunks = chunks
            self.bytes = bytes
            self.chunksKeptBecause = chunksKeptBecause
        }
    }

    /// Files per rclone run, and bytes, so progress moves and a failure costs little.
    static let batchFiles = 2048
    static let batchBytes: Int64 = 256 << 20

    public var repository: String
    public var rclone: Rclone
    /// Reads from this repository the chunks the named backups use, by path (`chunks/ab/cd/<digest>`);
    /// set, the copy follows this repository's deletions.
    public var chunksInUse: (@Sendable (_ backups: [String]) throws -> Set<String>)?
    var logger: Logger

    /// `repository`: the local repository's directory; `rclone` runs for the target and keeps its
    /// cache and file lists in its work directory, which holds the lock that lets one copy to a
    /// target run at a time. `chunksInUse`, when given, makes the copy follow this repository's
    /// deletions; it opens the repository (with its key, when it is encrypted) to read indexes.
    public init(
        repository: String, rclone: Rclone, chunksInUse: (@Sendable (_ backups: [String]) throws -> Set<String>)? = nil,
        logger: Logger = Logger(label: "org.hypernixos.backup-sync")
    ) {
        self.repository = repository
        self.rclone = rclone
        self.chunksInUse = chunksInUse
        self.logger = logger
    }

    public func run(progress: (Progress) -> Void = { _ in }) throws(SyncError) -> Report {
        let lock = try lockTarget()
        defer { lock.close() }
        let local = try LocalRepository.read(repository)
        progress(Progress(phase: "listing the copy", bytesDone: 0, bytesTotal: 0))
        var there = try listCopy()
        try checkIdentity(local, there)

        if there.sizes[LocalRepository.configurationFile] == nil {
            try send([LocalRepository.configurationFile, LocalRepository.lockFile], doing: "copy the repository's configuration")
            for directory in ["writers", "tmp"] {
                try rclone.run("mkdir", [rclone.target.location(directory)], doing: "make \(directory)/")
            }
        }

        let missing = local.chunks.filter { !there.holds($0.key, size: $0.value) }.sorted { $0.key < $1.key }
        let total = missing.reduce(Int64(0)) { $0 + $1.value }
        var done: Int64 = 0
        progress(Progress(phase: "copying chunks", bytesDone: 0, bytesTotal: total))
        var batch: [String] = []
        var batchBytes: Int64 = 0
        for (index, (path, size)) in missing.enumerated() {
            batch.append(path)
            batchBytes += size
            guard batch.count >= Self.batchFiles || batchBytes >= Self.batchBytes || index == missing.count - 1 else { continue }
            try send(batch, doing: "copy \(batch.count) chunks")
            done += batchBytes
            progress(Progress(phase: "copying chunks", bytesDone: done, bytesTotal: total))
            batch.removeAll(keepingCapacity: true)
            batchBytes = 0
        }

        let ids = local.backups.keys.sorted()
        let manifest = LocalRepository.manifestPath
        let new = ids.filter { there.sizes[manifest($0)] == nil }
        let indexes = new.flatMap { id in
            local.backups[id, default: [:]].filter { $0.key != manifest(id) && !there.holds($0.key, size: $0.value) }.keys.sorted()
        }
        progress(Progress(phase: "copying backups", bytesDone: done, bytesTotal: total))
        if !indexes.isEmpty { try send(indexes, doing: "copy the indexes of \(new.count) backups") }
        let manifests = ids.filter { id in
            local.backups[id, default: [:]][manifest(id)].map { !there.holds(manifest(id), size: $0) } ?? false
        }
        if !manifests.isEmpty { try send(manifests.map(manifest), doing: "copy the manifests of \(manifests.count) backups") }

        there = try listCopy()
        let expected = local.chunks.merging(local.backups.values.reduce(into: [:]) { $0.merge($1) { a, _ in a } }) { a, _ in a }
        let absent = expected.filter { !there.holds($0.key, size: $0.value) }.keys.sorted()
        guard absent.isEmpty else {
            throw SyncError(
                .incomplete,
                "after copying, \(rclone.target.description) lacks \(absent.count) files or holds them at another size, such as \(absent.prefix(3).joined(separator: ", "))",
                fix: "run the copy again; if it happens again, check the remote's free space and that nothing else writes there"
            )
        }
        let copiedIDs = Set(ids)
        var onlyThere = Set(there.sizes.keys.compactMap { path -> String? in
            let parts = path.split(separator: "/")
            guard parts.count == 3, parts[0] == "backups", parts[2] == Substring(LocalRepository.manifestFile) else { return nil }
            return String(parts[1])
        }).subtracting(copiedIDs).sorted()
        var removed: Removal?
        if let chunksInUse {
            progress(Progress(phase: "removing what is no longer here", bytesDone: total, bytesTotal: total))
            let removal = try VanishedRemoval(sync: self, chunksInUse: chunksInUse).run(copy: there, kept: ids, local: local)
            onlyThere.removeAll { removal.backups.contains($0) }
            removed = removal
        }
        let report = Report(
            target: rclone.target.description, chunksCopied: missing.count, bytesCopied: total,
            chunksAlreadyThere: local.chunks.count - missing.count, backupsCopied: new,
            manifestsUpdated: manifests.filter { !new.contains($0) }, backupsThere: ids.count + onlyThere.count, backupsOnlyThere: onlyThere,
            removed: removed
        )
        progress(Progress(phase: "done", bytesDone: total, bytesTotal: total))
        return report
    }

    /// The copy's files; none when its directory does not exist yet.
    func listCopy() throws(SyncError) -> RemoteListing {
        let output = try rclone.run(
            "lsf", ["-R", "--files-only", "--format", "sp", "--separator", ";", rclone.target.location()], doing: "list the copy", allowed: [3]
        )
        guard output.termination == .exited(0) else { return RemoteListing() }
        return try RemoteListing(parsing: output.stdoutText)
    }

    /// Refuses a target that holds another repository, or files that are not a repository's.
    func checkIdentity(_ local: LocalRepository, _ there: RemoteListing) throws(SyncError) {
        guard there.sizes[LocalRepository.configurationFile] != nil else {
            guard there.sizes.isEmpty else {
                throw SyncError(
                    .otherRepository, "\(rclone.target.description) holds \(there.sizes.count) files but no repository.json: it is not a copy of this repository",
                    fix: "name an empty directory, or this repository's existing copy, in the backup configuration"
                )
            }
            return
        }
        let output = try rclone.run("cat", [rclone.target.location(LocalRepository.configurationFile)], doing: "read the copy's repository.json")
        guard output.stdout == local.configuration else {
            throw SyncError(
                .otherRepository, "\(rclone.target.description) holds another repository (its repository.json differs: another chunk size or key)",
                fix: "name an empty directory, or this repository's existing copy, in the backup configuration"
            )
        }
    }

    /// Sends these files (paths inside the repository) to the same paths in the copy.
    func send(_ paths: [String], doing action: String) throws(SyncError) {
        let list = try fileList(paths)
        try rclone.run(
            "copy", [repository, rclone.target.location(), "--files-from-raw", list, "--no-traverse", "--ignore-times", "--transfers", "4"],
            doing: action
        )
    }

    /// Deletes these files (paths inside the copy) from the copy; one already gone is passed over.
    func delete(_ paths: [String], doing action: String) throws(SyncError) {
        let list = try fileList(paths)
        try rclone.run("delete", [rclone.target.location(), "--files-from-raw", list, "--no-traverse"], doing: action)
    }

    /// Writes `paths` to the list of files handed to rclone, and returns its path.
    private func fileList(_ paths: [String]) throws(SyncError) -> String {
        let list = rclone.workDirectory + "/files"
        do {
            let file = try Descriptor.open(list, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: 0o600)
            try file.writeAll(Array(paths.joined(separator: "\n").utf8) + [10])
        } catch {
            throw SyncError(.localUnreadable, "cannot write the list of files for rclone in \(rclone.workDirectory): \(error.description)")
        }
        return list
    }

    /// One copy to a target at a time: a lock in its work directory, released when the process ends.
    func lockTarget() throws(SyncError) -> Descriptor {
        let file: Descriptor
        do {
            file = try Descriptor.open(rclone.workDirectory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, mode: 0o600)
        } catch {
            throw SyncError(.localUnreadable, "cannot open \(rclone.workDirectory)/lock: \(error.description)")
        }
        guard flock(file.raw, LOCK_EX | LOCK_NB) == 0 else {
            throw SyncError(.busy, "another copy to \(rclone.target.description) is running", fix: "wait for it to finish")
        }
        return file
    }
}
