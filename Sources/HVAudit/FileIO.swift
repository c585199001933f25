import Foundation

/// The few file operations the log is built from, each turning a failed system call into an
/// `AuditError` that names the file.
enum FileIO {
    /// Writes all of `bytes` at the descriptor's position (its end, for `O_APPEND`).
    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(AuditError) {
        var done = 0
        while done < bytes.count {
            let count = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw AuditError.system(.unwritable, "write to", path) }
            done += count
        }
    }

    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(AuditError) {
        guard !bytes.isEmpty else { return }
        var failure: AuditError?
        bytes.withUnsafeBytes { buffer in
            do throws(AuditError) {
                try writeAll(descriptor, buffer, path: path)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Flushes the descriptor's data to the disk.
    static func sync(_ descriptor: Int32, path: String) throws(AuditError) {
        guard fdatasync(descriptor) == 0 else { throw AuditError.system(.unwritable, "flush", path) }
    }

    /// Makes a rename or unlink in `directory` durable.
    static func syncDirectory(_ directory: String) throws(AuditError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw AuditError.system(.unwritable, "open directory", directory) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw AuditError.system(.unwritable, "flush directory", directory) }
    }

    /// Replaces `path` with `bytes` so that a reader or a crash sees the old file or the new one,
    /// never a mix: write a temporary file, flush it, rename it over `path`, flush the directory.
    static func replace(_ path: String, with bytes: [UInt8]) throws(AuditError) {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw AuditError.system(.unwritable, "create", temporary) }
        do throws(AuditError) {
            try writeAll(descriptor, bytes, path: temporary)
            guard fsync(descriptor) == 0 else { throw AuditError.system(.unwritable, "flush", temporary) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let error = AuditError.system(.unwritable, "rename \(temporary) to", path)
            unlink(temporary)
            throw error
        }
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// The bytes of a small file; nil when it does not exist.
    static func contents(_ path: String) throws(AuditError) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw AuditError.system(.unreadable, "open", path)
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw AuditError.system(.unreadable, "read", path) }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
        }
    }

    /// Up to `limit` bytes ending at `end` of a file, read with one positioned read.
    static func bytes(of descriptor: Int32, endingAt end: Int, limit: Int, path: String) throws(AuditError) -> [UInt8] {
        let start = max(0, end - limit)
        var bytes = [UInt8](repeating: 0, count: end - start)
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, $0.count - done, off_t(start + done)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw AuditError.system(.unreadable, "read", path) }
            done += count
        }
        return bytes
    }

    /// The size of an open file.
    static func size(_ descriptor: Int32, path: String) throws(AuditError) -> Int {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw AuditError.system(.unreadable, "stat", path) }
        return Int(status.st_size)
    }

    /// The size of a file by name; nil when it does not exist.
    static func size(_ path: String) -> Int? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int(status.st_size)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
