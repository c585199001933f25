import Crypto

/// How a disk of `size` bytes is cut into chunks of `chunkSize`: every chunk full but the last,
/// which may be short.
struct ChunkGeometry: Hashable, Sendable {
    let chunkSize: Int
    let size: UInt64

    var count: Int { Int((size + UInt64(chunkSize) - 1) / UInt64(chunkSize)) }

    func offset(_ index: Int) -> UInt64 { UInt64(index) * UInt64(chunkSize) }

    func length(_ index: Int) -> Int { Int(min(UInt64(chunkSize), size - offset(index))) }
}

/// The index of one disk of a backup (`<target>.fidx`): a header with the chunk size and the
/// disk's size, then the 32-byte digest of every chunk in order, then the SHA-256 of all that, so
/// a damaged index is found when it is read (a collection that trusted one would mark the wrong
/// chunks).
///
/// Layout, little-endian: `HVFIDX01` (8 bytes), chunk size (8), disk size (8), digests (32 each),
/// SHA-256 (32).
struct FixedIndex: Hashable, Sendable {
    static let magic = Array("HVFIDX01".utf8)
    static let headerLength = 24
    static let checksumLength = 32

    let geometry: ChunkGeometry
    let digests: [ChunkDigest]

    init(geometry: ChunkGeometry, digests: [ChunkDigest]) {
        precondition(digests.count == geometry.count)
        self.geometry = geometry
        self.digests = digests
    }

    /// The index in `bytes`; nil unless it is well formed and its chunk size is `chunkSize`.
    init?(decoding bytes: [UInt8], chunkSize: Int) {
        guard bytes.count >= Self.headerLength, Array(bytes[0..<8]) == Self.magic else { return nil }
        let (storedChunkSize, size) = bytes.withUnsafeBytes { buffer in
            (
                UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            )
        }
        guard storedChunkSize == UInt64(chunkSize), size <= UInt64(Int64.max) else { return nil }
        let geometry = ChunkGeometry(chunkSize: chunkSize, size: size)
        let length = Self.headerLength + geometry.count * ChunkDigest.byteCount
        guard bytes.count == length + Self.checksumLength,
            Array(SHA256.hash(data: bytes[..<length])) == Array(bytes[length...])
        else { return nil }
        self.geometry = geometry
        digests = bytes.withUnsafeBytes { buffer in
            (0..<geometry.count).map { index in
                let start = Self.headerLength + index * ChunkDigest.byteCount
                return ChunkDigest(UnsafeRawBufferPointer(rebasing: buffer[start..<start + ChunkDigest.byteCount]))
            }
        }
    }

    var encoded: [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.headerLength + digests.count * ChunkDigest.byteCount)
        withUnsafeBytes(of: UInt64(geometry.chunkSize).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: geometry.size.littleEndian) { bytes += $0 }
        for digest in digests { bytes += digest.bytes }
        return bytes + SHA256.hash(data: bytes)
    }
}
