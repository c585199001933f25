import HVProtocol

/// `org.hypernixos.Backup`: pruning by a retention, and the scheduled backup jobs.
extension BrokerClient {
    public func pruneBackups(
        repository: String?, machine: String?, retention: BackupRetention, dryRun: Bool, progress: (WorkProgress) -> Void
    ) throws(HVError) -> BackupPruneReply {
        try streamed(
            Method.backupPrune, BackupPruneParameters(repository: repository, machine: machine, retention: retention, dryRun: dryRun),
            as: BackupPruneReply.self, progress
        )
    }

    /// Runs a job now; the result lists each machine's outcome.
    public func runBackupJob(_ job: String, progress: (WorkProgress) -> Void) throws(HVError) -> BackupJobRun {
        try streamed(Method.backupRunJob, BackupRunJobParameters(job: job), as: BackupRunJobReply.self, progress).run
    }

    public func backupJobs() throws(HVError) -> [BackupJobInfo] {
        try connection.call(Method.backupJobs, NoParameters(), as: BackupJobsReply.self).jobs
    }
}
