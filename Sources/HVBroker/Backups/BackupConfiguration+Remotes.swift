import HVBackupSync
import HVProtocol

/// Copies off the host (docs/BACKUPS.md, "Copies off the host"): each names a repository of
/// the configuration and where `hv-broker backup-sync NAME` copies it, an SFTP server or a remote
/// of an rclone configuration file:
///
/// ```yaml
/// remotes:
///   offsite:
///     repository: local
///     sftp: {host: nas.lan, user: hvbackup, path: /srv/hv-backups,
///            identity_file: /etc/hypernixos/backup-sftp.key, known_hosts_file: /etc/hypernixos/backup-known-hosts}
///   cloud:
///     repository: local
///     rclone: {remote: "b2:hv-backups", config_file: /etc/hypernixos/rclone.conf}
///     remove_vanished: true     # the copy follows the repository's deletions (default: keeps all)
/// ```
extension BackupConfiguration {
    /// One copy off the host.
    public struct Remote: Sendable, Hashable {
        public var name: String
        /// The configured repository copied.
        public var repository: String
        public var target: SyncTarget
        /// Whether the copy follows the repository's deletions: a backup pruned or deleted here is
        /// removed there after the next copy, and the chunks no backup there uses with it.
        public var removeVanished: Bool

        public init(name: String, repository: String, target: SyncTarget, removeVanished: Bool = false) {
            self.name = name
            self.repository = repository
            self.target = target
            self.removeVanished = removeVanished
        }
    }

    /// The remote named `name`, or an error naming the configured ones.
    public func remote(named name: String, configurationPath: String) throws(BackupConfigurationError) -> Remote {
        guard let remote = remotes.first(where: { $0.name == name }) else {
            let known = remotes.isEmpty ? "none is configured" : "configured: \(remotes.map(\.name).joined(separator: ", "))"
            throw .backups(path: configurationPath, field: "remotes", reason: "there is no remote named '\(name)' (\(known))")
        }
        return remote
    }

    static func remotes(_ entries: [String: RemoteEntry], repositories: [Repository], path: String) throws(BackupConfigurationError) -> [Remote] {
        var remotes: [Remote] = []
        for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
            let field = "remotes.\(name)"
            do {
                try RepositoryName.validate(name, field: field)
            } catch {
                throw .backups(path: path, field: field, reason: error.reason)
            }
            guard repositories.contains(where: { $0.name == entry.repository }) else {
                throw .backups(
                    path: path, field: "\(field).repository",
                    reason: "names no repository of this file: '\(entry.repository)' (repositories: \(repositories.map(\.name).joined(separator: ", ")))"
                )
            }
            let target: SyncTarget
            switch (entry.sftp, entry.rclone) {
            case (let sftp?, nil):
                target = .sftp(
                    SyncTarget.SFTPServer(
                        host: sftp.host, port: sftp.port ?? 22, user: sftp.user, path: sftp.path, identityFile: sftp.identityFile,
                        knownHostsFile: sftp.knownHostsFile
                    )
                )
            case (nil, let rclone?):
                target = .rclone(remote: rclone.remote, configFile: rclone.configFile)
            default:
                throw .backups(path: path, field: field, reason: "must have exactly one of 'sftp' and 'rclone'")
            }
            do {
                try target.validate()
            } catch {
                throw .backups(path: path, field: "\(field).\(error.field ?? "")", reason: error.reason)
            }
            // Copies of one repository in one place hold the same files; of two, each would remove the other's chunks.
            if let other = remotes.first(where: { $0.repository != entry.repository && $0.target.sharesPlace(with: target) }) {
                throw .backups(
                    path: path, field: field,
                    reason: "copies repository '\(entry.repository)' to \(target.description), where remote '\(other.name)' copies repository "
                        + "'\(other.repository)' to \(other.target.description): copies of two repositories in one place, or one inside "
                        + "the other, would remove each other's chunks",
                    fix: "give each remote a directory of its own, none inside another"
                )
            }
            remotes.append(Remote(name: name, repository: entry.repository, target: target, removeVanished: entry.removeVanished ?? false))
        }
        return remotes
    }

    /// A remote as written.
    struct RemoteEntry: Codable {
        var repository: String
        var sftp: SFTPEntry?
        var rclone: RcloneEntry?
        var removeVanished: Bool?

        enum CodingKeys: String, CodingKey {
            case repository, sftp, rclone
            case removeVanished = "remove_vanished"
        }
    }

    struct SFTPEntry: Codable {
        var host: String
        var port: Int?
        var user: String
        var path: String
        var identityFile: String
        var knownHostsFile: String

        enum CodingKeys: String, CodingKey {
            case host, port, user, path
            case identityFile = "identity_file"
            case knownHostsFile = "known_hosts_file"
        }
    }

    struct RcloneEntry: Codable {
        var remote: String
        var configFile: String

        enum CodingKeys: String, CodingKey {
            case remote
            case configFile = "config_file"
        }
    }
}
