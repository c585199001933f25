/// Where a repository is copied to: a directory on an SFTP server (OpenSSH's `sftp` subsystem,
/// reached with a key and a pinned host key), or a path on any remote of an rclone configuration
/// file (S3-compatible storage, Backblaze B2, another SFTP server…). Both are written by the
/// administrator in the backup configuration; nothing here comes from a client.
public enum SyncTarget: Sendable, Hashable {
    case sftp(SFTPServer)
    case rclone(remote: String, configFile: String)

    /// A directory on an SFTP server.
    public struct SFTPServer: Sendable, Hashable {
        public var host: String
        public var port: Int
        public var user: String
        /// The repository copy's directory on the server, absolute.
        public var path: String
        /// The private key rclone logs in with (root-owned, mode 0600).
        public var identityFile: String
        /// The server's host key in OpenSSH `known_hosts` form: a server that shows another key is
        /// refused.
        public var knownHostsFile: String

        public init(host: String, port: Int = 22, user: String, path: String, identityFile: String, knownHostsFile: String) {
            self.host = host
            self.port = port
            self.user = user
            self.path = path
            self.identityFile = identityFile
            self.knownHostsFile = knownHostsFile
        }
    }

    /// Checks every field; the error names the field (`sftp.host`) and what it must be.
    public func validate() throws(SyncError) {
        switch self {
        case .sftp(let server):
            guard !server.host.isEmpty, server.host.count <= 253,
                server.host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }),
                !server.host.hasPrefix("-")
            else {
                throw Self.invalid("sftp.host", "must be a host name or IPv4 address (letters, digits, '.', '-'), got '\(server.host)'")
            }
            guard (1...65535).contains(server.port) else { throw Self.invalid("sftp.port", "must be from 1 to 65535, got \(server.port)") }
            guard !server.user.isEmpty, server.user.count <= 32, let first = server.user.first, first.isLetter || first == "_",
                server.user.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") })
            else {
                throw Self.invalid("sftp.user", "must be a user name (letters, digits, '_', '-', '.'), got '\(server.user)'")
            }
            try Self.checkPath(server.path, field: "sftp.path")
            try Self.checkPath(server.identityFile, field: "sftp.identity_file")
            try Self.checkPath(server.knownHostsFile, field: "sftp.known_hosts_file")
        case .rclone(let remote, let configFile):
            let parts = remote.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let name = parts.first, !name.isEmpty, name.count <= 64,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }),
                !name.hasPrefix("-"), Self.isPlain(String(parts[1])), !parts[1].split(separator: "/").contains("..")
            else {
                throw Self.invalid(
                    "rclone.remote", "must be NAME:PATH, a remote of the rclone configuration file and a path on it without '..', got '\(remote)'"
                )
            }
            try Self.checkPath(configFile, field: "rclone.config_file")
        }
    }

    /// What rclone is given for `relative` (a path inside the repository copy; "" for its root).
    public func location(_ relative: String = "") -> String {
        switch self {
        case .sftp(let server):
            let options = [
                "host=\(server.host)", "port=\(server.port)", "user=\(server.user)", "key_file=\(server.identityFile)",
                "known_hosts_file=\(server.knownHostsFile)", "disable_hashcheck=true",
            ]
            return ":sftp,\(options.joined(separator: ",")):" + Self.join(server.path, relative)
        case .rclone(let remote, _):
            return Self.join(remote, relative)
        }
    }

    /// The rclone configuration file: none for an SFTP server, which is described in full by its
    /// location.
    public var configFile: String? {
        if case .rclone(_, let file) = self { return file }
        return nil
    }

    /// Whether a copy here and a copy at `other` may share files: the same place, or one inside
    /// the other. Two repositories copied there would each take the other's chunks for ones
    /// nothing uses (their `repository.json` can be byte for byte the same). Places are compared
    /// as written, with `.` and repeated or trailing `/` left out: an SFTP server by host (any
    /// case) and port, whatever the user (users share a server's directories unless it gives
    /// each a chroot of its own); an rclone remote by its configuration file and name. Two names
    /// for one place (an rclone alias, a path relative to a home directory) are not recognised.
    public func sharesPlace(with other: SyncTarget) -> Bool {
        let (mine, theirs) = (place, other.place)
        guard mine.root == theirs.root else { return false }
        let shorter = min(mine.path.count, theirs.path.count)
        return mine.path.prefix(shorter) == theirs.path.prefix(shorter)
    }

    /// The server or remote, and the path's components on it.
    private var place: (root: String, path: [Substring]) {
        func components(_ path: some StringProtocol) -> [Substring] {
            path.split(separator: "/").map { Substring($0) }.filter { $0 != "." }
        }
        switch self {
        case .sftp(let server):
            return ("sftp \(server.host.lowercased()):\(server.port)", components(server.path))
        case .rclone(let remote, let configFile):
            let parts = remote.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            return ("rclone \(configFile) \(parts.first ?? "")", components(parts.count == 2 ? parts[1] : ""))
        }
    }

    /// For logs and errors: where the copy goes, without the key's path.
    public var description: String {
        switch self {
        case .sftp(let server): "sftp://\(server.user)@\(server.host):\(server.port)\(server.path)"
        case .rclone(let remote, _): remote
        }
    }

    private static func join(_ base: String, _ relative: String) -> String {
        guard !relative.isEmpty else { return base }
        return base.hasSuffix("/") || base.hasSuffix(":") ? base + relative : base + "/" + relative
    }

    /// An absolute path without `..`, and without the characters rclone's connection strings
    /// give a meaning to.
    private static func checkPath(_ path: String, field: String) throws(SyncError) {
        guard path.hasPrefix("/"), !path.split(separator: "/").contains(".."), isPlain(path) else {
            throw Self.invalid(field, "must be an absolute path without '..', ',', ':', quotes or control characters, got '\(path)'")
        }
    }

    private static func isPlain(_ text: String) -> Bool {
        !text.contains { $0 == "," || $0 == ":" || $0 == "\"" || $0 == "'" || $0.isNewline || ($0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? false) }
    }

    private static func invalid(_ field: String, _ reason: String) -> SyncError {
        SyncError(
            .invalidTarget, "\(field) \(reason)", fix: "correct it in the backup configuration (docs/BACKUPS.md, \"Copies off the host\")",
            field: field
        )
    }
}
