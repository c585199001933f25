import Glibc
import HVSystem

/// The writers at work in a repository: each has a file `writers/<backup id>` on which it holds an
/// exclusive flock for as long as it runs, stamped with its start time. A writer that was killed
/// leaves its file unlocked: the kernel released the lock with its process, so the file is taken
/// for what it is, a leftover, by the collector and by `Repository.recover()`.
enum WriterRegistry {
    struct Registration {
        /// The open file the lock is held on; closing it releases the lock.
        let file: Descriptor
        /// When the writer started, by the file system's clock.
        let started: FileTime
    }

    /// Registers the writer `id`: the file is locked and stamped under a temporary name and only
    /// then given its own, so whoever sees `writers/<id>` sees it locked, with its start time.
    static func register(_ id: String, in writers: Descriptor) throws(SystemError) -> Registration {
        let (temporary, file) = try writers.createUnique(prefix: ".new", flags: O_RDWR)
        do throws(SystemError) {
            try systemCall("lock \(temporary)") { flock(file.raw, LOCK_EX | LOCK_NB) }
            try file.writeAll(Array("pid \(getpid())\n".utf8))
            let started = try file.stampNow()
            try writers.rename(temporary, to: id)
            return Registration(file: file, started: started)
        } catch {
            try? writers.removeEntry(temporary)
            throw error
        }
    }

    /// Ends the writer's registration: its file goes, then its lock.
    static func unregister(_ id: String, _ registration: Registration, in writers: Descriptor) {
        try? writers.removeEntry(id)
        registration.file.close()
    }

    /// The start times of the writers running now, by id.
    static func liveWriters(in writers: Descriptor) throws(SystemError) -> [String: FileTime] {
        var live: [String: FileTime] = [:]
        for name in try writers.entryNames() where !name.hasPrefix(".") {
            if let started = try startIfLive(name, in: writers) { live[name] = started }
        }
        return live
    }

    /// Whether the writer `id` is running: its file is there and locked.
    static func isLive(_ id: String, in writers: Descriptor) throws(SystemError) -> Bool {
        try startIfLive(id, in: writers) != nil
    }

    /// Removes the file `name` of a writer that is no longer running; leaves a running one's.
    /// Returns whether it removed it.
    static func removeIfDead(_ name: String, in writers: Descriptor) throws(SystemError) -> Bool {
        guard let file = try openEntry(name, in: writers) else { return false }
        guard try tryLock(file, LOCK_EX) else { return false }
        // Held: no writer has this file, and none will take it again (ids are not reused).
        try writers.removeEntry(name)
        return true
    }

    private static func startIfLive(_ name: String, in writers: Descriptor) throws(SystemError) -> FileTime? {
        guard let file = try openEntry(name, in: writers) else { return nil }
        let started = FileTime(modificationOf: try file.status())
        return try tryLock(file, LOCK_SH) ? nil : started
    }

    private static func openEntry(_ name: String, in writers: Descriptor) throws(SystemError) -> Descriptor? {
        do {
            return try writers.openAt(name, O_RDWR)
        } catch where error.code == ENOENT {
            return nil
        }
    }

    /// Takes the lock if no one holds it; false when a writer does.
    private static func tryLock(_ file: Descriptor, _ operation: Int32) throws(SystemError) -> Bool {
        do {
            try systemCall("lock \(file.name)") { flock(file.raw, operation | LOCK_NB) }
            return true
        } catch where error.code == EWOULDBLOCK {
            return false
        }
    }
}
