import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

extension BackupCommand {
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the backups a retention policy does not keep, then the chunks nothing uses (administrators).",
            discussion: "Give at least one --keep-… rule; a backup kept by any rule is kept. Try it with --dry-run first."
        )
        @OptionGroup var options: GlobalOptions
        @OptionGroup var repository: Repository
        @Option(name: .customLong("vm"), help: ArgumentHelp("Only this machine's backups.", valueName: "name")) var machine: String?
        @Option(help: "Keep the newest N backups.") var keepLast: Int?
        @Option(help: "Keep the newest backup of each of the last N hours.") var keepHourly: Int?
        @Option(help: "Keep the newest backup of each of the last N days.") var keepDaily: Int?
        @Option(help: "Keep the newest backup of each of the last N weeks.") var keepWeekly: Int?
        @Option(help: "Keep the newest backup of each of the last N months.") var keepMonthly: Int?
        @Option(help: "Keep the newest backup of each of the last N years.") var keepYearly: Int?
        @Flag(help: "Only say what would be removed.") var dryRun = false

        var retention: BackupRetention {
            BackupRetention(
                keepLast: keepLast, keepHourly: keepHourly, keepDaily: keepDaily, keepWeekly: keepWeekly, keepMonthly: keepMonthly,
                keepYearly: keepYearly
            )
        }

        func validate() throws {
            guard retention.rules.contains(where: { $0.count != nil }) else {
                throw ValidationError("give at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly")
            }
        }

        func run() throws {
            try Runner.run(options, explain: .backupPrune(dryRun: dryRun)) { client throws(HVError) in
                let result = try BackupCommand.showingProgress("prune", options) { progress throws(HVError) in
                    try client.pruneBackups(
                        repository: repository.repository, machine: machine, retention: retention, dryRun: dryRun, progress: progress
                    )
                }
                if options.json { return Runner.printJSON(result) }
                var table = Table("ID", "MACHINE", "TIME", "DECISION")
                for backup in result.backups {
                    table.add(
                        backup.id, backup.machine, BackupText.time(backup.time),
                        backup.kept ? "keep (\(backup.rules.joined(separator: ", ")))" : (result.dryRun ? "would remove" : "removed")
                    )
                }
                if !result.backups.isEmpty { print(table.render()) }
                let removed = result.removed.count
                if result.dryRun {
                    print("dry run: \(removed) of \(result.backups.count) backups would be removed from \(result.repository)")
                } else {
                    print(
                        "removed \(removed) of \(result.backups.count) backups from \(result.repository); "
                            + "\(result.chunksRemoved) chunks (\(ByteSize(bytes: UInt64(result.bytesRemoved)).readable)) freed"
                    )
                }
            }
        }
    }

    struct Jobs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The scheduled backup jobs of /etc/hypernixos/backup.yaml: next runs and last results.",
            subcommands: [List.self, Run.self], defaultSubcommand: List.self
        )

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the jobs, their next run and their last run's outcome.")
            @OptionGroup var options: GlobalOptions

            func run() throws {
                try Runner.run(options, explain: .backupJobs()) { client throws(HVError) in
                    let jobs = try client.backupJobs()
                    if options.json { return Runner.printJSON(jobs) }
                    guard !jobs.isEmpty else {
                        return print("no backup jobs (an administrator adds them under jobs: in /etc/hypernixos/backup.yaml)")
                    }
                    var table = Table("JOB", "MACHINES", "REPOSITORY", "SCHEDULE", "NEXT RUN", "LAST RUN", "OUTCOME")
                    for job in jobs {
                        table.add(
                            job.name, BackupJobText.selection(job), job.repository, job.schedule,
                            job.nextRun.map(BackupText.time) ?? "- (\(job.nextRunReason ?? "unknown"))",
                            job.running ? "running now" : job.lastRun.map { BackupText.time($0.started) } ?? "never",
                            job.lastRun.map(BackupJobText.outcome) ?? ""
                        )
                    }
                    print(table.render())
                }
            }
        }

        struct Run: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Run a job now (administrators); exits non-zero when a machine failed.",
                discussion: "With --due instead of a name, runs each job whose scheduled time has passed since its last run: what the timers do where systemd does not run them."
            )
            @OptionGroup var options: GlobalOptions
            @Argument(help: "The job.") var name: String?
            @Flag(help: "Run every job that is due (the broker decides from its schedule and last run).") var due = false

            func run() throws {
                try Runner.run(options, explain: .backupRunJob(name ?? "(each job that is due)")) { client throws(HVError) in
                    guard (name == nil) == due else {
                        throw HVError.invalidParameter("job", "name a job, or give --due, not both", fix: "hv backup jobs run NAME, or hv backup jobs run --due")
                    }
                    let names: [String]
                    if let name {
                        names = [name]
                    } else {
                        names = try client.backupJobs().filter(\.due).map(\.name)
                    }
                    var runs: [BackupJobRun] = []
                    for job in names {
                        let run = try BackupCommand.showingProgress(job, options) { progress throws(HVError) in
                            try client.runBackupJob(job, progress: progress)
                        }
                        runs.append(run)
                        if !options.json { BackupJobText.print(run) }
                    }
                    if options.json { Runner.printJSON(runs) }
                    if due, names.isEmpty, !options.json { print("no backup job is due") }
                    let failed = runs.flatMap { run in run.failed.map { "\(run.job)/\($0.machine)" } }
                    guard failed.isEmpty else {
                        throw HVError(.failed, "\(failed.count) machines were not backed up: \(failed.joined(separator: ", "))", fix: "see each machine's error above")
                    }
                }
            }
        }
    }
}

/// How jobs read in tables.
enum BackupJobText {
    static func selection(_ job: BackupJobInfo) -> String {
        if job.all { return "all" }
        return (job.names + job.tags.map { "tag:" + $0 }).joined(separator: ",")
    }

    static func outcome(_ run: BackupJobRun) -> String {
        let failed = run.failed.count
        let hidden = run.hidden.map { ", \($0) not shown" } ?? ""
        return failed == 0 ? "ok (\(run.machines.count) machines\(hidden))" : "\(failed) of \(run.machines.count) FAILED\(hidden)"
    }

    static func print(_ run: BackupJobRun) {
        var table = Table("MACHINE", "OUTCOME", "BACKUP", "STORED", "REMOVED", "VERIFIED", "BOOTED")
        for machine in run.machines {
            table.add(
                machine.machine, machine.ok ? "ok" : "FAILED (\(machine.code ?? "")): \(machine.error ?? "")", machine.backup ?? "",
                machine.bytesStored.map { ByteSize(bytes: UInt64($0)).readable } ?? "", machine.removed.map(String.init) ?? "",
                machine.verified.map { $0 ? "ok" : "BAD" } ?? "", machine.bootTest.map { $0 ? "ok" : "FAILED" } ?? ""
            )
        }
        Swift.print("job \(run.job): \(outcome(run))")
        Swift.print(table.render())
    }
}
