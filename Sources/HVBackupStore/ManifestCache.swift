import Glibc
import Synchronization

/// The manifests `Repository.backups` read, each with the identity of the file it was read from,
/// so that a listing (the monitor asks for every backup's state each collection cycle) lists
/// `backups/`, inspects each manifest, and reads only those that are new or were rewritten.
///
/// Anything may change the repository meanwhile: another process writing or deleting backups,
/// a copy made into it, an administrator removing a directory. A manifest is rewritten by renaming
/// a new file over it (`updateManifest`), which gives it another inode; a file written in place
/// changes its size, its modification time or at least its change time. A listing keeps only the
/// backups it found, so the cache never holds more than the repository does.
final class ManifestCache: Sendable {
    /// What tells one manifest file from another and from its own earlier contents.
    struct Identity: Hashable, Sendable {
        let device: UInt
        let inode: UInt
        let size: Int
        let modified: FileTime
        let changed: FileTime

        init(_ info: stat) {
            device = UInt(info.st_dev)
            inode = UInt(info.st_ino)
            size = Int(info.st_size)
            modified = FileTime(modificationOf: info)
            changed = FileTime(seconds: info.st_ctim.tv_sec, nanoseconds: info.st_ctim.tv_nsec)
        }
    }

    struct Entry: Sendable {
        let identity: Identity
        let manifest: BackupManifest
    }

    /// By backup id.
    private let entries = Mutex<[String: Entry]>([:])

    /// The manifest of `id` as read before, when its file is still the one it was read from.
    func manifest(_ id: String, identity: Identity) -> BackupManifest? {
        entries.withLock { entries in entries[id].flatMap { $0.identity == identity ? $0.manifest : nil } }
    }

    /// Replaces what the cache holds with a listing's manifests.
    func keep(_ listed: [String: Entry]) {
        entries.withLock { $0 = listed }
    }

    var count: Int { entries.withLock(\.count) }
}
