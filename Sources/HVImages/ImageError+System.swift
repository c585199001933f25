import Glibc
import HVSystem

/// The message of the current `errno`.
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// An I/O failure naming what was being done: "cannot open /x: Permission denied".
func ioError(_ action: String, _ code: Int32 = errno) -> ImageError {
    ImageError(.ioFailed, SystemError(action, code: code).description)
}

/// Runs file work on `Descriptor`s, a failed system call (`SystemError`) becoming `ioFailed`.
func io<T>(_ body: () throws -> T) throws(ImageError) -> T {
    do {
        return try body()
    } catch {
        throw error as? ImageError ?? ImageError(.ioFailed, "\(error)")
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
