import Foundation
import HVBackupStore
import HVProtocol
import Logging
import Synchronization

/// The repositories of the backup configuration, opened (or made, in a directory that is empty or
/// absent) when the broker starts and, for one that could not be opened then (a NAS not mounted
/// yet), again when a request names it. Requests name a repository; none is ever a path.
public final class BackupRepositories: Sendable {
    public let configuration: BackupConfiguration
    /// Where the configuration was read from, for the errors that tell an administrator to edit it.
    public let configurationPath: String
    private let opened = Mutex<[String: Repository]>([:])
    /// The machines being backed up now: one backup of a machine at a time.
    private let running = Claims()
    /// The jobs running now: one run of a job at a time.
    private let runningJobs = Claims()

    public init(configuration: BackupConfiguration = BackupConfiguration(), configurationPath: String = BackupConfiguration.defaultPath) {
        self.configuration = configuration
        self.configurationPath = configurationPath
    }

    public var names: [String] { configuration.repositories.map(\.name) }

    /// Opens every repository and recovers what killed writers left in it, logging what it
    /// cleaned; a repository that can't be opened is logged and tried again when it is named.
    public func openAll(logger: Logger) {
        for entry in configuration.repositories {
            do throws(HVError) {
                let repository = try open(entry)
                let report = try Self.store { () throws(BackupError) in try repository.recover() }
                var metadata: Logger.Metadata = ["repository": "\(entry.name)", "path": "\(entry.path)"]
                if report.isEmpty {
                    logger.info("backup repository opened", metadata: metadata)
                } else {
                    metadata["unfinished backups removed"] = "\(report.unfinishedBackups.joined(separator: ", "))"
                    metadata["unfinished deletions finished"] = "\(report.unfinishedDeletions.joined(separator: ", "))"
                    metadata["stale writers removed"] = "\(report.staleWriters.joined(separator: ", "))"
                    metadata["temporary files removed"] = "\(report.temporaryFiles)"
                    logger.notice("backup repository opened; removed what interrupted backups left", metadata: metadata)
                }
            } catch {
                logger.error(
                    "backup repository could not be opened; it is tried again when a request names it",
                    metadata: ["repository": "\(entry.name)", "path": "\(entry.path)", "error": "\(error.reason)"]
                )
            }
        }
    }

    /// The repository a request names, or the only one when it names none.
    public func repository(named name: String?) throws(HVError) -> (name: String, repository: Repository) {
        let entry = try self.entry(named: name)
        if let repository = opened.withLock({ $0[entry.name] }) { return (entry.name, repository) }
        return (entry.name, try open(entry))
    }

    /// The configured repository a request names, or the only one.
    func entry(named name: String?) throws(HVError) -> BackupConfiguration.Repository {
        let all = configuration.repositories
        guard !all.isEmpty else {
            throw HVError(
                .invalidState, "no backup repository is configured on this host",
                fix: "an administrator must add one to \(configurationPath) and restart the broker (docs/BACKUPS.md, \"Using backups\")",
                details: ["name": "repository", "state": "none configured"]
            )
        }
        guard let name else {
            guard all.count == 1 else {
                throw .invalidParameter(
                    "repository", "this host has \(all.count) backup repositories, so the request must name one",
                    fix: "name one of: \(names.joined(separator: ", "))"
                )
            }
            return all[0]
        }
        guard let entry = all.first(where: { $0.name == name }) else {
            throw .invalidParameter(
                "repository", "there is no backup repository named '\(name)'", fix: "name one of: \(names.joined(separator: ", "))"
            )
        }
        return entry
    }

    /// Opens the repository, making it first in a directory that is empty or absent (mode 0700).
    private func open(_ entry: BackupConfiguration.Repository) throws(HVError) -> Repository {
        let repository = try Self.store { () throws(BackupError) in
            let key = try entry.keyFile.map { path throws(BackupError) in try KeyFile.load(path) }
            if Self.isEmptyOrAbsent(entry.path) {
                let parent = (entry.path as NSString).deletingLastPathComponent
                do {
                    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                } catch {
                    throw BackupError(.ioFailed, "cannot create \(parent) for the repository \(entry.name): \(error.localizedDescription)")
                }
                return try Repository.create(at: entry.path, chunkSize: entry.chunkSize, key: key)
            }
            return try Repository.open(at: entry.path, key: key)
        }
        opened.withLock { $0[entry.name] = repository }
        return repository
    }

    private static func isEmptyOrAbsent(_ path: String) -> Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else {
            return !FileManager.default.fileExists(atPath: path)
        }
        return names.allSatisfy { $0 == "lost+found" }
    }

    /// Runs a repository operation, its errors as the broker's.
    static func store<T>(_ body: () throws(BackupError) -> T) throws(HVError) -> T {
        do {
            return try body()
        } catch {
            throw error.hvError
        }
    }

    /// Marks `machine` as being backed up, before its backup waits for a thread: a second backup
    /// of it, by anyone, is refused until `release`.
    func claim(_ machine: String) throws(HVError) {
        try running.claim(
            machine, else: "a backup of '\(machine)' is already running", state: "backing up",
            fix: "wait for it to finish; 'hv backup list \(machine)' shows it once it is done"
        )
    }

    func release(_ machine: String) {
        running.release(machine)
    }

    /// Marks the job as running: a second run of it is refused at once until `releaseJob`.
    func claimJob(_ job: String) throws(HVError) {
        try runningJobs.claim(
            job, else: "backup job '\(job)' is already running", state: "running",
            fix: "wait for it to finish; 'hv backup jobs' shows its outcome once it is done"
        )
    }

    func releaseJob(_ job: String) {
        runningJobs.release(job)
    }

    func isRunning(job: String) -> Bool {
        runningJobs.contains(job)
    }
}

/// Names each held by one holder at a time.
private final class Claims: Sendable {
    private let names = Mutex<Set<String>>([])

    /// Holds `name`; when it is held already, refuses with `reason` (`InvalidState`).
    func claim(_ name: String, else reason: String, state: String, fix: String) throws(HVError) {
        guard names.withLock({ $0.insert(name).inserted }) else {
            throw HVError(.invalidState, reason, fix: fix, details: ["name": name, "state": state])
        }
    }

    func release(_ name: String) { _ = names.withLock { $0.remove(name) } }
    func contains(_ name: String) -> Bool { names.withLock { $0.contains(name) } }
}
