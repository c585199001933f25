import Foundation
import Glibc
import HVSystem
import Synchronization

/// Writes one backup of a machine: `begin`, then for each disk `beginDisk`, every chunk once
/// (`write`, `zero` or `keepFromParent`, in any order, from any number of threads) and
/// `finishDisk`; then `commit`, or `abort`.
///
/// The backup is built in `backups/.partial-<id>/` and appears, whole, when `commit` renames it
/// into place after every chunk it references and its indexes are on disk. New chunks are written
/// to temporary files and put in place in batches: one flush of the repository's file system for
/// each batch (`flushBytes`), before its renames, so no chunk ever stands half-written under its
/// name, and one more before the commit, for the renames. A failed system call
/// (a full disk, an I/O error) aborts the writer: the error names what failed, the partial
/// directory and temporary files are removed, and the repository is as it was, but for chunks
/// nothing references, which the next garbage collection removes. A writer let go of before it
/// committed aborts too.
public final class BackupWriter: Sendable {
    public let id: String
    public let machine: String
    /// When the backup started, in whole seconds.
    public let time: Date
    /// The backup this one is incremental to.
    public let parent: BackupManifest?

    private let repository: Repository
    private let lock: RepositoryLock
    private let registration: WriterRegistry.Registration
    private let partialName: String
    private let partial: Descriptor
    /// The parent's indexes by disk target.
    private let parentIndexes: [String: FixedIndex]
    private let state = Mutex(State())
    /// New chunks written to temporary files, waiting for the batch's flush.
    private let pending = Mutex(PendingChunks())
    /// Held while a batch is flushed and placed, so that one batch is flushed at a time and
    /// `finishDisk` and `commit` find every earlier batch in place.
    private let flushing = Mutex(())

    /// A batch is flushed and put in place when its chunks add up to this many bytes, or to
    /// `flushChunks` chunks.
    static let flushBytes = 128 << 20
    static let flushChunks = 1024

    private struct State {
        var phase = Phase.open
        var disk: Disk?
        /// Counts the disks begun, so a chunk handed in for a disk already finished is refused.
        var disksBegun = 0
        var finished: [BackupManifest.Disk] = []
        /// The failure that aborted the writer: what every later call is refused with.
        var cause: BackupError?
    }

    private struct PendingChunks {
        var chunks: [ChunkStore.TemporaryChunk] = []
        var digests: Set<ChunkDigest> = []
        var bytes = 0
    }

    private enum Phase { case open, committing, committed, aborted }

    private struct Disk {
        let target: String
        let format: String
        let geometry: ChunkGeometry
        let number: Int
        var digests: [ChunkDigest?]
        var bytesRead: UInt64 = 0
        var bytesStored: UInt64 = 0
    }

    /// The longest machine name, disk target and format recorded.
    public static let maximumNameLength = 256

    private init(
        repository: Repository, machine: String, time: Date, parent: BackupManifest?, parentIndexes: [String: FixedIndex]
    ) throws(BackupError) {
        self.repository = repository
        self.machine = machine
        self.time = time
        self.parent = parent
        self.parentIndexes = parentIndexes
        let id = BackupID.make(time: time)
        let partialName = Repository.partialPrefix + id
        self.id = id
        self.partialName = partialName
        lock = try catching("open \(Repository.lockFile)") { () throws(SystemError) in try RepositoryLock(in: repository.root) }
        // Registered before anything is touched: the collector spares what a registered writer touched.
        let registration = try catching("register the backup writer") { () throws(SystemError) in
            try WriterRegistry.register(id, in: repository.writers)
        }
        self.registration = registration
        do throws(SystemError) {
            try systemCall("create \(partialName)") { mkdirat(repository.backups.raw, partialName, 0o700) }
            partial = try repository.backups.openAt(partialName, O_RDONLY | O_DIRECTORY)
        } catch {
            WriterRegistry.unregister(id, registration, in: repository.writers)
            throw BackupError(error, doing: "start backup \(id)")
        }
    }

    deinit {
        abort()
    }

