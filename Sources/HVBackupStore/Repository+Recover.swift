import Glibc
import HVSystem

/// What `Repository.recover()` found left behind and removed.
public struct RecoveryReport: Hashable, Sendable {
    /// Backups whose writer stopped before committing: their partial directories were removed.
    public var unfinishedBackups: [String] = []
    /// Deletions that stopped midway and were finished.
    public var unfinishedDeletions: [String] = []
    /// Registrations of writers that are no longer running.
    public var staleWriters: [String] = []
    /// Temporary files of writers that are no longer running.
    public var temporaryFiles = 0

    public var isEmpty: Bool {
        unfinishedBackups.isEmpty && unfinishedDeletions.isEmpty && staleWriters.isEmpty && temporaryFiles == 0
    }
}

extension Repository {
    /// Removes what writers that were killed, and deletions that were interrupted, left behind:
    /// partial backups, registrations and temporary files of writers no longer running, and half
    /// deleted backups. A writer still at work is left alone, in this process or another. Call it
    /// when the broker starts.
    public func recover() throws(BackupError) -> RecoveryReport {
        var report = RecoveryReport()
        try catching("recover the repository \(path)") { () throws(SystemError) in
            for name in try backups.entryNames() {
                if name.hasPrefix(Self.partialPrefix) {
                    let id = String(name.dropFirst(Self.partialPrefix.count))
                    guard try !WriterRegistry.isLive(id, in: writers) else { continue }
                    try removeDirectory(name, in: backups)
                    report.unfinishedBackups.append(id)
                } else if name.hasPrefix(Self.deletingPrefix) {
                    try removeDirectory(name, in: backups)
                    report.unfinishedDeletions.append(String(name.dropFirst(Self.deletingPrefix.count)))
                }
            }
            for name in try writers.entryNames() where try WriterRegistry.removeIfDead(name, in: writers) {
                if !name.hasPrefix(".") { report.staleWriters.append(name) }
            }
            let temporary = chunks.temporary
            for name in try temporary.entryNames() {
                // A writer's files are named after its id; a collector's stamp lives for an instant.
                let owner = String(name.prefix(29))
                if BackupID.isValid(owner), try WriterRegistry.isLive(owner, in: writers) { continue }
                try temporary.removeEntry(name)
                report.temporaryFiles += 1
            }
        }
        report.unfinishedBackups.sort()
        report.unfinishedDeletions.sort()
        report.staleWriters.sort()
        return report
    }
}
