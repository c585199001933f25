import Crypto
import Glibc
import HVSystem

/// The key of an encrypted repository: 32 random bytes in a file only its owner can read.
///
/// The repository never stores the key, only its fingerprint. Chunk names and contents, manifests
/// and indexes are protected by keys derived from it (HKDF-SHA256), one per use, so the name of a
/// chunk reveals nothing about its contents. Losing the file loses every backup made with it.
// `SymmetricKey` is an immutable value that swift-crypto does not mark Sendable.
public struct KeyFile: @unchecked Sendable {
    /// How long the key is, in bytes.
    public static let byteCount = 32

    /// Keys the chunks' names (HMAC-SHA256 of their plaintext).
    let chunkNameKey: SymmetricKey
    /// Encrypts chunks, manifests and indexes (AES-256-GCM).
    let encryptionKey: SymmetricKey
    /// Names the key in `repository.json` and in errors; says nothing about the key itself.
    public let fingerprint: String

    init(bytes: [UInt8]) {
        let key = SymmetricKey(data: bytes)
        func derive(_ use: String) -> SymmetricKey {
            HKDF<SHA256>.deriveKey(
                inputKeyMaterial: key, salt: Array("hyper-nixos backup".utf8), info: Array(use.utf8), outputByteCount: 32)
        }
        chunkNameKey = derive("chunk names")
        encryptionKey = derive("encryption")
        fingerprint = derive("fingerprint").withUnsafeBytes { hex($0.prefix(16)) }
    }

    /// Writes a new random key to `path` (mode 0600, never replacing a file) and returns it.
    public static func generate(at path: String) throws(BackupError) -> KeyFile {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let file: Descriptor
        do {
            file = try Descriptor.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        } catch where error.code == EEXIST {
            throw BackupError(.alreadyExists, "\(path) already exists", fix: "choose another path; never overwrite a key")
        } catch {
            throw BackupError(error, doing: "create the key file \(path)")
        }
        do throws(SystemError) {
            try systemCall("set the mode of \(path)") { fchmod(file.raw, 0o600) }
            try file.writeAll(bytes)
            try file.sync()
            try Descriptor.syncDirectory(directory(of: path))
        } catch {
            unlink(path)
            throw BackupError(error, doing: "write the key file \(path)")
        }
        return KeyFile(bytes: bytes)
    }

    /// Reads the key at `path`, which must belong to root or the reading user and be open to no one else.
    public static func load(_ path: String) throws(BackupError) -> KeyFile {
        let bytes: [UInt8]
        do {
            bytes = try SecretFile(creator: "KeyFile.generate").read(path, field: "the backup key")
        } catch {
            throw BackupError(error.code == .unreadable ? .notFound : .invalidArgument, error.reason, fix: error.fix)
        }
        guard bytes.count == byteCount else {
            throw BackupError(
                .invalidArgument, "the backup key \(path) holds \(bytes.count) bytes, not \(byteCount)",
                fix: "name the file the key was generated into")
        }
        return KeyFile(bytes: bytes)
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// Lowercase hex digits of `bytes`.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: text, as: UTF8.self)
}
