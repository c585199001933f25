import Glibc

/// Reads the small files that hold a secret: the `/metrics` token and TLS key, the alerting
/// channels' passwords and webhook URLs.
///
/// A file is refused unless it is a regular file owned by root or by the reading process's user,
/// open to nobody else, and writable by no one but its owner. ``group`` names the one group that
/// may also read it (`root:hypervisor-viewers` with mode 0640, as the setup writes the token);
/// without one the file is its owner's alone (mode 0600). The checks are made on the opened file,
/// not on the path, and a FIFO put in the file's place is refused without waiting on it.
public struct SecretFile: Sendable {
    /// The largest file read; a secret is one short line or one PEM key.
    public static let maximumBytes = 64 * 1024

    /// The group that may read the file too; nil when only its owner may.
    public var group: String?
    /// Who writes the file, named when it is missing: "scripts/setup.sh and the NixOS module do".
    public var creator: String?

    public init(group: String? = nil, creator: String? = nil) {
        self.group = group
        self.creator = creator
    }

    /// The command that gives `path` the owner and mode this reader accepts.
    public func secureCommand(_ path: String) -> String {
        if let group { return "chown root:\(group) \(path) && chmod 0640 \(path)" }
        return "chown \(Self.userName) \(path) && chmod 0600 \(path)"
    }

    /// The file's bytes; `field` names the setting in errors (`web.bearer_token_file`).
    public func read(_ path: String, field: String) throws(SecretFileError) -> [UInt8] {
        func refusal(_ code: SecretFileError.Code, _ reason: String, fix: String? = nil) -> SecretFileError {
            SecretFileError(code: code, reason: "\(field): \(path) \(reason)", fix: fix)
        }
        func failure(_ call: String, _ error: SystemError, fix: String? = nil) -> SecretFileError {
            refusal(.unreadable, "cannot be \(call): \(error.reason)", fix: fix)
        }
        let tooLarge = refusal(.invalid, "is larger than 64 KiB; it should hold one secret")

        let file: Descriptor
        let info: stat
        do {
            file = try Descriptor.open(path, O_RDONLY | O_NONBLOCK)
        } catch {
            throw failure(
                "opened", error, fix: "create it\(creator.map { " (\($0))" } ?? ""), then \(secureCommand(path))")
        }
        do {
            info = try file.status()
        } catch {
            throw failure("examined", error)
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw refusal(.insecure, "is not a regular file") }
        guard info.st_uid == 0 || info.st_uid == geteuid() else {
            throw refusal(
                .insecure, "is owned by uid \(info.st_uid); only root or the user reading it (uid \(geteuid())) may own it",
                fix: secureCommand(path))
        }
        let mode = info.st_mode & 0o7777
        let forbidden: mode_t = group == nil ? 0o077 : 0o027
        guard mode & forbidden == 0 else {
            let who = mode & 0o007 != 0 ? "others" : "its group"
            throw refusal(
                .insecure, "is open to \(who) (mode 0\(String(mode, radix: 8))); it holds a secret",
                fix: secureCommand(path))
        }
        guard info.st_size <= Self.maximumBytes else { throw tooLarge }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while contents.count <= Self.maximumBytes {
            let count: Int
            do {
                count = try file.read(into: &chunk)
            } catch {
                throw failure("read", error)
            }
            if count == 0 { return contents }
            contents += chunk[0..<count]
        }
        throw tooLarge
    }

    /// The file's text without its trailing line breaks; refused when it is not UTF-8.
    public func readText(_ path: String, field: String) throws(SecretFileError) -> String {
        var bytes = try read(path, field: field)[...]
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SecretFileError(code: .invalid, reason: "\(field): \(path) is not UTF-8 text", fix: nil)
        }
        return text
    }

    /// The name of the reading process's user, or its uid when it has none.
    static var userName: String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "\(geteuid())" }
        return String(cString: name)
    }
}

/// Why a secret file was refused, with the command that fixes it where one does; the reader's
/// callers report it under error codes of their own.
public struct SecretFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// The file is missing or cannot be read.
        case unreadable
        /// The file is not a regular file, has the wrong owner, or is open to others.
        case insecure
        /// The file is larger than a secret, or not text where text is wanted.
        case invalid
    }

    public let code: Code
    public let reason: String
    public let fix: String?

    public var description: String { fix.map { "\(reason) (fix: \($0))" } ?? reason }
}