    /// Starts a backup of `machine`, incremental to the backup `parent` when one is named (it must
    /// be of the same machine).
    public static func begin(
        in repository: Repository, machine: String, parent: String? = nil, now: Date = Date()
    ) throws(BackupError) -> BackupWriter {
        try checkName(machine, what: "machine name")
        var parentManifest: BackupManifest?
        var parentIndexes: [String: FixedIndex] = [:]
        if let parent {
            do throws(BackupError) {
                parentManifest = try repository.manifest(parent)
            } catch where error.code == .notFound {
                throw BackupError(
                    .notFound, "the parent backup \(parent) is not in the repository",
                    fix: "make a full backup (no parent)")
            }
            guard parentManifest?.machine == machine else {
                throw BackupError(.invalidArgument, "the parent backup \(parent) is of another machine")
            }
            for disk in parentManifest?.disks ?? [] {
                parentIndexes[disk.target] = try repository.index(parent, disk: disk)
            }
        }
        let time = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        return try BackupWriter(
            repository: repository, machine: machine, time: time, parent: parentManifest, parentIndexes: parentIndexes)
    }

    // MARK: - Disks

    /// Starts the disk `target` (`vda`) of `size` bytes in `format` (`qcow2`); the disk before it
    /// must be finished.
    public func beginDisk(target: String, size: UInt64, format: String) throws(BackupError) {
        try Self.checkName(target, what: "disk target")
        try Self.checkName(format, what: "disk format")
        guard target.utf8.allSatisfy(Self.targetCharacters.contains), !target.hasPrefix(".") else {
            throw BackupError(.invalidArgument, "'\(target)' is not a disk target name", fix: "give the target as the domain names it (vda)")
        }
        guard size <= UInt64(Int64.max) else { throw BackupError(.invalidArgument, "a disk of \(size) bytes is too large") }
        try state.withLock { state throws(BackupError) in
            try Self.checkOpen(state)
            if let disk = state.disk {
                throw BackupError(.invalidState, "disk \(disk.target) is not finished", fix: "call finishDisk first")
            }
            guard !state.finished.contains(where: { $0.target == target }) else {
                throw BackupError(.invalidArgument, "disk \(target) is already in the backup")
            }
            state.disksBegun += 1
            let geometry = ChunkGeometry(chunkSize: repository.chunkSize, size: size)
            state.disk = Disk(
                target: target, format: format, geometry: geometry, number: state.disksBegun,
                digests: Array(repeating: nil, count: geometry.count))
        }
    }

    /// Stores chunk `chunkIndex` of the disk, `data` being all of it (the chunk size, shorter for
    /// a disk's last chunk). A chunk already in the repository is not written again.
    public func write(chunkIndex: Int, data: UnsafeRawBufferPointer) throws(BackupError) {
        let disk = try current(chunkIndex, length: data.count)
        let digest = repository.cipher.digest(of: data)
        try store(digest, data: data, chunk: chunkIndex, of: disk)
        try record([(chunkIndex, digest)], bytesRead: UInt64(data.count), in: disk)
    }

    /// Stores chunk `chunkIndex` of the disk from `data`.
    public func write(chunkIndex: Int, data: [UInt8]) throws(BackupError) {
        try data.withUnsafeBytes { buffer in Result { () throws(BackupError) in try write(chunkIndex: chunkIndex, data: buffer) } }.get()
    }

    /// Records chunk `chunkIndex` as all zeros, without the caller reading it: a hole, or an
    /// extent the disk reports as zero.
    public func zero(chunkIndex: Int) throws(BackupError) {
        let disk = try current(chunkIndex, length: nil)
        let digest = repository.zeroDigest(length: disk.geometry.length(chunkIndex))
        try storeZeros(digest, chunk: chunkIndex, of: disk)
        try record([(chunkIndex, digest)], bytesRead: 0, in: disk)
    }

