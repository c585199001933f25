import Foundation
import HVBackupStore
import HVProtocol
import HVSpec
import HVYAML
import Yams

/// The administrator's backup repositories, read from `/etc/hypernixos/backup.yaml` (root-owned;
/// the broker's `--backup-config` option):
///
/// ```yaml
/// repositories:
///   local: {path: /var/lib/hypervisor/backups}
///   nas: {path: /mnt/nas/hv-backups, key_file: /etc/hypernixos/backup-nas.key, chunk_size: 4MiB}
/// ```
///
/// and the scheduled jobs that back machines up into them (`BackupJob`). A missing file means no
/// repositories and no jobs. Clients name a repository, never a path.
public struct BackupConfiguration: Sendable, Hashable {
    /// One repository: a directory, optionally encrypted with a key file, and the chunk size a
    /// new repository is made with (an existing one keeps its own).
    public struct Repository: Sendable, Hashable {
        public var name: String
        public var path: String
        public var keyFile: String?
        public var chunkSize: Int

        public init(name: String, path: String, keyFile: String? = nil, chunkSize: Int = HVBackupStore.Repository.defaultChunkSize) {
            self.name = name
            self.path = path
            self.keyFile = keyFile
            self.chunkSize = chunkSize
        }
    }

    public static let defaultPath = "/etc/hypernixos/backup.yaml"

    /// By name.
    public var repositories: [Repository]
    /// Where repositories are copied off the host, by name (`BackupConfiguration+Remotes.swift`).
    public var remotes: [Remote]
    /// By name.
    public var jobs: [BackupJob]

    public init(repositories: [Repository] = [], remotes: [Remote] = [], jobs: [BackupJob] = []) {
        self.repositories = repositories.sorted { $0.name < $1.name }
        self.remotes = remotes.sorted { $0.name < $1.name }
        self.jobs = jobs.sorted { $0.name < $1.name }
    }

    /// Reads the file; a missing file gives no repositories, anything unreadable or invalid is an
    /// error naming the file and the key, so the broker refuses to start on a typo. `calendar`
    /// checks the jobs' schedules (nil: only their form).
    public static func load(path: String, calendar: SystemdCalendar? = nil) throws(BackupConfigurationError) -> BackupConfiguration {
        guard FileManager.default.fileExists(atPath: path) else { return BackupConfiguration() }
        return try read(path: path, calendar: calendar) { () throws(YAMLError) in try YAMLReader.root(contentsOfFile: path) }
    }

    /// Parses the configuration's YAML; unknown keys are refused with their path.
    public static func parse(
        _ text: String, path: String = "backup.yaml", calendar: SystemdCalendar? = nil
    ) throws(BackupConfigurationError) -> BackupConfiguration {
        try read(path: path, calendar: calendar) { () throws(YAMLError) in try YAMLReader.root(text, name: path) }
    }

    /// The job named `name`.
    public func job(named name: String) -> BackupJob? {
        jobs.first { $0.name == name }
    }

    private static func read(
        path: String, calendar: SystemdCalendar?, _ root: () throws(YAMLError) -> Node?
    ) throws(BackupConfigurationError) -> BackupConfiguration {
        let document: Node?
        do {
            document = try root()
        } catch {
            throw BackupConfigurationError.backups(path: path, field: error.path, reason: error.located, fix: error.fix)
        }
        guard let document else { return BackupConfiguration() }
        guard case .object(let object) = JSONValue(yaml: document) else {
            throw BackupConfigurationError.backups(path: path, field: "", reason: "must be a mapping with the keys 'repositories' and 'jobs'")
        }
        let file: File
        do {
            file = try StrictDecoding.decode(File.self, from: object)
        } catch {
            throw BackupConfigurationError.backups(path: path, field: error.details["parameter"] ?? "", reason: error.reason)
        }
        var repositories: [Repository] = []
        for (name, entry) in file.repositories ?? [:] {
            let field = "repositories.\(name)"
            do {
                try RepositoryName.validate(name, field: field)
            } catch {
                throw BackupConfigurationError.backups(path: path, field: field, reason: error.reason)
            }
            for (key, value) in [("path", entry.path), ("key_file", entry.keyFile)] {
                guard let value, !value.hasPrefix("/") || value.split(separator: "/").contains("..") else { continue }
                throw BackupConfigurationError.backups(
                    path: path, field: "\(field).\(key)", reason: "must be an absolute path without '..', got '\(value)'"
                )
            }
            let chunkSize = entry.chunkSize?.bytes ?? UInt64(HVBackupStore.Repository.defaultChunkSize)
            guard chunkSize >= 4096, chunkSize <= 64 << 20, chunkSize % 4096 == 0 else {
                throw BackupConfigurationError.backups(
                    path: path, field: "\(field).chunk_size", reason: "must be a multiple of 4KiB from 4KiB to 64MiB, got \(chunkSize) bytes",
                    fix: "leave it out for 4MiB"
                )
            }
            repositories.append(Repository(name: name, path: entry.path, keyFile: entry.keyFile, chunkSize: Int(chunkSize)))
        }
        let paths = Dictionary(grouping: repositories, by: \.path)
        if let shared = paths.first(where: { $0.value.count > 1 }) {
            throw BackupConfigurationError.backups(
                path: path, field: "repositories", reason: "\(shared.value.map(\.name).sorted().joined(separator: " and ")) name the same directory \(shared.key)"
            )
        }
        var jobs: [BackupJob] = []
        for (name, entry) in (file.jobs ?? [:]).sorted(by: { $0.key < $1.key }) {
            do throws(ConfigurationKeyError) {
                jobs.append(try BackupJob.read(name, entry, repositories: repositories.map(\.name).sorted(), calendar: calendar))
            } catch {
                throw BackupConfigurationError.backups(path: path, field: error.field, reason: error.reason, fix: error.fix)
            }
        }
        let remotes = try Self.remotes(file.remotes ?? [:], repositories: repositories, path: path)
        return BackupConfiguration(repositories: repositories, remotes: remotes, jobs: jobs)
    }

    /// The file as written.
    struct File: Codable {
        var repositories: [String: Entry]?
        var remotes: [String: RemoteEntry]?
        var jobs: [String: BackupJob.Entry]?
    }

    struct Entry: Codable {
        var path: String
        var keyFile: String?
        var chunkSize: ByteSize?

        enum CodingKeys: String, CodingKey {
            case path
            case keyFile = "key_file"
            case chunkSize = "chunk_size"
        }
    }
}

/// The backup configuration is wrong; the broker does not start until it is fixed.
public typealias BackupConfigurationError = ConfigurationFileError

extension ConfigurationFileError {
    /// An error in the backup configuration at `path`.
    static func backups(path: String, field: String, reason: String, fix: String? = nil) -> ConfigurationFileError {
        ConfigurationFileError(path: path, field: field, reason: reason, fix: fix, guide: "docs/BACKUPS.md, \"Using backups\"")
    }
}
