/// How many backups of a machine a prune keeps, as restic and PBS name the rules: the newest
/// `keepLast`, and the newest of each of the last N hours, days, ISO weeks, months and years.
/// At least one is required; a backup kept by any rule is kept.
public struct BackupRetention: Codable, Sendable, Hashable {
    public var keepLast: Int?
    public var keepHourly: Int?
    public var keepDaily: Int?
    public var keepWeekly: Int?
    public var keepMonthly: Int?
    public var keepYearly: Int?

    public init(
        keepLast: Int? = nil, keepHourly: Int? = nil, keepDaily: Int? = nil, keepWeekly: Int? = nil, keepMonthly: Int? = nil,
        keepYearly: Int? = nil
    ) {
        self.keepLast = keepLast
        self.keepHourly = keepHourly
        self.keepDaily = keepDaily
        self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly
        self.keepYearly = keepYearly
    }

    /// Each rule by its parameter name (`keepLast`) and its count, in the order they apply.
    public var rules: [(key: String, count: Int?)] {
        [
            ("keepLast", keepLast), ("keepHourly", keepHourly), ("keepDaily", keepDaily), ("keepWeekly", keepWeekly),
            ("keepMonthly", keepMonthly), ("keepYearly", keepYearly),
        ]
    }

    /// Refuses a retention that keeps nothing, and counts below 1 or absurdly high; `field` names
    /// where it came from (`retention`, `jobs.nightly.retention`), `key` how a rule is spelled
    /// there (backup.yaml writes `keep_last`).
    public func validate(field: String = "retention", key: (String) -> String = { $0 }) throws(HVError) {
        guard rules.contains(where: { $0.count != nil }) else {
            throw .invalidParameter(
                field, "a retention needs at least one rule, or a prune would remove every backup",
                fix: "give at least one of " + rules.map { key($0.key) }.joined(separator: ", ")
            )
        }
        for (name, count) in rules {
            guard let count, count < 1 || count > 100_000 else { continue }
            throw .invalidParameter("\(field).\(key(name))", "must be from 1 to 100000, got \(count)", fix: "leave the rule out to not use it")
        }
    }
}

/// `Backup.Prune`: apply a retention to the backups of one repository (of one machine when named),
/// then collect the chunks nothing uses any more. With `dryRun`, only decide.
public struct BackupPruneParameters: Codable, Sendable, Hashable {
    public var repository: String?
    public var machine: String?
    public var retention: BackupRetention
    public var dryRun: Bool?

    public init(repository: String? = nil, machine: String? = nil, retention: BackupRetention, dryRun: Bool? = nil) {
        self.repository = repository
        self.machine = machine
        self.retention = retention
        self.dryRun = dryRun
    }
}

/// One backup and what a prune decided for it.
public struct BackupPruneDecision: Codable, Sendable, Hashable {
    public var id: String
    public var machine: String
    /// Seconds since 1970.
    public var time: Int64
    public var kept: Bool
    /// The rules that keep it (`daily`, `oldest weekly`); empty when it is removed.
    public var rules: [String]

    public init(id: String, machine: String, time: Int64, kept: Bool, rules: [String]) {
        self.id = id
        self.machine = machine
        self.time = time
        self.kept = kept
        self.rules = rules
    }
}

/// The result of `Backup.Prune`.
public struct BackupPruneReply: Codable, Sendable, Hashable {
    public var repository: String
    public var dryRun: Bool
    /// Every backup the retention was applied to, by machine, newest first.
    public var backups: [BackupPruneDecision]
    /// What the garbage collection removed; zero on a dry run.
    public var chunksRemoved: Int
    public var bytesRemoved: Int64

    public init(repository: String, dryRun: Bool, backups: [BackupPruneDecision], chunksRemoved: Int, bytesRemoved: Int64) {
        self.repository = repository
        self.dryRun = dryRun
        self.backups = backups
        self.chunksRemoved = chunksRemoved
        self.bytesRemoved = bytesRemoved
    }

    public var removed: [BackupPruneDecision] { backups.filter { !$0.kept } }
}

/// `Backup.RunJob`: run one job of the backup configuration now.
public struct BackupRunJobParameters: Codable, Sendable, Hashable {
    public var job: String

    public init(job: String) {
        self.job = job
    }
}