    /// Records the chunks `chunks` as unchanged since the parent backup, reusing its index
    /// entries, and returns those that could not be kept: chunks the parent's disk did not have
    /// at that length, or whose stored chunk is gone (removed as bad, or collected after the
    /// parent was deleted). The caller reads those and hands them to `write`.
    public func keepFromParent(chunks: Range<Int>) throws(BackupError) -> [Int] {
        guard let first = chunks.first else { return [] }
        let disk = try current(first, length: nil)
        guard chunks.upperBound <= disk.geometry.count else { throw outOfRange(chunks.upperBound - 1, disk) }
        guard let parentIndex = parentIndexes[disk.target] else {
            throw BackupError(
                .invalidState,
                parent.map { "the parent backup \($0.id) has no disk \(disk.target)" } ?? "backup \(id) has no parent",
                fix: "read every chunk of the disk")
        }
        var reread: [Int] = []
        var batchStart = chunks.lowerBound
        while batchStart < chunks.upperBound {
            let batch = batchStart..<min(batchStart + 1024, chunks.upperBound)
            batchStart = batch.upperBound
            var candidates: [Int] = []
            for index in batch {
                // The parent's disk was smaller: it lacks this chunk, or had it shorter.
                let inParent = index < parentIndex.geometry.count && parentIndex.geometry.length(index) == disk.geometry.length(index)
                if inParent { candidates.append(index) } else { reread.append(index) }
            }
            // One hold of the lock for the whole batch: a touch per chunk, no data. A chunk this
            // backup wrote and has not put in place yet counts as present.
            let waiting = pending.withLock { $0.digests }
            let present = try failing("keep chunks \(batch) of \(disk.target) from the parent") { () throws(SystemError) in
                try lock.shared { () throws(SystemError) -> [Bool] in
                    var present: [Bool] = []
                    for index in candidates {
                        let digest = parentIndex.digests[index]
                        if waiting.contains(digest) {
                            present.append(true)
                        } else {
                            present.append(try repository.chunks.touch(digest))
                        }
                    }
                    return present
                }
            }
            var kept: [(Int, ChunkDigest)] = []
            for (index, isPresent) in zip(candidates, present) {
                let digest = parentIndex.digests[index]
                if isPresent {
                    kept.append((index, digest))
                } else if digest == repository.zeroDigest(length: disk.geometry.length(index)) {
                    kept.append((index, digest))
                    try storeZeros(digest, chunk: index, of: disk)
                } else {
                    reread.append(index)
                }
            }
            try record(kept, bytesRead: 0, in: disk)
        }
        return reread.sorted()
    }

