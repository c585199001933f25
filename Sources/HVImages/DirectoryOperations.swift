import Glibc
import HVSystem

/// Operations on entries of a directory, relative to its open descriptor and never following a
/// symlink, so a path swapped underneath cannot redirect them.
extension Descriptor {
    /// Opens the directory at `path`.
    static func openDirectory(_ path: String) throws(ImageError) -> Descriptor {
        do {
            return try Descriptor.open(path, O_RDONLY | O_DIRECTORY)
        } catch where error.code == ENOENT {
            throw ImageError(.notConfigured, "the directory \(path) does not exist")
        } catch {
            throw ioError("open the directory \(path)", error.code)
        }
    }

    /// The status of `name` itself (not what a symlink points to), or nil when there is no such entry.
    func entryStatus(_ name: String) throws(ImageError) -> stat? {
        var info = stat()
        guard fstatat(raw, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }
            throw ioError("inspect \(name)")
        }
        return info
    }

    /// Creates a new file `PREFIX-RANDOM` (`O_EXCL`, mode 0600) and returns its name and descriptor.
    func createUnique(prefix: String) throws(ImageError) -> (name: String, file: Descriptor) {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<16 {
            let name = prefix + "-" + String(generator.next() as UInt64, radix: 16)
            do {
                return (name, try openAt(name, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600))
            } catch where error.code == EEXIST {
                continue
            } catch {
                throw ioError("create a temporary file", error.code)
            }
        }
        throw ImageError(.ioFailed, "cannot create a temporary file: every name tried already exists")
    }

    /// Removes the entry `name`; a missing entry is not an error.
    func removeEntry(_ name: String) throws(ImageError) {
        guard unlinkat(raw, name, 0) == 0 || errno == ENOENT else { throw ioError("remove \(name)") }
    }

    /// Gives the file `existing` the additional name `new`, failing with `alreadyExists` if `new` is taken.
    func link(_ existing: String, as new: String) throws(ImageError) {
        guard linkat(raw, existing, raw, new, 0) == 0 else {
            if errno == EEXIST { throw ImageError(.alreadyExists, "\(new) already exists") }
            throw ioError("create \(new)")
        }
    }

    /// Renames `old` to `new` within the directory, replacing `new` atomically.
    func rename(_ old: String, to new: String) throws(ImageError) {
        guard renameat(raw, old, raw, new) == 0 else { throw ioError("rename \(old) to \(new)") }
    }

    /// The names of the directory's entries, without `.` and `..`.
    func entryNames() throws(ImageError) -> [String] {
        let copy = try io { Descriptor(try systemCall("list \(name)") { fcntl(raw, F_DUPFD_CLOEXEC, 0) }, name: name) }
        guard let stream = fdopendir(copy.raw) else { throw ioError("list \(name)") }
        // The stream owns the copy from here on; closedir closes it.
        _ = copy.take()
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
