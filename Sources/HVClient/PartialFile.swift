import Crypto
import Foundation
import HVSystem
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
    private let descriptor: Descriptor

    /// Opens `path`, creating it if needed, and hashes what an earlier attempt left in it.
    init(path: String) throws(DownloadError) {
        self.path = path
        do {
            descriptor = try Descriptor.open(path, O_RDWR | O_CREAT, mode: 0o644)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let count = try descriptor.read(into: buffer, at: length)
                if count == 0 { break }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                length += UInt64(count)
            }
        } catch {
            throw Self.failure(error)
        }
        inherited = length
    }

    /// Appends `chunk` and hashes it.
    func append(_ chunk: ByteBuffer) throws(DownloadError) {
        let written = chunk.withUnsafeReadableBytes { bytes in
            Result { () throws(SystemError) in try descriptor.writeAll(bytes, at: length) }
        }
        do {
            try written.get()
        } catch {
            throw Self.failure(error)
        }
        chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        length += UInt64(chunk.readableBytes)
    }

    /// Empties the file, to start over.
    func truncate() throws(DownloadError) {
        do {
            try descriptor.truncate(to: 0)
        } catch {
            throw Self.failure(error)
        }
        length = 0
        inherited = 0
        hasher = SHA256()
    }

    /// Flushes the file to disk and returns the hex SHA-256 of its contents.
    func finish() throws(DownloadError) -> String {
        do {
            try descriptor.sync()
        } catch {
            throw Self.failure(error)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private static func failure(_ error: SystemError) -> DownloadError {
        DownloadError(
            .file, "could not \(error.action): \(error.reason)",
            fix: "check that the directory is writable and has room for the image"
        )
    }
}