    /// Writes the disk's index once every chunk is recorded, and returns its entry in the manifest.
    @discardableResult
    public func finishDisk() throws(BackupError) -> BackupManifest.Disk {
        try flushPending()
        let disk = try state.withLock { state throws(BackupError) -> Disk in
            try Self.checkOpen(state)
            guard let disk = state.disk else { throw BackupError(.invalidState, "no disk was begun", fix: "call beginDisk first") }
            let missing = disk.digests.indices.filter { disk.digests[$0] == nil }
            guard missing.isEmpty else {
                throw BackupError(
                    .invalidState,
                    "\(missing.count) chunks of \(disk.target) were not handed in, the first \(missing.prefix(8).map(String.init).joined(separator: ", "))",
                    fix: "write, zero or keep every chunk of the disk")
            }
            return disk
        }
        let index = FixedIndex(geometry: disk.geometry, digests: disk.digests.map { $0! })
        let name = disk.target + ".fidx"
        try failing("write the index of \(disk.target)") { () throws(SystemError) in
            let file = try partial.openAt(name, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            try file.writeAll(repository.cipher.seal(index.encoded, context: "index \(id) \(disk.target)"))
            try file.sync()
        }
        let entry = BackupManifest.Disk(
            target: disk.target, size: disk.geometry.size, format: disk.format, chunkCount: disk.geometry.count,
            bytesRead: disk.bytesRead, bytesStored: disk.bytesStored, index: name, verifications: [])
        try state.withLock { state throws(BackupError) in
            try Self.checkOpen(state)
            state.disk = nil
            state.finished.append(entry)
        }
        return entry
    }

    // MARK: - Ending

    /// Makes the backup visible, with the machine's `spec` record and `domainXML` as the caller
    /// gives them, whether the guest's file systems were `frozen`, and the disk `checkpoint` the
    /// next incremental backup starts from. Every disk must be finished.
    public func commit(spec: String, domainXML: String, frozen: Bool, checkpoint: String? = nil) throws(BackupError) -> BackupManifest {
        try flushPending()
        let disks = try state.withLock { state throws(BackupError) in
            try Self.checkOpen(state)
            if let disk = state.disk {
                throw BackupError(.invalidState, "disk \(disk.target) is not finished", fix: "call finishDisk first")
            }
            state.phase = .committing
            return state.finished
        }
        let manifest = BackupManifest(
            format: BackupManifest.currentFormat, id: id, machine: machine, time: time, parent: parent?.id, checkpoint: checkpoint,
            frozen: frozen, spec: spec, domainXML: domainXML, disks: disks)
        try failing("commit backup \(id)") { () throws(SystemError) in
            // The renames of the chunks placed since the last batch's flush.
            try repository.chunks.flush()
            try partial.replaceEntry(
                Repository.manifestFile, with: repository.cipher.seal(manifest.encoded, context: "manifest \(id)"))
            try repository.backups.rename(partialName, to: id)
            do throws(SystemError) {
                try repository.backups.sync()
            } catch {
                // Not known to be durable: taken back, so the backup is never half there.
                try? repository.backups.rename(id, to: partialName)
                throw error
            }
        }
        state.withLock { $0.phase = .committed }
        WriterRegistry.unregister(id, registration, in: repository.writers)
        return manifest
    }

    /// Gives the backup up: its partial directory and temporary files are removed. Chunks it
    /// stored stay until a garbage collection finds nothing using them. Does nothing once the
    /// backup is committed or aborted.
    public func abort() {
        _ = abort(because: nil)
    }

    /// Aborts the writer because of `failure`, and returns the failure that aborted it: this one,
    /// or the one that came first when another thread's call had already failed (its own failure
    /// is then only a consequence, such as a temporary file the abort removed).
    private func abort(because failure: BackupError?) -> BackupError? {
        let (wasOpen, cause) = state.withLock { state in
            guard state.phase == .open || state.phase == .committing else { return (false, state.cause ?? failure) }
            state.phase = .aborted
            state.cause = failure
            return (true, failure)
        }
        guard wasOpen else { return cause }
        defer { cleanUp() }
        return cause
    }

    /// Removes what an aborted writer made: its batch, partial directory, temporary files and registration.
    private func cleanUp() {
        pending.withLock { $0 = PendingChunks() }
        try? removeDirectory(partialName, in: repository.backups)
        let temporary = repository.chunks.temporary
        for name in (try? temporary.entryNames()) ?? [] where name.hasPrefix(id + "-") {
            try? temporary.removeEntry(name)
        }
        WriterRegistry.unregister(id, registration, in: repository.writers)
    }

    // MARK: - Helpers

    private static let targetCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".utf8)

    private static func checkName(_ name: String, what: String) throws(BackupError) {
        guard !name.isEmpty, name.utf8.count <= maximumNameLength, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw BackupError(.invalidArgument, "a \(what) must be 1 to \(maximumNameLength) bytes without control characters")
        }
    }

    private static func checkOpen(_ state: State) throws(BackupError) {
        switch state.phase {
        case .open: return
        case .committing, .committed: throw BackupError(.invalidState, "the backup is committed; nothing more can be added")
        case .aborted: throw state.cause ?? BackupError(.invalidState, "the backup was aborted", fix: "begin a new backup")
        }
    }

    /// The disk being written, after checking `index` is one of its chunks and `length` (when
    /// data is handed in) is that chunk's.
    private func current(_ index: Int, length: Int?) throws(BackupError) -> Disk {
        let disk = try state.withLock { state throws(BackupError) -> Disk in
            try Self.checkOpen(state)
            guard let disk = state.disk else { throw BackupError(.invalidState, "no disk was begun", fix: "call beginDisk first") }
            // The digests are left out of the copy: it only names the disk and its geometry.
            return Disk(target: disk.target, format: disk.format, geometry: disk.geometry, number: disk.number, digests: [])
        }
        guard index >= 0, index < disk.geometry.count else { throw outOfRange(index, disk) }
        if let length, length != disk.geometry.length(index) {
            throw BackupError(
                .invalidArgument,
                "chunk \(index) of \(disk.target) is \(disk.geometry.length(index)) bytes long; \(length) were handed in")
        }
        return disk
    }

