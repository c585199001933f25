import ArgumentParser
import Foundation
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
        discussion: "Run as root. Sends only what the copy lacks, manifests last; deletes nothing there. See docs/BACKUPS.md, \"Copies off the host\"."
    )

    @Argument(help: "The remote's name in the backup configuration.") var remote: String
    // The broker's own options (--backup-config, --state-dir, --tool) would take these values
    // first, so this command's have names of their own.
    @Option(name: .customLong("config"), help: "The backup configuration.") var backupConfig = BackupConfiguration.defaultPath
    @Option(help: "Where each remote's lock, rclone cache and last result are kept (DIR/REMOTE).") var workDir = "/var/lib/hypervisor/backup-sync"
    @Option(help: "rclone, by absolute path (otherwise looked for in /usr/bin, /usr/local/bin and /run/current-system/sw/bin).")
    var rclone: String?
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        guard getuid() == 0 else { throw ValidationError("run it as root: it reads the repository, which only root may") }
    }

    func run() throws {
        // Standard output is for the result (--json); the progress goes to standard error, and so to the journal.
        var logger = Logger(label: "hv-broker.backup-sync") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .info
        let started = Date()
        let state = SyncState(directory: workDir + "/" + remote)
        do {
            let configuration = try BackupConfiguration.load(path: backupConfig)
            let remote = try configuration.remote(named: remote, configurationPath: backupConfig)
            guard let repository = configuration.repositories.first(where: { $0.name == remote.repository }) else {
                throw ValidationError("the remote \(remote.name) names no repository")
            }
            try state.createDirectory()
            let locator = try ToolLocator.configured(rclone.map { ["rclone=\($0)"] } ?? [])
            let engine = try Rclone(target: remote.target, runner: ProcessRunner(locator: locator, logger: logger), workDirectory: state.directory)
            logger.info("copying", metadata: ["repository": "\(repository.name)", "path": "\(repository.path)", "to": "\(remote.target.description)"])
            let report = try RepositorySync(repository: repository.path, rclone: engine, logger: logger).run { progress in
                logger.info("\(progress.phase)", metadata: ["bytes": "\(progress.bytesDone)", "of": "\(progress.bytesTotal)"])
            }
            try state.record(SyncState.Outcome(started: started, finished: Date(), report: report, error: nil))
            if json {
                print(String(decoding: try JSONEncoder.sorted.encode(report), as: UTF8.self))
            } else {
                print(Self.summary(report))
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            let text = "\(error)"
            try? state.record(SyncState.Outcome(started: started, finished: Date(), report: nil, error: text))
            FileHandle.standardError.write(Data("hv-broker backup-sync: \(text)\n".utf8))
            throw ExitCode(1)
        }
    }

    static func summary(_ report: RepositorySync.Report) -> String {
        var lines = [
            "copied to \(report.target): \(report.chunksCopied) chunks (\(report.bytesCopied) bytes), \(report.chunksAlreadyThere) already there",
            "backups added: \(report.backupsCopied.isEmpty ? "none" : report.backupsCopied.joined(separator: ", "))",
        ]
        if !report.manifestsUpdated.isEmpty { lines.append("manifests sent again: \(report.manifestsUpdated.joined(separator: ", "))") }
        lines.append("the copy holds \(report.backupsThere) backups")
        if !report.backupsOnlyThere.isEmpty {
            lines.append("only in the copy (pruned here): \(report.backupsOnlyThere.joined(separator: ", "))")
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
