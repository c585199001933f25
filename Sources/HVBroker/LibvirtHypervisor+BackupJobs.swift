import Foundation
import HVBackupStore
import HVProtocol
import HVServer
import HVWork
import Logging

/// Pruning by a retention, and the scheduled jobs of the backup configuration: running one now,
/// and listing them with their next and last runs (docs/BACKUPS.md, "Using backups").
extension LibvirtHypervisor {
    // MARK: Prune

    func backupPrune(
        repository: String?, machine: String?, retention: BackupRetention, dryRun: Bool
    ) async throws(HVError) -> BackupPruneReply {
        let (name, store) = try backups.repository(named: repository)
        let policy = RetentionPolicy(
            last: retention.keepLast ?? 0, hourly: retention.keepHourly ?? 0, daily: retention.keepDaily ?? 0,
            weekly: retention.keepWeekly ?? 0, monthly: retention.keepMonthly ?? 0, yearly: retention.keepYearly ?? 0
        )
        return try await onPool(pools.jobs) { context in
            Result { () throws(HVBackupStore.BackupError) -> BackupPruneReply in
                context.report(JobProgress(done: 0, total: nil, phase: "deciding"))
                let report = try store.prune(policy, machine: machine, dryRun: dryRun) { done, total in
                    let phase = done < total ? "removing backups" : "collecting chunks no backup uses"
                    context.report(JobProgress(done: UInt64(done), total: UInt64(total), phase: phase))
                }
                return BackupPruneReply(
                    repository: name, dryRun: dryRun,
                    backups: report.entries.map {
                        BackupPruneDecision(
                            id: $0.id, machine: $0.machine, time: Int64($0.time.timeIntervalSince1970), kept: $0.kept,
                            rules: $0.reasons.map(\.description)
                        )
                    },
                    chunksRemoved: report.garbage?.chunksRemoved ?? 0, bytesRemoved: Int64(clamping: report.garbage?.bytesRemoved ?? 0)
                )
            }.mapError(\.hvError)
        }
    }

    // MARK: Jobs

    /// `caller`: who asked for the run (the timer's `hv backup jobs run` as root); a boot test
    /// restores as that caller, as `Backup.BootTest` does.
    func runBackupJob(_ name: String, caller: Peer) async throws(HVError) -> BackupRunJobReply {
        let job = try backupJob(named: name)
        try backups.claimJob(name)
        defer { backups.releaseJob(name) }
        logger.info("backup job started", metadata: ["job": "\(name)"])
        let run = await BackupJobRunner(steps: JobSteps(broker: self, caller: caller)).run(job)
        let state = jobState
        try await onPool(pools.libvirt) { _ in Result { () throws(HVError) in try state.record(run) } }
        logger.info(
            "backup job finished",
            metadata: ["job": "\(name)", "machines": "\(run.machines.count)", "failed": "\(run.failed.map(\.machine).joined(separator: ", "))"]
        )
        return BackupRunJobReply(run: run)
    }

    func backupJobs() async throws(HVError) -> BackupJobsReply {
        let configurationPath = backups.configurationPath
        let calendar = SystemdCalendar(runner: processRunner)
        let state = jobState
        let running = backups.configuration.jobs.map { backups.isRunning(job: $0.name) }
        let jobs = backups.configuration.jobs
        return try await onPool(pools.libvirt) { _ in
            let configured = (try? FileManager.default.attributesOfItem(atPath: configurationPath)[.modificationDate] as? Date) ?? Date()
            return .success(
                BackupJobsReply(
                    jobs: zip(jobs, running).map { job, running in
                        Self.jobInfo(job, lastRun: state.lastRun(of: job.name), running: running, configured: configured, calendar: calendar)
                    }
                )
            )
        }
    }

    /// A job as `Backup.Jobs` shows it: its next run from systemd's reading of its schedule, and
    /// whether it is due.
    static func jobInfo(_ job: BackupJob, lastRun: BackupJobRun?, running: Bool, configured: Date, calendar: SystemdCalendar) -> BackupJobInfo {
        let now = Date()
        var next: Int64?
        var reason: String?
        var due = false
        do throws(HVError) {
            if let date = try calendar.nextElapse(job.schedule, after: now) {
                next = Int64(date.timeIntervalSince1970)
            } else {
                reason = "the schedule never elapses again"
            }
            let lastStart = lastRun.map { Date(timeIntervalSince1970: TimeInterval($0.started)) }
            due = try BackupJobDue.isDue(lastStart: lastStart, configured: configured, now: now) { base throws(HVError) in
                try calendar.nextElapse(job.schedule, after: base)
            }
        } catch {
            reason = error.reason
        }
        return BackupJobInfo(
            name: job.name, repository: job.repository, schedule: job.schedule, names: job.names, tags: job.tags, all: job.all,
            verify: job.verify.rawValue, retention: job.retention, nextRun: next, nextRunReason: reason, due: due && !running,
            running: running, lastRun: lastRun
        )
    }

    var jobState: BackupJobState { BackupJobState(directory: layout.backupJobDirectory) }

    private func backupJob(named name: String) throws(HVError) -> BackupJob {
        guard let job = backups.configuration.job(named: name) else {
            let names = backups.configuration.jobs.map(\.name)
            throw HVError(
                .notFound, "there is no backup job named '\(name)'",
                fix: names.isEmpty
                    ? "an administrator adds jobs to \(backups.configurationPath) (docs/BACKUPS.md, \"Using backups\")"
                    : "name one of: \(names.joined(separator: ", "))",
                details: ["name": name]
            )
        }
        return job
    }

    // MARK: The steps of a run

    /// The steps of one run, for the caller who asked for it.
    struct JobSteps: BackupJobSteps {
        let broker: LibvirtHypervisor
        let caller: Peer

        func jobCandidates() async throws(HVError) -> [BackupJobCandidate] {
            var candidates: [BackupJobCandidate] = []
            // A boot test's scratch machine lives only for its test: never a job's.
            for machine in try await broker.list(includeForeign: false)
            where machine.managed && !machine.template && !machine.name.hasPrefix(BootTestScratch.prefix) {
                let group = try await broker.resolve(machine: machine.name)?.ownerGroup
                candidates.append(BackupJobCandidate(name: machine.name, tags: machine.tags, group: group))
            }
            return candidates
        }

        func backUp(_ machine: String, repository: String) async throws(HVError) -> BackupInfo {
            try await broker.backupCreate(machine, repository: repository).backup
        }

        func prune(_ machine: String, repository: String, retention: BackupRetention) async throws(HVError) -> BackupPruneReply {
            try await broker.backupPrune(repository: repository, machine: machine, retention: retention, dryRun: false)
        }

        func backups(of machine: String, repository: String) async throws(HVError) -> [BackupInfo] {
            try await broker.backupList(repository: repository, machine: machine).backups
        }

        func verify(_ id: String, repository: String) async throws(HVError) -> BackupVerifyReply {
            try await broker.backupVerify(id, repository: repository)
        }

        func bootTest(_ id: String, repository: String, marker: String, timeout: Int) async throws(HVError) -> BackupBootTestReply {
            try await broker.backupBootTest(id, repository: repository, marker: marker, timeout: timeout, caller: caller)
        }
    }
}
