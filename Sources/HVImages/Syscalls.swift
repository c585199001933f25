import Glibc

/// The message of the current `errno`.
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// An I/O failure naming what was being done: "cannot open /x: Permission denied".
func ioError(_ action: String, _ code: Int32 = errno) -> ImageError {
    ImageError(.ioFailed, "cannot \(action): \(errnoText(code))")
}

/// Calls `body` again while it fails with EINTR; returns its result.
func retryingInterrupts<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

/// An open file descriptor, closed exactly once when the owner goes away.
final class Descriptor {
    let raw: Int32

    init(_ raw: Int32) { self.raw = raw }

    deinit { close(raw) }

    /// Opens `path` with `flags` (close-on-exec is always added).
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(ImageError) -> Descriptor {
        let fd = retryingInterrupts { Glibc.open(path, flags | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw ioError("open \(path)") }
        return Descriptor(fd)
    }

    /// Opens `name` relative to this directory descriptor, never following a final symlink.
    func openAt(_ name: String, _ flags: Int32, mode: mode_t = 0) throws(ImageError) -> Descriptor {
        let fd = retryingInterrupts { openat(raw, name, flags | O_CLOEXEC | O_NOFOLLOW, mode) }
        guard fd >= 0 else { throw ioError("open \(name)") }
        return Descriptor(fd)
    }

    func status() throws(ImageError) -> stat {
        var info = stat()
        guard fstat(raw, &info) == 0 else { throw ioError("inspect an open file") }
        return info
    }

    /// Writes all of `bytes`.
    func writeAll(_ bytes: UnsafeRawBufferPointer, what: String) throws(ImageError) {
        var done = 0
        while done < bytes.count {
            let written = retryingInterrupts { write(raw, bytes.baseAddress! + done, bytes.count - done) }
            guard written > 0 else { throw ioError("write \(what)") }
            done += written
        }
    }

    func writeAll(_ bytes: [UInt8], what: String) throws(ImageError) {
        var failure: ImageError?
        bytes.withUnsafeBytes { buffer in
            do throws(ImageError) { try writeAll(buffer, what: what) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    func sync(what: String) throws(ImageError) {
        guard retryingInterrupts({ fsync(raw) }) == 0 else { throw ioError("flush \(what) to disk") }
    }
}

extension stat {
    var isRegularFile: Bool { (st_mode & S_IFMT) == S_IFREG }
    var isDirectory: Bool { (st_mode & S_IFMT) == S_IFDIR }

    /// "a directory", "a pipe", … for error messages.
    var kindDescription: String {
        switch st_mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFIFO: "a pipe"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "an unknown kind of file"
        }
    }
}
