import Foundation
import Glibc
import HVSystem

/// The file operations the log is built from beyond what `Descriptor` does: replacing a small
/// file atomically, reading one whole, reading the end of a segment, and looking a file up by name.
enum FileIO {
    /// Replaces `path` with `bytes` so that a reader or a crash sees the old file or the new one,
    /// never a mix: write a temporary file, flush it, rename it over `path`, flush the directory.
    /// A temporary file left by a crash is removed when the log is next opened.
    static func replace(_ path: String, with bytes: [UInt8]) throws(AuditError) {
        let temporary = path + ".tmp"
        let file = try AuditError.catching(.unwritable, doing: "create \(temporary)") {
            try Descriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o640)
        }
        do throws(AuditError) {
            try AuditError.catching(.unwritable, doing: "write to \(temporary)") { try file.writeAll(bytes) }
            try AuditError.catching(.unwritable, doing: "flush \(temporary)") { try file.sync() }
            file.close()
            try rename(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
        try AuditError.catching(.unwritable) { try Descriptor.syncDirectory((path as NSString).deletingLastPathComponent) }
    }

    /// Renames `old` to `new`, replacing `new`.
    static func rename(_ old: String, to new: String, action: String? = nil) throws(AuditError) {
        try AuditError.catching(.unwritable, doing: action) {
            try systemCall("rename \(old) to \(new)") { Glibc.rename(old, new) }
        }
    }

    /// The bytes of a small file; nil when it does not exist.
    static func contents(_ path: String) throws(AuditError) -> [UInt8]? {
        try AuditError.catching(.unreadable) { () -> [UInt8]? in
            let file: Descriptor
            do {
                file = try Descriptor.open(path, O_RDONLY)
            } catch let error as SystemError where error.code == ENOENT {
                return nil
            }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = try file.read(into: &chunk)
                if count == 0 { return bytes }
                bytes += chunk[..<count]
            }
        }
    }

    /// Up to `limit` bytes ending at `end` of a file, read at their offset.
    static func bytes(of file: Descriptor, endingAt end: Int, limit: Int) throws(AuditError) -> [UInt8] {
        let start = max(0, end - limit)
        var bytes = [UInt8](repeating: 0, count: end - start)
        try AuditError.catching(.unreadable) {
            try bytes.withUnsafeMutableBytes { buffer in
                var done = 0
                while done < buffer.count {
                    let count = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: UInt64(start + done))
                    // The file is shorter than `end`: it was cut while being read.
                    guard count > 0 else { throw SystemError("read \(file.name)", code: EIO) }
                    done += count
                }
            }
        }
        return bytes
    }

    /// The size of an open file.
    static func size(of file: Descriptor) throws(AuditError) -> Int {
        try AuditError.catching(.unreadable, doing: "stat \(file.name)") { Int(try file.status().st_size) }
    }

    /// The size of a file by name; nil when it does not exist.
    static func size(_ path: String) -> Int? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int(status.st_size)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
