import Glibc

/// Operations on the entries of an open directory, relative to its descriptor and never following
/// a symlink, so a path swapped underneath cannot redirect them.
extension Descriptor {
    /// The status of `name` itself (not what a symlink points to), or nil when there is no such entry.
    public func entryStatus(_ name: String) throws(SystemError) -> stat? {
        var info = stat()
        guard fstatat(raw, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }
            throw SystemError("inspect \(name)")
        }
        return info
    }

    /// Creates a new file `PREFIX-RANDOM` (`O_EXCL`) and returns its name and descriptor, open
    /// for writing (and reading, with `O_RDWR` in `flags`).
    public func createUnique(prefix: String, flags: Int32 = O_WRONLY, mode: mode_t = 0o600) throws(SystemError)
        -> (name: String, file: Descriptor)
    {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<16 {
            let name = prefix + "-" + String(generator.next() as UInt64, radix: 16)
            do {
                return (name, try openAt(name, flags | O_CREAT | O_EXCL, mode: mode))
            } catch where error.code == EEXIST {
                continue
            } catch {
                throw SystemError("create a temporary file", code: error.code)
            }
        }
        throw SystemError("create a temporary file: every name tried already exists", code: EEXIST)
    }

    /// Removes the entry `name`; a missing entry is not an error.
    public func removeEntry(_ name: String) throws(SystemError) {
        guard unlinkat(raw, name, 0) == 0 || errno == ENOENT else { throw SystemError("remove \(name)") }
    }

    /// Gives the file `existing` the additional name `new`; fails with EEXIST if `new` is taken.
    public func link(_ existing: String, as new: String) throws(SystemError) {
        try systemCall("create \(new)") { linkat(raw, existing, raw, new, 0) }
    }

    /// Renames `old` to `new` within the directory, replacing `new` atomically.
    public func rename(_ old: String, to new: String) throws(SystemError) {
        try systemCall("rename \(old) to \(new)") { renameat(raw, old, raw, new) }
    }

    /// Replaces the file `name` with `bytes` so that a reader, or the directory after a crash,
    /// holds the old file or the new one, never a mix: a temporary file written and flushed, then
    /// renamed over `name`, then the directory flushed.
    public func replaceEntry(_ name: String, with bytes: [UInt8], mode: mode_t = 0o600) throws(SystemError) {
        let (temporary, file) = try createUnique(prefix: "." + name, mode: mode)
        do throws(SystemError) {
            try file.writeAll(bytes)
            // createUnique's mode passed through the umask; the file gets exactly `mode`.
            try systemCall("set the mode of \(name)") { fchmod(file.raw, mode) }
            try file.sync()
            file.close()
            try rename(temporary, to: name)
        } catch {
            try? removeEntry(temporary)
            throw error
        }
        try sync()
    }

    /// The names of the directory's entries, without `.` and `..`.
    public func entryNames() throws(SystemError) -> [String] {
        let copy = Descriptor(try systemCall("list \(name)") { fcntl(raw, F_DUPFD_CLOEXEC, 0) }, name: name)
        guard let stream = fdopendir(copy.raw) else { throw SystemError("list \(name)") }
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
