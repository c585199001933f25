import Foundation
import Glibc
import HVSystem
import Synchronization

/// A backup repository: a directory the administrator names (local, or a mounted NAS path) that
/// holds content-addressed chunks and the backups made of them.
///
/// - `repository.json`: format version, chunk size, encryption and the key's fingerprint;
/// - `repository.lock`: the lock between writers and the garbage collector's sweep;
/// - `chunks/ab/cd/<digest>`: each distinct chunk once;
/// - `backups/<id>/`: a manifest and one index per disk; `backups/.partial-<id>/` while written;
/// - `writers/<id>`: the writers at work; `tmp/`: chunks being written.
///
/// Every call blocks on file I/O; call it from a pool of threads for blocking work. Any number of
/// writers, readers, verifications, prunes and collections may run at once, in one process or
/// several: see docs/BACKUPS.md, "The repository layout", for why that is safe.
public final class Repository: Sendable {
    public static let defaultChunkSize = 256 << 10
    /// Chunk sizes are multiples of this, from it up to `maximumChunkSize`.
    public static let minimumChunkSize = 4096
    public static let maximumChunkSize = 64 << 20

    static let configurationFile = "repository.json"
    static let lockFile = "repository.lock"
    static let chunksDirectory = "chunks"
    static let backupsDirectory = "backups"
    static let writersDirectory = "writers"
    static let temporaryDirectory = "tmp"
    static let manifestFile = "manifest.json"
    static let partialPrefix = ".partial-"
    static let deletingPrefix = ".deleting-"
    /// `backups/.deleted/<id>`: an empty file for each backup deleted here, written before the
    /// backup goes. A copy that follows the repository's deletions (`remove_vanished`) removes
    /// only backups named here, so a new repository in the old one's place, or a backup that
    /// can't be read here, never empties a copy.
    public static let deletedDirectory = ".deleted"

    public let path: String
    public let chunkSize: Int
    /// The fingerprint of the key the repository is encrypted with; nil when it is not encrypted.
    public let keyFingerprint: String?

    let root: Descriptor
    let backups: Descriptor
    let writers: Descriptor
    let chunks: ChunkStore
    var cipher: Cipher { chunks.cipher }
    private let zeroDigests = Mutex<[Int: ChunkDigest]>([:])
    let manifestCache = ManifestCache()
    /// How many times a manifest was read and decoded.
    let manifestReads = Atomic<Int>(0)

    private init(path: String, root: Descriptor, configuration: Configuration, key: KeyFile?) throws(BackupError) {
        self.path = path
        self.root = root
        chunkSize = configuration.chunkSize
        keyFingerprint = configuration.keyFingerprint
        func directory(_ name: String) throws(BackupError) -> Descriptor {
            do {
                return try root.openAt(name, O_RDONLY | O_DIRECTORY)
            } catch {
                throw BackupError(
                    .corrupt, "the repository \(path) lacks its directory \(name): \(error.reason)",
                    fix: "check that the whole repository was mounted or copied")
            }
        }
        // Scratch a copy may lack (rclone does not copy empty directories to or from object
        // storage): made again, when the file system can be written.
        for name in [Self.writersDirectory, Self.temporaryDirectory] where (try? root.entryStatus(name)) == nil {
            _ = mkdirat(root.raw, name, 0o700)
        }
        if (try? root.entryStatus(Self.lockFile)) == nil {
            _ = try? root.openAt(Self.lockFile, O_WRONLY | O_CREAT, mode: 0o600)
        }
        backups = try directory(Self.backupsDirectory)
        writers = try directory(Self.writersDirectory)
        chunks = ChunkStore(
            directory: try directory(Self.chunksDirectory), temporary: try directory(Self.temporaryDirectory),
            cipher: Cipher(key: key), chunkSize: chunkSize)
    }

    // MARK: - Creating and opening