    private func outOfRange(_ index: Int, _ disk: Disk) -> BackupError {
        BackupError(.invalidArgument, "\(disk.target) has chunks 0 to \(disk.geometry.count - 1); there is no chunk \(index)")
    }

    /// Makes sure the chunk `digest` will be in the store when the backup commits: it is there,
    /// or waits in this backup's batch, or is written from `data` into the batch now. Returns
    /// false when it is none of these and no data is given.
    @discardableResult
    private func store(_ digest: ChunkDigest, data: UnsafeRawBufferPointer?, chunk: Int, of disk: Disk) throws(BackupError) -> Bool {
        if pending.withLock({ $0.digests.contains(digest) }) { return true }
        let action = "store chunk \(chunk) of \(disk.target)"
        let chunks = repository.chunks
        if try failing(action, { () throws(SystemError) in try chunks.isPresent(digest, lock: lock) }) { return true }
        guard let data else { return false }
        let written = try failing(action) { () throws(SystemError) in try chunks.writeTemporary(digest, plaintext: data, prefix: id) }
        // A call that was past its check when another thread's failure aborted the writer can
        // finish its file after the abort removed the others: it removes its own. (Once this
        // check has passed, the file is there for an abort's clean-up to find.)
        do throws(BackupError) {
            try state.withLock { state throws(BackupError) in try Self.checkOpen(state) }
        } catch {
            try? chunks.temporary.removeEntry(written.name)
            throw error
        }
        let batchIsFull = pending.withLock { pending in
            guard pending.digests.insert(digest).inserted else {
                // Another thread wrote the same bytes meanwhile.
                try? chunks.temporary.removeEntry(written.name)
                return false
            }
            pending.chunks.append(written)
            pending.bytes += written.bytes
            return pending.bytes >= Self.flushBytes || pending.chunks.count >= Self.flushChunks
        }
        if batchIsFull { try flushPending() }
        return true
    }

    private func storeZeros(_ digest: ChunkDigest, chunk: Int, of disk: Disk) throws(BackupError) {
        guard try !store(digest, data: nil, chunk: chunk, of: disk) else { return }
        let zeros = [UInt8](repeating: 0, count: disk.geometry.length(chunk))
        _ = try zeros.withUnsafeBytes { buffer in
            Result { () throws(BackupError) in try store(digest, data: buffer, chunk: chunk, of: disk) }
        }.get()
    }

    /// Flushes the chunks waiting in the batch and puts them in place; the bytes of those placed
    /// (not found stored meanwhile by another writer) count as stored by the disk being written.
    private func flushPending() throws(BackupError) {
        try flushing.withLock { _ throws(BackupError) in
            let batch = pending.withLock { pending in
                defer { pending = PendingChunks() }
                return pending.chunks
            }
            guard !batch.isEmpty else { return }
            let chunks = repository.chunks
            let placed = try failing("store \(batch.count) chunks") { () throws(SystemError) -> [Bool] in
                try chunks.flush()
                return try chunks.placeFlushed(batch, lock: lock)
            }
            let bytes = zip(batch, placed).reduce(0) { sum, entry in entry.1 ? sum + entry.0.bytes : sum }
            state.withLock { $0.disk?.bytesStored += UInt64(bytes) }
        }
    }

    private func record(_ entries: [(Int, ChunkDigest)], bytesRead: UInt64, in disk: Disk) throws(BackupError) {
        try state.withLock { state throws(BackupError) in
            try Self.checkOpen(state)
            guard state.disk?.number == disk.number else {
                throw BackupError(.invalidState, "disk \(disk.target) was finished while its chunks were handed in")
            }
            for (index, digest) in entries { state.disk?.digests[index] = digest }
            state.disk?.bytesRead += bytesRead
        }
    }

    /// Runs `body`; a failed system call aborts the backup and is thrown as `action` failing.
    private func failing<T>(_ action: @autoclosure () -> String, _ body: () throws(SystemError) -> T) throws(BackupError) -> T {
        do throws(SystemError) {
            return try body()
        } catch {
            let failure = BackupError(error, doing: action())
            throw abort(because: failure) ?? failure
        }
    }
}
