import Glibc
import HVSystem

/// Reads the small files that hold the `/metrics` credentials: the token and the TLS private key.
///
/// A file is refused unless it is a regular file owned by root or by the monitor's own user, and
/// neither writable by its group nor open to others in any way: `root:hypervisor-viewers` with
/// mode 0640 is what the setup writes. The checks are made on the opened file, not on the path.
enum CredentialFile {
    static let maximumBytes = 64 * 1024

    /// The file's bytes; `field` names the setting in errors (`web.bearer_token_file`).
    static func read(_ path: String, field: String) throws(MetricsError) -> [UInt8] {
        let secure = "chown root:hypervisor-viewers \(path) && chmod 0640 \(path)"
        func refusal(_ code: MetricsError.Code, _ reason: String, fix: String? = nil) -> MetricsError {
            MetricsError(code, "\(field): \(path) \(reason)", fix: fix)
        }
        func systemError(_ call: String, _ error: SystemError) -> MetricsError {
            refusal(.credentialsUnreadable, "cannot be \(call): \(error.reason)")
        }
        let tooLarge = refusal(.credentialsInvalid, "is larger than 64 KiB; it should hold one credential")

        // O_NONBLOCK: a FIFO put in the file's place must not hang the start; it is refused below.
        let descriptor: Descriptor
        let info: stat
        do {
            descriptor = try Descriptor.open(path, O_RDONLY | O_NONBLOCK)
        } catch {
            var refused = systemError("opened", error)
            refused.fix = "create it (scripts/setup.sh and the NixOS module do), then \(secure)"
            throw refused
        }
        do {
            info = try descriptor.status()
        } catch {
            throw systemError("examined", error)
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw refusal(.credentialsInsecure, "is not a regular file") }
        guard info.st_uid == 0 || info.st_uid == geteuid() else {
            throw refusal(
                .credentialsInsecure, "is owned by uid \(info.st_uid); only root or the monitor's user may own it",
                fix: secure)
        }
        let mode = info.st_mode & 0o7777
        guard mode & 0o027 == 0 else {
            let who = mode & 0o007 != 0 ? "others" : "its group"
            throw refusal(
                .credentialsInsecure, "is open to \(who) (mode 0\(String(mode, radix: 8))); it holds a credential",
                fix: secure)
        }
        guard info.st_size <= maximumBytes else { throw tooLarge }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while contents.count <= maximumBytes {
            let count: Int
            do {
                count = try descriptor.read(into: &chunk)
            } catch {
                throw systemError("read", error)
            }
            if count == 0 { return contents }
            contents += chunk[0..<count]
        }
        throw tooLarge
    }
}
