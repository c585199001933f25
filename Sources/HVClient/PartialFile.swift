import Crypto
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The `.part` file a download appends to, and the SHA-256 of everything it holds so far, kept
/// in step with every write so a resumed download never hashes its data twice.
final class PartialFile {
    let path: String
    private(set) var length: UInt64 = 0
    /// Bytes an earlier run left that are still part of the download (0 once it starts over).
    private(set) var inherited: UInt64 = 0
    private var hasher = SHA256()
    private let descriptor: Int32

    /// Opens `path`, creating it if needed, and hashes what an earlier attempt left in it.
    init(path: String) throws(DownloadError) {
        self.path = path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure("open \(path)") }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(length)) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Self.failure("read \(path)") }
            if count == 0 { break }
            hasher.update(data: buffer[..<count])
            length += UInt64(count)
        }
        inherited = length
    }

    deinit {
        close(descriptor)
    }

    /// Appends `chunk` and hashes it.
    func append(_ chunk: ByteBuffer) throws(DownloadError) {
        let written = chunk.withUnsafeReadableBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let count = pwrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset, off_t(length) + off_t(offset))
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
        guard written else { throw Self.failure("write \(path)") }
        chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        length += UInt64(chunk.readableBytes)
    }

    /// Empties the file, to start over.
    func truncate() throws(DownloadError) {
        guard ftruncate(descriptor, 0) == 0 else { throw Self.failure("empty \(path)") }
        length = 0
        inherited = 0
        hasher = SHA256()
    }

    /// Flushes the file to disk and returns the hex SHA-256 of its contents.
    func finish() throws(DownloadError) -> String {
        guard fsync(descriptor) == 0 else { throw Self.failure("write \(path) to disk") }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private static func failure(_ what: String) -> DownloadError {
        DownloadError(
            .file, "could not \(what): \(String(cString: strerror(errno)))",
            fix: "check that the directory is writable and has room for the image"
        )
    }
}