    /// Makes a new repository at `path`: a directory that does not exist yet, or an empty one (a
    /// freshly mounted file system). Encrypted with `key` when one is given.
    public static func create(at path: String, chunkSize: Int = defaultChunkSize, key: KeyFile? = nil) throws(BackupError) -> Repository {
        guard chunkSize >= minimumChunkSize, chunkSize <= maximumChunkSize, chunkSize % minimumChunkSize == 0 else {
            throw BackupError(
                .invalidArgument,
                "a chunk size of \(chunkSize) bytes is not usable: it must be a multiple of \(minimumChunkSize) up to \(maximumChunkSize)",
                fix: "leave the default, \(defaultChunkSize) bytes")
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw BackupError(SystemError("create \(path)"), doing: "create the repository")
        }
        let root = try catching("open the repository \(path)") { () throws(SystemError) in
            try Descriptor.open(path, O_RDONLY | O_DIRECTORY)
        }
        let present = try catching("list \(path)") { () throws(SystemError) in try root.entryNames() }
        if present.contains(configurationFile) {
            throw BackupError(.alreadyExists, "\(path) already holds a backup repository", fix: "open it instead")
        }
        // A file system's own lost+found does not make a mount point unusable.
        guard present.allSatisfy({ $0 == "lost+found" }) else {
            throw BackupError(
                .invalidState, "\(path) is not empty, and a repository needs a directory of its own",
                fix: "name an empty directory or one that does not exist yet")
        }
        let configuration = Configuration(
            format: Configuration.currentFormat, chunkSize: chunkSize, encryption: key == nil ? "none" : Configuration.aes256GCM,
            keyFingerprint: key?.fingerprint)
        try catching("create the repository at \(path)") { () throws(SystemError) in
            for name in [chunksDirectory, backupsDirectory, writersDirectory, temporaryDirectory] {
                try systemCall("create \(name)") { mkdirat(root.raw, name, 0o700) }
            }
            _ = try root.openAt(lockFile, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            // Written last: a directory without it is not a repository yet.
            try root.replaceEntry(configurationFile, with: configuration.encoded, mode: 0o600)
        }
        return try open(at: path, key: key)
    }

    /// Opens the repository at `path`, with `key` when it is encrypted.
    public static func open(at path: String, key: KeyFile? = nil) throws(BackupError) -> Repository {
        let root: Descriptor
        do {
            root = try Descriptor.open(path, O_RDONLY | O_DIRECTORY)
        } catch where error.code == ENOENT {
            throw BackupError(.notFound, "there is no repository at \(path)", fix: "check the path, or create the repository there")
        } catch {
            throw BackupError(error, doing: "open the repository \(path)")
        }
        let bytes: [UInt8]
        do {
            bytes = try root.openAt(configurationFile, O_RDONLY).readAll()
        } catch where error.code == ENOENT {
            throw BackupError(
                .notFound, "\(path) is not a backup repository: it has no \(configurationFile)",
                fix: "check the path (is the NAS mounted?), or create the repository there")
        } catch {
            throw BackupError(error, doing: "read \(path)/\(configurationFile)")
        }
        let configuration = try Configuration.decode(bytes, path: path)
        switch (configuration.keyFingerprint, key) {
        case (nil, nil):
            break
        case (nil, .some):
            throw BackupError(
                .wrongKey, "the repository \(path) is not encrypted, but a key was given", fix: "open it without a key")
        case (.some(let fingerprint), nil):
            throw BackupError(
                .keyRequired, "the repository \(path) is encrypted (key \(fingerprint)) and no key was given",
                fix: "name the key file it was created with")
        case (.some(let fingerprint), .some(let key)):
            guard key.fingerprint == fingerprint else {
                throw BackupError(
                    .wrongKey, "the key given (\(key.fingerprint)) is not the key of the repository \(path) (\(fingerprint))",
                    fix: "name the key file it was created with")
            }
        }
        return try Repository(path: path, root: root, configuration: configuration, key: key)
    }

    // MARK: - Backups

    /// The backups in the repository, oldest first; only `machine`'s when one is named. Reads
    /// only the manifests that are new or were rewritten since the last call (`ManifestCache`).
    public func backups(machine: String? = nil) throws(BackupError) -> [BackupManifest] {
        var manifests: [BackupManifest] = []
        var listed: [String: ManifestCache.Entry] = [:]
        for id in try backupIDs() {
            do throws(BackupError) {
                let entry = try cachedManifest(id)
                listed[id] = entry
                if machine == nil || entry.manifest.machine == machine { manifests.append(entry.manifest) }
            } catch where error.code == .notFound {
                // Deleted since the directory was listed.
            }
        }
        manifestCache.keep(listed)
        return manifests.sorted { ($0.time, $0.id) < ($1.time, $1.id) }
    }

    /// The manifest of `id` from the cache when its file is the one read before, else read.
    private func cachedManifest(_ id: String) throws(BackupError) -> ManifestCache.Entry {
        if let status = try? backups.entryStatus("\(id)/\(Self.manifestFile)") {
            let identity = ManifestCache.Identity(status)
            if let manifest = manifestCache.manifest(id, identity: identity) {
                return ManifestCache.Entry(identity: identity, manifest: manifest)
            }
        }
        // Absent or not readable: reading it reports why, as an uncached listing would.
        return try readManifest(id)
    }

    /// The ids of the complete backups, as the directory lists them.
    func backupIDs() throws(BackupError) -> [String] {
        try catching("list the backups of \(path)") { () throws(SystemError) in try backups.entryNames() }
            .filter(BackupID.isValid)
    }

    /// The manifest of the backup `id`.
    public func manifest(_ id: String) throws(BackupError) -> BackupManifest {
        try checkID(id)
        return try readManifest(id).manifest
    }

    /// Reads the manifest of `id`, with the identity of the file it read.
    private func readManifest(_ id: String) throws(BackupError) -> ManifestCache.Entry {
        manifestReads.add(1, ordering: .relaxed)
        let bytes: [UInt8]
        let status: stat
        do {
            let file = try backups.openAt("\(id)/\(Self.manifestFile)", O_RDONLY)
            status = try file.status()
            bytes = try file.readAll()
        } catch where error.code == ENOENT {
            throw notFound(id)
        } catch {
            throw BackupError(error, doing: "read the manifest of backup \(id)")
        }
        guard let opened = cipher.open(bytes, context: "manifest \(id)"), let manifest = BackupManifest.decode(opened),
            manifest.id == id
        else {
            throw BackupError(
                .corrupt, "the manifest of backup \(id) in \(path) is damaged or was not written for it",
                fix: "delete the backup; it cannot be restored")
        }
        return ManifestCache.Entry(identity: ManifestCache.Identity(status), manifest: manifest)
    }

    /// The index of `disk` in the backup `id`.
    func index(_ id: String, disk: BackupManifest.Disk) throws(BackupError) -> FixedIndex {
        let bytes: [UInt8]
        do {
            bytes = try backups.openAt("\(id)/\(disk.index)", O_RDONLY).readAll()
        } catch where error.code == ENOENT {
            throw BackupError(
                .corrupt, "backup \(id) lacks the index of its disk \(disk.target)", fix: "delete the backup; that disk cannot be restored")
        } catch {
            throw BackupError(error, doing: "read the index of \(disk.target) in backup \(id)")
        }
        guard let opened = cipher.open(bytes, context: "index \(id) \(disk.target)"),
            let index = FixedIndex(decoding: opened, chunkSize: chunkSize), index.geometry.size == disk.size
        else {
            throw BackupError(
                .corrupt, "the index of \(disk.target) in backup \(id) is damaged", fix: "delete the backup; that disk cannot be restored")
        }
        return index
    }

    /// Removes the backup `id`. Its chunks stay until the next garbage collection finds no other
    /// backup using them.
    public func delete(_ id: String) throws(BackupError) {
        try checkID(id)
        let directory: Descriptor
        do {
            directory = try backups.openAt(id, O_RDONLY | O_DIRECTORY)
        } catch where error.code == ENOENT {
            throw notFound(id)
        } catch {
            throw BackupError(error, doing: "open backup \(id)")
        }
        try catching("delete backup \(id)") { () throws(SystemError) in
            // Held while the backup is renamed away: a verification recording its result waits
            // for it and then finds the backup gone (`updateManifest`).
            try systemCall("lock backup \(id)") { flock(directory.raw, LOCK_EX) }
            try recordDeletion(id)
            let deleting = Self.deletingPrefix + id
            do throws(SystemError) {
                try backups.rename(id, to: deleting)
            } catch where error.code == ENOENT {
                return
            }
            try backups.sync()
            try removeDirectory(deleting, in: backups)
        }
    }

    /// Writes `backups/.deleted/<id>` and makes it durable, before backup `id` goes.
    private func recordDeletion(_ id: String) throws(SystemError) {
        let made = mkdirat(backups.raw, Self.deletedDirectory, 0o700) == 0
        guard made || errno == EEXIST else { throw SystemError("create \(Self.backupsDirectory)/\(Self.deletedDirectory)") }
        let deleted = try backups.openAt(Self.deletedDirectory, O_RDONLY | O_DIRECTORY)
        try deleted.openAt(id, O_WRONLY | O_CREAT, mode: 0o600).close()
        try deleted.sync()
        // The directory's own entry, once, when this deletion made it.
        if made { try backups.sync() }
    }

    /// Changes the manifest of the backup `id` unless the backup was deleted meanwhile; returns
    /// whether it did.
    func updateManifest(_ id: String, _ change: (inout BackupManifest) -> Void) throws(BackupError) -> Bool {
        let directory: Descriptor
        do {
            directory = try backups.openAt(id, O_RDONLY | O_DIRECTORY)
        } catch where error.code == ENOENT {
            return false
        } catch {
            throw BackupError(error, doing: "open backup \(id)")
        }
        return try catching("record in the manifest of backup \(id)") { () throws(SystemError) -> Bool in
            try systemCall("lock backup \(id)") { flock(directory.raw, LOCK_EX) }
            // Still the backup's directory? A deletion renames it away under the same lock.
            let held = try directory.status()
            guard let now = try backups.entryStatus(id), now.st_ino == held.st_ino, now.st_dev == held.st_dev else { return false }
            var manifest: BackupManifest
            do throws(BackupError) {
                manifest = try self.manifest(id)
            } catch {
                return false
            }
            change(&manifest)
            try directory.replaceEntry(Self.manifestFile, with: cipher.seal(manifest.encoded, context: "manifest \(id)"))
            return true
        }
    }

    /// The name of a chunk of `length` zero bytes.
    func zeroDigest(length: Int) -> ChunkDigest {
        if let known = zeroDigests.withLock({ $0[length] }) { return known }
        let zeros = [UInt8](repeating: 0, count: length)
        let digest = zeros.withUnsafeBytes { cipher.digest(of: $0) }
        zeroDigests.withLock { $0[length] = digest }
        return digest
    }

    func checkID(_ id: String) throws(BackupError) {
        guard BackupID.isValid(id) else {
            throw BackupError(.invalidArgument, "'\(id.prefix(80))' is not a backup id", fix: "list the backups to see their ids")
        }
    }

    func notFound(_ id: String) -> BackupError {
        BackupError(.notFound, "there is no backup \(id) in \(path)", fix: "list the backups to see their ids")
    }
}

/// Removes the directory `name` in `parent` and the files in it (backup directories hold no
/// directories); a missing directory is not an error.
func removeDirectory(_ name: String, in parent: Descriptor) throws(SystemError) {
    let directory: Descriptor
    do {
        directory = try parent.openAt(name, O_RDONLY | O_DIRECTORY)
    } catch where error.code == ENOENT {
        return
    }
    for entry in try directory.entryNames() { try directory.removeEntry(entry) }
    guard unlinkat(parent.raw, name, AT_REMOVEDIR) == 0 || errno == ENOENT else { throw SystemError("remove \(name)") }
}

extension Descriptor {
    /// The rest of the file from its start, read in one go when its size is known.
    func readAll() throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(Int(try status().st_size), 0) + 1)
        var done = 0
        while true {
            if done == bytes.count { bytes += [UInt8](repeating: 0, count: bytes.count) }
            let count = try bytes.withUnsafeMutableBytes { buffer in
                Result { () throws(SystemError) in
                    try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: UInt64(done))
                }
            }.get()
            if count == 0 { return Array(bytes[..<done]) }
            done += count
        }
    }
}
