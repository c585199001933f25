import ArgumentParser
import Foundation
import HVBackupStore
import HVBackupSync
import HVBroker
import HVImages
import Logging

/// `hv-broker backup-sync REMOTE`: copies a backup repository off the host, to the remote of that
/// name in the backup configuration. It runs beside the broker, not in it: the broker has no
/// network (`PrivateNetwork=yes`), and this command needs nothing but the repository's files
/// and the network. The systemd unit `hypernixos-backup-sync@REMOTE` runs it on a timer.
struct BackupSyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup-sync",
        abstract: "Copy a backup repository to a remote of the backup configuration (SFTP or rclone).",
        discussion: """
            Run as root. Sends only what the copy lacks, manifests last; deletes nothing there, unless the remote sets \
            remove_vanished: then backups no longer in the repository, and the chunks no backup there uses, are removed after the copy. \
            See docs/BACKUPS.md, "Copies off the host".
            """
    )

    @Argument(help: "The remote's name in the backup configuration.") var remote: String?
    @Flag(help: "Instead of one remote, copy to each remote whose last copy began a day ago or more (an hour, when it failed), or never: where no systemd timer runs the copies.")
    var due = false
    // The broker's own options (--backup-config, --state-dir, --tool) would take these values
    // first, so this command's have names of their own.
    @Option(name: .customLong("config"), help: "The backup configuration.") var backupConfig = BackupConfiguration.defaultPath
    @Option(help: "Where each remote's lock, rclone cache and last result are kept (DIR/REMOTE).") var workDir = "/var/lib/hypervisor/backup-sync"
    @Option(help: "rclone, by absolute path (otherwise looked for in /usr/bin, /usr/local/bin and /run/current-system/sw/bin).")
    var rclone: String?
    @Flag(help: "Print the result as JSON.") var json = false

    /// How long after a copy began `--due` copies again: a day, or an hour after one that failed.
    static let dueAfter: TimeInterval = 24 * 3600
    static let retryAfter: TimeInterval = 3600

    func validate() throws {
        guard getuid() == 0 else { throw ValidationError("run it as root: it reads the repository, which only root may") }
        guard (remote == nil) == due else { throw ValidationError("name one remote, or give --due (and no remote)") }
    }

    func run() throws {
        guard due else { return try copy(to: remote ?? "") }
        let configuration: BackupConfiguration
        do {
            configuration = try BackupConfiguration.load(path: backupConfig)
        } catch {
            FileHandle.standardError.write(Data("hv-broker backup-sync: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let now = Date()
        let due = configuration.remotes.map(\.name).filter { name in
            guard let last = SyncState(directory: workDir + "/" + name).last() else { return true }
            return now.timeIntervalSince(last.started) >= (last.report == nil ? Self.retryAfter : Self.dueAfter)
        }
        guard !due.isEmpty else { return print("no copy is due") }
        var failed = false
        for name in due {
            do {
                try copy(to: name)
            } catch {
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// Copies to the remote `name`, recording the outcome; a name the configuration lacks is
    /// refused before anything is written.
    func copy(to name: String) throws {
        // Standard output is for the result (--json); the progress goes to standard error, and so to the journal.
        var logger = Logger(label: "hv-broker.backup-sync") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .info
        let started = Date()
        let remote: BackupConfiguration.Remote
        let repository: BackupConfiguration.Repository
        do {
            let configuration = try BackupConfiguration.load(path: backupConfig)
            remote = try configuration.remote(named: name, configurationPath: backupConfig)
            guard let named = configuration.repositories.first(where: { $0.name == remote.repository }) else {
                throw ValidationError("the remote \(remote.name) names no repository")
            }
            repository = named
        } catch {
            FileHandle.standardError.write(Data("hv-broker backup-sync: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let state = SyncState(directory: workDir + "/" + remote.name)
        do {
            try state.createDirectory()
            let locator = try ToolLocator.configured(rclone.map { ["rclone=\($0)"] } ?? [])
            let engine = try Rclone(target: remote.target, runner: ProcessRunner(locator: locator, logger: logger), workDirectory: state.directory)
            logger.info("copying", metadata: ["repository": "\(repository.name)", "path": "\(repository.path)", "to": "\(remote.target.description)"])
            let chunksInUse = remote.removeVanished ? try Self.chunksInUse(repository) : nil
            let sync = RepositorySync(repository: repository.path, rclone: engine, chunksInUse: chunksInUse, logger: logger)
            let report = try sync.run { progress in
                logger.info("\(progress.phase)", metadata: ["bytes": "\(progress.bytesDone)", "of": "\(progress.bytesTotal)"])
            }
            try state.record(SyncState.Outcome(started: started, finished: Date(), report: report, error: nil))
            if json {
                print(String(decoding: try JSONEncoder.sorted.encode(report), as: UTF8.self))
            } else {
                print(Self.summary(report))
            }
        } catch {
            let text = "\(error)"
            try? state.record(SyncState.Outcome(started: started, finished: Date(), report: nil, error: text))
            FileHandle.standardError.write(Data("hv-broker backup-sync: \(text)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// What a copy that follows the repository's deletions keeps: the chunks the backups left in
    /// it use, read from the repository's indexes (opened with its key when it is encrypted).
    static func chunksInUse(_ configured: BackupConfiguration.Repository) throws -> @Sendable ([String]) throws -> Set<String> {
        let key = try configured.keyFile.map { path throws(BackupError) in try KeyFile.load(path) }
        let repository = try HVBackupStore.Repository.open(at: configured.path, key: key)
        return { ids in try repository.chunkPaths(usedBy: ids) }
    }

    static func summary(_ report: RepositorySync.Report) -> String {
        var lines = [
            "copied to \(report.target): \(report.chunksCopied) chunks (\(report.bytesCopied) bytes), \(report.chunksAlreadyThere) already there",
            "backups added: \(report.backupsCopied.isEmpty ? "none" : report.backupsCopied.joined(separator: ", "))",
        ]
        if !report.manifestsUpdated.isEmpty { lines.append("manifests sent again: \(report.manifestsUpdated.joined(separator: ", "))") }
        lines.append("backups in the copy: \(report.backupsThere)")
        if !report.backupsOnlyThere.isEmpty {
            lines.append("only in the copy (pruned here): \(report.backupsOnlyThere.joined(separator: ", "))")
        }
        if let removed = report.removed {
            let backups = removed.backups.isEmpty ? "no backup" : "backups \(removed.backups.joined(separator: ", "))"
            lines.append("removed from the copy (no longer here): \(backups), \(removed.chunks) chunks (\(removed.bytes) bytes)")
            if let reason = removed.chunksKeptBecause { lines.append("no chunk removed: \(reason)") }
        }
        return lines.joined(separator: "\n")
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return encoder
    }
}
