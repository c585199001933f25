import Crypto
import Foundation

/// How a repository names and protects what it stores: in the clear, or encrypted with a key.
///
/// Encrypted, a chunk is named by HMAC-SHA256 of its plaintext and stored as nonce, AES-256-GCM
/// ciphertext and tag, authenticated together with its name, so a chunk copied under another
/// name fails to open; manifests and indexes are sealed the same way with their place in the
/// repository ("manifest ID", "index ID vda") as the authenticated context.
struct Cipher: Sendable {
    /// The bytes AES-GCM adds to what it seals: the 12-byte nonce and the 16-byte tag.
    static let overhead = 28

    let key: KeyFile?

    var isEncrypting: Bool { key != nil }

    /// The name of a chunk holding `plaintext`.
    func digest(of plaintext: UnsafeRawBufferPointer) -> ChunkDigest {
        if let key {
            return HMAC<SHA256>.authenticationCode(for: plaintext, using: key.chunkNameKey).withUnsafeBytes { ChunkDigest($0) }
        }
        return SHA256.hash(data: plaintext).withUnsafeBytes { ChunkDigest($0) }
    }

    /// What is stored for a chunk: its plaintext when the repository is not encrypted.
    func seal(chunk plaintext: UnsafeRawBufferPointer, digest: ChunkDigest) -> [UInt8]? {
        guard let key else { return nil }
        return Self.seal(plaintext, key: key, context: digest.bytes)
    }

    /// The plaintext of a stored encrypted chunk; nil when it does not open under its name.
    func open(chunk stored: UnsafeRawBufferPointer, digest: ChunkDigest) -> [UInt8]? {
        guard let key else { return Array(stored) }
        return Self.open(stored, key: key, context: digest.bytes)
    }

    /// A manifest or index as stored: sealed with `context` when encrypted, else as it is.
    func seal(_ bytes: [UInt8], context: String) -> [UInt8] {
        guard let key else { return bytes }
        return bytes.withUnsafeBytes { Self.seal($0, key: key, context: Array(context.utf8)) }
    }

    /// A stored manifest or index opened; nil when it does not open with `context`.
    func open(_ bytes: [UInt8], context: String) -> [UInt8]? {
        guard let key else { return bytes }
        return bytes.withUnsafeBytes { Self.open($0, key: key, context: Array(context.utf8)) }
    }

    private static func seal(_ plaintext: UnsafeRawBufferPointer, key: KeyFile, context: [UInt8]) -> [UInt8] {
        // A random 96-bit nonce per message: far below the 2^32 messages a key may seal so.
        guard let sealed = try? AES.GCM.seal(plaintext, using: key.encryptionKey, authenticating: context).combined else {
            preconditionFailure("AES-GCM with a 32-byte key and a random 12-byte nonce always seals")
        }
        return Array(sealed)
    }

    private static func open(_ stored: UnsafeRawBufferPointer, key: KeyFile, context: [UInt8]) -> [UInt8]? {
        guard stored.count >= overhead, let box = try? AES.GCM.SealedBox(combined: stored),
            let plaintext = try? AES.GCM.open(box, using: key.encryptionKey, authenticating: context)
        else { return nil }
        return Array(plaintext)
    }
}
