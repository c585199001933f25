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

    /// A chunk written to a temporary file by `writeTemporary`, not yet flushed nor in place.
    struct TemporaryChunk: Sendable {
        let digest: ChunkDigest
        /// The file's name in `tmp/`.
        let name: String
        /// Bytes of plaintext.
        let bytes: Int
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

    /// Whether the chunk `digest` is in the store, touched so that it is recent when it is. The
    /// touch runs under `lock` held shared, so the collector never removes a chunk between a
    /// writer finding it and relying on it.
    func isPresent(_ digest: ChunkDigest, lock: RepositoryLock) throws(SystemError) -> Bool {
        try lock.shared { () throws(SystemError) in try touch(digest) }
    }

    /// Writes the chunk `digest` from `plaintext` (sealed when the repository encrypts) to a new
    /// temporary file named after `prefix`, and starts writing it back to disk without waiting.
    /// It is in place only once `flush` and then `placeFlushed` ran.
    func writeTemporary(_ digest: ChunkDigest, plaintext: UnsafeRawBufferPointer, prefix: String) throws(SystemError) -> TemporaryChunk {
        let (name, file) = try temporary.createUnique(prefix: prefix)
        defer { file.close() }
        do throws(SystemError) {
            if let sealed = cipher.seal(chunk: plaintext, digest: digest) {
                try file.writeAll(sealed)
            } else {
                try file.writeAll(plaintext)
            }
            try file.startWriteback()
        } catch {
            try? temporary.removeEntry(name)
            throw SystemError("write chunk \(digest) to \(Repository.temporaryDirectory)/\(name)", code: error.code)
        }
        return TemporaryChunk(digest: digest, name: name, bytes: plaintext.count)
    }

    /// Flushes the repository's file system: every chunk written and every rename made before
    /// the call is on disk after it. One flush serves a whole batch of chunks.
    func flush() throws(SystemError) {
        try temporary.syncFileSystem()
    }

    /// Renames temporary chunks, flushed since they were written, into place, under one hold of
    /// `lock` shared. A chunk that appeared meanwhile (another writer stored the same bytes) is
    /// touched instead and its temporary file removed. Returns, for each chunk, whether it was placed.
    /// Their new directory entries are durable after the next `flush`.
    func placeFlushed(_ chunks: [TemporaryChunk], lock: RepositoryLock) throws(SystemError) -> [Bool] {
        try lock.shared { () throws(SystemError) -> [Bool] in
            var placed: [Bool] = []
            placed.reserveCapacity(chunks.count)
            for chunk in chunks {
                if try touch(chunk.digest) {
                    try? temporary.removeEntry(chunk.name)
                    placed.append(false)
                } else {
                    try renameIntoPlace(chunk.name, chunk.digest)
                    placed.append(true)
                }
            }
            return placed
        }
    }

    /// Renames the temporary file `name` to the chunk's path, making its fan-out directories when
    /// they are missing.
    private func renameIntoPlace(_ name: String, _ digest: ChunkDigest) throws(SystemError) {
        let (first, second) = Self.fanOut(digest)
        let path = Self.path(digest)
        for attempt in 0..<2 {
            if renameat(temporary.raw, name, directory.raw, path) == 0 { return }
            guard errno == ENOENT, attempt == 0 else { break }
            try makeDirectory(first)
            try makeDirectory("\(first)/\(second)")
        }
        throw SystemError("rename \(Repository.temporaryDirectory)/\(name) to chunks/\(path)")
    }

    /// Makes the directory `path` below `chunks/`, unless it is there already.
    private func makeDirectory(_ path: String) throws(SystemError) {
        guard mkdirat(directory.raw, path, 0o700) == 0 || errno == EEXIST else {
            throw SystemError("create chunks/\(path)")
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
