import Crypto
import Glibc
import HVSystem

/// SHA-256 digests as the 64 lowercase hex digits users copy from download pages.
enum SHA256Text {
    /// `text` in lowercase if it is 64 hex digits (either case); otherwise `invalidParameter`.
    static func normalize(_ text: String, parameter: String = "sha256") throws(ImageError) -> String {
        let lowered = text.lowercased()
        guard lowered.utf8.count == 64, lowered.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw ImageError(
                .invalidParameter, "'\(text.prefix(80))' is not a SHA-256 checksum",
                fix: "give the 64 hexadecimal digits published with the image (sha256sum prints them)",
                parameter: parameter
            )
        }
        return lowered
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

/// What reading a file through produced.
struct HashedCopy {
    var sha256: String
    var byteCount: UInt64
    /// The file's first bytes, for `FormatSignature`.
    var header: [UInt8]
}

/// Reads `source` from offset 0 with pread, hashing every byte and, when `destination` (an empty
/// file) is given, copying it there with its holes kept: all-zero blocks are not written, and the
/// copy gets its length at the end (`SparseWriter`). Stretches the file system reports as holes
/// are hashed as the zeros they read as, without reading them (`FileRegions`); the file offset,
/// which those questions move, is put back, and is never trusted. Stops with `fileChanged` as soon
/// as more than `expectedSize` bytes arrive, and with `cancelled` when `observer` says its caller
/// gave up; tells `observer` how far it got after every chunk, out of `total` (by default
/// `expectedSize`).
func hashedCopy(
    from source: Descriptor, expectedSize: UInt64? = nil, to destination: Descriptor? = nil, total: UInt64? = nil,
    observer: CopyObserver = .none
) throws(ImageError) -> HashedCopy {
    let bufferSize = 1 << 20
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
    let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
    zeros.initializeMemory(as: UInt8.self, repeating: 0)
    defer {
        buffer.deallocate()
        zeros.deallocate()
    }
    func read(_ count: Int, at offset: UInt64) throws(ImageError) -> Int {
        do {
            return try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]), at: offset)
        } catch {
            if error.code == EBADF { throw ImageError(.invalidParameter, "the file is not open for reading", parameter: "file") }
            throw ioError("read the file", error.code)
        }
    }
    // Readable at all, even when it is all holes and nothing else is read.
    _ = try read(0, at: 0)
    var regions = FileRegions(source)
    defer { regions.restoreOffset() }
    var hasher = SHA256()
    var offset: UInt64 = 0
    var header: [UInt8] = []
    let writer = try destination.map { file throws(ImageError) in try io { try SparseWriter(file) } }
    while true {
        // A whole buffer's worth of hole is hashed as the zeros it reads as; anything else is
        // read, a short hole with its neighbours, so a file of many small holes costs no more
        // system calls than one read per buffer and a question.
        let region = regions.region(at: offset)
        let inHole = region.map { $0.isHole && $0.end - offset >= UInt64(bufferSize) } ?? false
        let count = inHole ? bufferSize : try read(bufferSize, at: offset)
        if count == 0 { break }
        let chunk = UnsafeRawBufferPointer(rebasing: (inHole ? zeros : buffer)[0..<count])
        let chunkOffset = offset
        offset += UInt64(count)
        if let expectedSize, offset > expectedSize { throw changedUnderneath(expectedSize) }
        if header.count < FormatSignature.headerLength {
            header += chunk.prefix(FormatSignature.headerLength - header.count)
        }
        hasher.update(bufferPointer: chunk)
        if !inHole { try io { try writer?.write(chunk, at: chunkOffset) } }
        observer.progress(offset, total ?? expectedSize)
        if observer.isCancelled() {
            throw ImageError(.cancelled, "stopped after \(offset) bytes: the caller went away", fix: "run it again")
        }
    }
    if let expectedSize, offset != expectedSize { throw changedUnderneath(expectedSize) }
    try io { try writer?.finish(length: offset) }
    return HashedCopy(sha256: SHA256Text.hex(hasher.finalize()), byteCount: offset, header: header)
}

private func changedUnderneath(_ size: UInt64) -> ImageError {
    ImageError(
        .fileChanged, "the file changed while it was being read (it was \(size) bytes when the copy started)",
        fix: "let the download finish before adding the file, then try again"
    )
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
