import Glibc
import HVSystem

/// The chunks of a repository: `chunks/ab/cd/<digest hex>`, each distinct chunk stored once, fanned
/// out by the first four hex digits of its name. A chunk found bad is renamed `<digest hex>.bad`.
struct ChunkStore: Sendable {
    let directory: Descriptor
    /// `tmp/`: where chunks are written before they are renamed into place.
    let temporary: Descriptor
    let cipher: Cipher
    let chunkSize: Int

    /// What became of a chunk a writer referenced.
    enum Placement {
        /// It was there: its time is now the present.
        case present
        /// It was absent and is now written, `bytes` of plaintext.
        case written(bytes: Int, directories: Set<String>)
        /// It was absent, and the writer has no data to write it from.
        case missing
    }

    static func fanOut(_ digest: ChunkDigest) -> (String, String) {
        let text = digest.description
        return (String(text.prefix(2)), String(text.dropFirst(2).prefix(2)))
    }

    /// The chunk's path relative to `chunks/`.
    static func path(_ digest: ChunkDigest) -> String {
        let (first, second) = fanOut(digest)
        return "\(first)/\(second)/\(digest)"
    }

    /// Sets the chunk's modification time to now; false when there is no such chunk.
    func touch(_ digest: ChunkDigest) throws(SystemError) -> Bool {
        var times = [FileTime.omit, FileTime.now]
        let path = Self.path(digest)
        guard utimensat(directory.raw, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return false }
            throw SystemError("touch chunk \(digest)")
        }
        return true
    }

    /// Makes sure the chunk `digest` is in the store and recent: touched when it is there, written
    /// from `data` (its plaintext) when it is not and data is given. The touch, and the rename
    /// that puts a new chunk in place, run under `lock` held shared, so the collector never
    /// removes a chunk between a writer finding it and relying on it. The new chunk is written and
    /// flushed to a temporary file before the lock is taken; the directories a rename changed are
    /// returned, to be flushed before anything refers to the chunk.
    func place(
        _ digest: ChunkDigest, lock: RepositoryLock, temporaryPrefix: String, data: UnsafeRawBufferPointer?
    ) throws(SystemError) -> Placement {
        if try lock.shared({ () throws(SystemError) in try touch(digest) }) { return .present }
        guard let plaintext = data else { return .missing }
        let (name, file) = try temporary.createUnique(prefix: temporaryPrefix)
        var placed = false
        defer { if !placed { try? temporary.removeEntry(name) } }
        do throws(SystemError) {
            if let sealed = cipher.seal(chunk: plaintext, digest: digest) {
                try file.writeAll(sealed)
            } else {
                try file.writeAll(plaintext)
            }
            try file.sync()
        } catch {
            throw SystemError("write chunk \(digest) to \(Repository.temporaryDirectory)/\(name)", code: error.code)
        }
        file.close()
        return try lock.shared { () throws(SystemError) -> Placement in
            if try touch(digest) { return .present }
            let directories = try renameIntoPlace(name, digest)
            placed = true
            return .written(bytes: plaintext.count, directories: directories)
        }
    }

    /// Renames the temporary file `name` to the chunk's path, making its fan-out directories when
    /// they are missing. Returns the directories (relative to `chunks/`) whose entries changed.
    private func renameIntoPlace(_ name: String, _ digest: ChunkDigest) throws(SystemError) -> Set<String> {
        let (first, second) = Self.fanOut(digest)
        let path = Self.path(digest)
        var changed: Set<String> = ["\(first)/\(second)"]
        for attempt in 0..<2 {
            if renameat(temporary.raw, name, directory.raw, path) == 0 { return changed }
            guard errno == ENOENT, attempt == 0 else { break }
            if try makeDirectory(first) { changed.insert(".") }
            if try makeDirectory("\(first)/\(second)") { changed.insert(first) }
        }
        throw SystemError("rename \(Repository.temporaryDirectory)/\(name) to chunks/\(path)")
    }

    /// Makes the directory `path` below `chunks/`; false when it was there already.
    private func makeDirectory(_ path: String) throws(SystemError) -> Bool {
        guard mkdirat(directory.raw, path, 0o700) == 0 else {
            if errno == EEXIST { return false }
            throw SystemError("create chunks/\(path)")
        }
        return true
    }

    /// Flushes the directories (relative to `chunks/`) whose entries a writer changed.
    func syncDirectories(_ paths: Set<String>) throws(SystemError) {
        // The deepest first: a new fan-out directory is flushed before the entry naming it.
        for path in paths.sorted(by: { $0.count > $1.count }) {
            let folder = path == "." ? directory : try directory.openAt(path, O_RDONLY | O_DIRECTORY)
            try systemCall("flush chunks/\(path)") { fsync(folder.raw) }
        }
    }

    /// What reading a chunk back found.
    enum Loaded {
        case good([UInt8])
        case missing
        /// The chunk is there but is not what its name says: `reason` tells how.
        case bad(reason: String, file: stat)
    }

    /// Reads the chunk `digest` of `length` plaintext bytes into `buffer` (at least the chunk size
    /// plus the cipher's overhead), opens it when encrypted, and checks it hashes to its name.
    /// A good chunk's plaintext is returned when `keep` asks for it, else an empty array.
    func load(_ digest: ChunkDigest, length: Int, buffer: UnsafeMutableRawBufferPointer, keep: Bool) throws(SystemError) -> Loaded {
        let path = Self.path(digest)
        let file: Descriptor
        do {
            file = try directory.openAt(path, O_RDONLY)
        } catch where error.code == ENOENT {
            return .missing
        } catch {
            throw SystemError("open chunk \(digest)", code: error.code)
        }
        let info = try file.status()
        let expected = length + (cipher.isEncrypting ? Cipher.overhead : 0)
        guard info.st_size == expected else {
            return .bad(reason: "it is \(info.st_size) bytes long, not \(expected)", file: info)
        }
        var done = 0
        while done < expected {
            let count = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done..<expected]), at: UInt64(done))
            guard count > 0 else { return .bad(reason: "it ended after \(done) bytes", file: info) }
            done += count
        }
        let stored = UnsafeRawBufferPointer(rebasing: buffer[0..<expected])
        if cipher.isEncrypting {
            guard let plaintext = cipher.open(chunk: stored, digest: digest) else {
                return .bad(reason: "it does not decrypt under its name with the repository's key", file: info)
            }
            guard plaintext.withUnsafeBytes({ cipher.digest(of: $0) }) == digest else {
                return .bad(reason: "its plaintext does not hash to its name", file: info)
            }
            return .good(keep ? plaintext : [])
        }
        guard cipher.digest(of: stored) == digest else { return .bad(reason: "it does not hash to its name", file: info) }
        return .good(keep ? Array(stored) : [])
    }

    /// Renames a bad chunk to `<digest hex>.bad`, so that no writer reuses it and the next one to
    /// need it writes it anew; `file` is the chunk as it was read, so a good copy written since is
    /// left alone. Holds `lock` exclusive, so no writer touches the chunk meanwhile.
    func setAside(_ digest: ChunkDigest, file: stat, lock: RepositoryLock) throws(SystemError) {
        let path = Self.path(digest)
        try lock.exclusive { () throws(SystemError) in
            var now = stat()
            guard fstatat(directory.raw, path, &now, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            guard now.st_ino == file.st_ino, now.st_dev == file.st_dev else { return }
            try systemCall("rename chunks/\(path) to \(path).bad") { renameat(directory.raw, path, directory.raw, path + ".bad") }
        }
    }
}
