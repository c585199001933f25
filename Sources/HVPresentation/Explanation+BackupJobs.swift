import HVProtocol

/// `hv backup prune` and `hv backup jobs …`: what the repository and the job runner do (docs/BACKUPS.md).
extension Explanation {
    public static func backupPrune(dryRun: Bool) -> Explanation {
        Explanation(
            commands: [
                "(for each machine: keep the newest N, and the newest of each of the last N hours, days, weeks, months, years)",
                dryRun ? "(a dry run: nothing is removed)" : "rm -r REPOSITORY/backups/ID    # each backup no rule keeps",
                dryRun ? "" : "rm REPOSITORY/chunks/…        # each chunk no backup uses, last touched before the oldest backup being written",
            ].filter { !$0.isEmpty },
            why: "Applies the retention to each machine's backups, as restic's forget and Proxmox Backup Server's prune do: a backup kept by any rule is kept, and the result names the rules that keep it. "
                + "The backups no rule keeps are removed, then the chunks no backup uses any more; a chunk a backup being written meanwhile may use is never removed.",
            operation: .backupPrune
        )
    }

    public static func backupRunJob(_ job: String) -> Explanation {
        Explanation(
            commands: [
                "hv backup create MACHINE --repository R    # each machine the job selects, in turn",
                "hv backup prune --vm MACHINE --keep-…        # the job's retention, for that machine",
                "hv backup verify NEWEST                      # when the job's verify interval says it is due",
                "hv backup boot-test NEWEST                   # when the job's boot_test interval says it is due",
            ],
            why: "Runs backup job \(job) now, as its timer would: each machine it selects by name, tag or all is backed up (incremental when it can be), then the job's retention is applied to that machine's backups, then its newest backup is verified, then boot-tested, when due. "
                + "One machine's failure does not stop the others; the result, kept by the broker as the job's last run, lists each machine's outcome.",
            operation: .backupRunJob
        )
    }

    public static func backupJobs() -> Explanation {
        Explanation(
            commands: ["systemd-analyze calendar --iterations=1 SCHEDULE    # each job's next run"],
            why: "Lists the jobs of the backup configuration: which machines, which repository, the schedule and its next time, and the last run's outcome for the machines you may see.",
            operation: .backupJobs
        )
    }
}
