import CHVShims
import Glibc
import Synchronization

/// An open file descriptor with one owner: it is closed exactly once, by `close()` or when the
/// owner lets go of it, unless ownership was handed on with `take()`.
///
/// Every call made through it retries on EINTR and fails with a `SystemError` that names the
/// descriptor: "cannot read /var/lib/x: Input/output error".
public final class Descriptor: Sendable, CustomStringConvertible {
    private let value: Atomic<Int32>
    /// What the descriptor refers to, for error messages: a path, "a pipe", "the upload".
    public let name: String

    /// Takes ownership of `raw`, an open descriptor that nothing else will close.
    public init(_ raw: Int32, name: String) {
        value = Atomic(raw)
        self.name = name
    }

    deinit {
        let raw = value.load(ordering: .acquiring)
        if raw >= 0 { _ = Glibc.close(raw) }
    }

    /// The descriptor number, for a call that borrows it while this object is alive; -1 once it
    /// was closed or taken.
    public var raw: Int32 { value.load(ordering: .acquiring) }

    /// Hands ownership on: returns the number and no longer closes it (for a SwiftNIO channel
    /// that adopts a socket, or a library that closes what it is given). -1 if it was already
    /// closed or taken.
    public func take() -> Int32 {
        value.exchange(-1, ordering: .acquiringAndReleasing)
    }

    /// Closes the descriptor now; calling it again, or letting go of the object later, does nothing.
    public func close() {
        let raw = value.exchange(-1, ordering: .acquiringAndReleasing)
        // Never retried: Linux releases the number even when close reports EINTR.
        if raw >= 0 { _ = Glibc.close(raw) }
    }

    public var description: String { "\(name) (descriptor \(raw))" }
}

extension Descriptor {
    /// Opens `path` with `flags`; close-on-exec is always added.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(SystemError) -> Descriptor {
        let raw = try systemCall("open \(path)") { Glibc.open(path, flags | O_CLOEXEC, mode) }
        return Descriptor(raw, name: path)
    }

    /// Opens `name` relative to this directory, never following a final symlink; close-on-exec is
    /// always added.
    public func openAt(_ name: String, _ flags: Int32, mode: mode_t = 0) throws(SystemError) -> Descriptor {
        let raw = try systemCall("open \(name)") { openat(self.raw, name, flags | O_CLOEXEC | O_NOFOLLOW, mode) }
        return Descriptor(raw, name: name)
    }

    /// A new pipe, both ends close-on-exec from the start.
    public static func pipe() throws(SystemError) -> (read: Descriptor, write: Descriptor) {
        var ends: [Int32] = [-1, -1]
        try systemCall("create a pipe") { hv_pipe_cloexec(&ends) }
        return (Descriptor(ends[0], name: "a pipe"), Descriptor(ends[1], name: "a pipe"))
    }

    /// A new socket (`socket(2)` with SOCK_CLOEXEC added to `type`).
    public static func socket(_ domain: Int32, _ type: Int32, name: String) throws(SystemError) -> Descriptor {
        let raw = try systemCall("create a socket for \(name)") {
            Glibc.socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        return Descriptor(raw, name: name)
    }

    /// The file's status (`fstat`).
    public func status() throws(SystemError) -> stat {
        var info = stat()
        try systemCall("inspect \(name)") { fstat(raw, &info) }
        return info
    }

    /// Makes reads and writes return EAGAIN instead of waiting.
    public func setNonBlocking() throws(SystemError) {
        let flags = try systemCall("read the flags of \(name)") { fcntl(raw, F_GETFL) }
        try systemCall("set the flags of \(name)") { fcntl(raw, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Flushes the file to disk (`fsync`).
    public func sync() throws(SystemError) {
        try systemCall("flush \(name) to disk") { fsync(raw) }
    }

    /// Flushes the file's data, and of its metadata only what reading the data back needs, such
    /// as its length (`fdatasync`): enough for appends, cheaper than `sync()`.
    public func syncData() throws(SystemError) {
        try systemCall("flush \(name) to disk") { fdatasync(raw) }
    }

    /// Flushes the whole file system the descriptor is on, data and metadata (`syncfs`): one
    /// flush for many files written since the last, where `sync()` of each would be one apiece.
    public func syncFileSystem() throws(SystemError) {
        try systemCall("flush the file system of \(name) to disk") { hv_sync_file_system(raw) }
    }

    /// Starts writing the file's data back to disk and returns without waiting
    /// (`sync_file_range` with `SYNC_FILE_RANGE_WRITE`), so that a later flush has less to wait for.
    public func startWriteback() throws(SystemError) {
        try systemCall("write \(name) back to disk") { hv_start_writeback(raw) }
    }

    /// Makes the entries created, renamed or removed in the directory at `path` durable: a
    /// `rename` reaches the disk only when its directory is flushed (`fsync` of the directory).
    public static func syncDirectory(_ path: String) throws(SystemError) {
        let raw = try systemCall("open directory \(path)") { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        let directory = Descriptor(raw, name: "directory \(path)")
        try systemCall("flush \(directory.name)") { fsync(directory.raw) }
    }

    /// Sets the file's length (`ftruncate`).
    public func truncate(to length: UInt64) throws(SystemError) {
        try systemCall("resize \(name)") { ftruncate(raw, off_t(length)) }
    }

    /// Moves the file offset (`lseek`, SEEK_SET or SEEK_CUR) and returns where it is now.
    @discardableResult
    public func seek(to offset: UInt64, _ whence: Int32 = SEEK_SET) throws(SystemError) -> UInt64 {
        UInt64(try systemCall("seek in \(name)") { lseek(raw, off_t(offset), whence) })
    }

    /// Where the first data at or after `offset` starts (SEEK_DATA); nil when only a hole follows
    /// to the end of the file. A file system that does not track holes reports all as data.
    /// Moves the file offset there.
    public func nextData(from offset: UInt64) throws(SystemError) -> UInt64? {
        do {
            return try seek(to: offset, Self.seekData)
        } catch where error.code == ENXIO {
            return nil
        }
    }

    /// Where the first hole at or after `offset` starts (SEEK_HOLE); the end of the file counts as
    /// one. Moves the file offset there.
    public func nextHole(from offset: UInt64) throws(SystemError) -> UInt64 {
        try seek(to: offset, Self.seekHole)
    }

    /// Linux's SEEK_DATA and SEEK_HOLE, which `<unistd.h>` declares only under _GNU_SOURCE, so
    /// Swift's Glibc module lacks them.
    private static let seekData: Int32 = 3
    private static let seekHole: Int32 = 4
}
