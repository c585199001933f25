import Foundation

/// Reads secrets (SMTP passwords, webhook URLs) from files that only the monitor's user may read.
public enum SecretFile {
    /// The file's text without its trailing newline. Refuses a file that is not a regular file, not
    /// owned by this process's user, or readable or writable by group or others.
    public static func read(_ path: String, field: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw AlertingError(
                .insecureSecret, "\(field): cannot read \(path): \(String(cString: strerror(errno)))",
                fix: "create the file, owned by the monitor's user, with mode 0600")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw AlertingError(.insecureSecret, "\(field): \(path) is not a regular file")
        }
        guard info.st_uid == geteuid() else {
            throw AlertingError(
                .insecureSecret, "\(field): \(path) is owned by uid \(info.st_uid), not by the monitor's user (uid \(geteuid()))",
                fix: "chown the file to the monitor's user")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw AlertingError(
                .insecureSecret,
                "\(field): \(path) is accessible by group or others (mode \(String(info.st_mode & 0o777, radix: 8)))",
                fix: "chmod 600 \(path)")
        }
        guard info.st_size <= 64 * 1024 else {
            throw AlertingError(.insecureSecret, "\(field): \(path) is larger than 64 KiB; it should hold one secret")
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw AlertingError(.insecureSecret, "\(field): cannot read \(path): \(error.localizedDescription)")
        }
        var secret = Substring(text)
        while secret.last?.isNewline == true { secret.removeLast() }
        guard !secret.isEmpty else { throw AlertingError(.insecureSecret, "\(field): \(path) is empty") }
        return String(secret)
    }
}
