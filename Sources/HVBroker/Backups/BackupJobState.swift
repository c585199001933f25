import Foundation
import HVProtocol

/// The last run of each backup job, one JSON file per job in the broker's state directory
/// (`STATE/backup-jobs/JOB.json`, mode 0600), each written whole to a temporary file and renamed
/// over the old one, so a reader finds the previous run or the new one, never half of one.
public struct BackupJobState: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func path(of job: String) -> String { directory + "/" + job + ".json" }

    /// The job's last recorded run; nil when it never ran (or its file can't be read).
    public func lastRun(of job: String) -> BackupJobRun? {
        guard let data = FileManager.default.contents(atPath: path(of: job)) else { return nil }
        return try? JSONDecoder().decode(BackupJobRun.self, from: data)
    }

    public func record(_ run: BackupJobRun) throws(HVError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(run).write(to: URL(fileURLWithPath: path(of: run.job)), options: [.atomic])
            chmod(path(of: run.job), 0o600)
        } catch {
            throw HVError(
                .failed, "the run of backup job \(run.job) could not be recorded in \(directory): \(error.localizedDescription)",
                fix: "check that the broker's state directory is writable and not full"
            )
        }
    }
}

/// Whether a job is due: the schedule's next time after its last run began (or, before its first
/// run, after the configuration was written) has passed. `hv backup jobs run --due` runs those,
/// where no systemd timer does.
public enum BackupJobDue {
    /// `nextElapse(base)`: the schedule's next time after `base`, nil when it never elapses again.
    public static func isDue(
        lastStart: Date?, configured: Date, now: Date, nextElapse: (Date) throws(HVError) -> Date?
    ) throws(HVError) -> Bool {
        guard let next = try nextElapse(lastStart ?? configured) else { return false }
        return next <= now
    }
}