/// What one run of a job did for one machine: its backup, or the error that stopped it.
public struct BackupJobMachineOutcome: Codable, Sendable, Hashable {
    public var machine: String
    /// The group the machine was charged to when the job ran.
    public var group: String?
    public var ok: Bool
    /// The backup made.
    public var backup: String?
    public var bytesRead: Int64?
    public var bytesStored: Int64?
    /// Backups of the machine the job's retention removed.
    public var removed: Int?
    /// The verification of the newest backup, when one was due: whether it was intact.
    public var verified: Bool?
    /// The boot test of the newest backup, when one was due: whether the guest booted (`error`
    /// says what failed).
    public var bootTest: Bool?
    /// The error that stopped this machine (or a later step), and its code (`NotFound`, `Failed`…).
    public var error: String?
    public var code: String?

    public init(
        machine: String, group: String? = nil, ok: Bool, backup: String? = nil, bytesRead: Int64? = nil, bytesStored: Int64? = nil,
        removed: Int? = nil, verified: Bool? = nil, bootTest: Bool? = nil, error: String? = nil, code: String? = nil
    ) {
        self.machine = machine
        self.group = group
        self.ok = ok
        self.backup = backup
        self.bytesRead = bytesRead
        self.bytesStored = bytesStored
        self.removed = removed
        self.verified = verified
        self.bootTest = bootTest
        self.error = error
        self.code = code
    }
}

/// One run of a job: when it started and ended, and each machine's outcome.
public struct BackupJobRun: Codable, Sendable, Hashable {
    public var job: String
    /// Seconds since 1970.
    public var started: Int64
    public var ended: Int64
    public var machines: [BackupJobMachineOutcome]
    /// Outcomes left out because the caller may not see those machines.
    public var hidden: Int?

    public init(job: String, started: Int64, ended: Int64, machines: [BackupJobMachineOutcome], hidden: Int? = nil) {
        self.job = job
        self.started = started
        self.ended = ended
        self.machines = machines
        self.hidden = hidden
    }

    /// Whether every machine was backed up and every step after it succeeded.
    public var ok: Bool { machines.allSatisfy(\.ok) && (hidden ?? 0) == 0 }
    public var failed: [BackupJobMachineOutcome] { machines.filter { !$0.ok } }
}

/// The result of `Backup.RunJob`.
public struct BackupRunJobReply: Codable, Sendable, Hashable {
    public var run: BackupJobRun

    public init(run: BackupJobRun) {
        self.run = run
    }
}

/// One job of the backup configuration, with its next and last runs.
public struct BackupJobInfo: Codable, Sendable, Hashable {
    public var name: String
    public var repository: String
    /// systemd calendar syntax (`*-*-* 02:00`).
    public var schedule: String
    /// Which machines: by name, by tag, or all.
    public var names: [String]
    public var tags: [String]
    public var all: Bool
    /// How often each machine's newest backup is verified: `never`, `every run`, `daily`, `weekly`, `monthly`.
    public var verify: String
    public var retention: BackupRetention?
    /// Seconds since 1970; absent when it could not be computed (`nextRunReason` says why).
    public var nextRun: Int64?
    public var nextRunReason: String?
    /// Whether the schedule's next time after the last run's start (or, before any run, after the
    /// configuration was written) has passed: what `hv backup jobs run --due` runs.
    public var due: Bool
    /// Whether a run is under way now.
    public var running: Bool
    public var lastRun: BackupJobRun?

    public init(
        name: String, repository: String, schedule: String, names: [String], tags: [String], all: Bool, verify: String,
        retention: BackupRetention?, nextRun: Int64?, nextRunReason: String?, due: Bool, running: Bool, lastRun: BackupJobRun?
    ) {
        self.name = name
        self.repository = repository
        self.schedule = schedule
        self.names = names
        self.tags = tags
        self.all = all
        self.verify = verify
        self.retention = retention
        self.nextRun = nextRun
        self.nextRunReason = nextRunReason
        self.due = due
        self.running = running
        self.lastRun = lastRun
    }
}

/// The result of `Backup.Jobs`.
public struct BackupJobsReply: Codable, Sendable, Hashable {
    public var jobs: [BackupJobInfo]

    public init(jobs: [BackupJobInfo]) {
        self.jobs = jobs
    }
}
