import Glibc
import HVSystem
import Synchronization

/// The flock on `repository.lock` that makes a writer's touch-or-write of a chunk and the
/// collector's look-then-remove of a chunk exclusive of each other.
///
/// Writers hold it shared around each touch-or-write (any number at once); the sweep holds it
/// exclusive around a small batch of chunks. flock locks belong to an open file, so each holder
/// opens the file itself; the threads of one writer share its open file, and the lock is taken
/// when the first of them needs it and released when the last is done.
final class RepositoryLock: Sendable {
    private let file: Descriptor
    /// How many of the writer's threads are inside `shared` now.
    private let holders = Mutex(0)

    init(in root: Descriptor) throws(SystemError) {
        // Open for writing: NFS emulates flock with byte-range locks, and an exclusive one needs it.
        file = try root.openAt(Repository.lockFile, O_RDWR)
    }

    /// Runs `body` with the lock held shared.
    func shared<T>(_ body: () throws(SystemError) -> T) throws(SystemError) -> T {
        try holders.withLock { count throws(SystemError) in
            if count == 0 { try systemCall("lock \(Repository.lockFile)") { flock(file.raw, LOCK_SH) } }
            count += 1
        }
        defer {
            holders.withLock { count in
                count -= 1
                if count == 0 { flock(file.raw, LOCK_UN) }
            }
        }
        return try body()
    }

    /// Runs `body` with the lock held exclusive. Not for a holder that also takes it shared.
    func exclusive<T>(_ body: () throws(SystemError) -> T) throws(SystemError) -> T {
        try systemCall("lock \(Repository.lockFile)") { flock(file.raw, LOCK_EX) }
        defer { flock(file.raw, LOCK_UN) }
        return try body()
    }
}
