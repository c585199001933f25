/// The 32-byte name of a chunk: SHA-256 of its plaintext, or HMAC-SHA256 keyed by the repository's
/// key when it is encrypted.
struct ChunkDigest: Hashable, Sendable, CustomStringConvertible {
    static let byteCount = 32

    // Four words rather than an array: a set of a million digests stays compact and hashes fast.
    private let words: (UInt64, UInt64, UInt64, UInt64)

    /// The digest held by the first 32 bytes of `bytes`.
    init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= Self.byteCount)
        words = (
            bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
    }

    /// The digest whose hex text is `text` (64 lowercase digits); nil for anything else.
    init?(hex text: Substring) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 64 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Self.byteCount)
        for index in 0..<Self.byteCount {
            guard let high = Self.nibble(utf8[2 * index]), let low = Self.nibble(utf8[2 * index + 1]) else { return nil }
            bytes[index] = high << 4 | low
        }
        self = bytes.withUnsafeBytes { ChunkDigest($0) }
    }

    /// The 32 bytes, in order.
    var bytes: [UInt8] {
        withUnsafeBytes(of: words) { Array($0) }
    }

    /// The 64 lowercase hex digits the chunk's file is named by.
    var description: String { hex(bytes) }

    static func == (left: ChunkDigest, right: ChunkDigest) -> Bool {
        left.words == right.words
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
