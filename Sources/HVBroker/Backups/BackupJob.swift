import Foundation
import HVProtocol

/// A scheduled backup job of the backup configuration:
///
/// ```yaml
/// jobs:
///   nightly:
///     repository: local
///     machines: {names: [web1], tags: [prod]}     # or {all: true}
///     schedule: "*-*-* 02:00"                     # systemd calendar syntax
///     retention: {keep_last: 3, keep_daily: 7, keep_weekly: 4}
///     verify: weekly                              # never | every run | daily | weekly | monthly
///     boot_test: monthly                          # the same values; boot_test_marker, boot_test_timeout
/// ```
///
/// A run backs up each machine it selects, then applies the retention to that machine's
/// backups, then verifies its newest backup when `verify` says it is due, then boot-tests it
/// when `boot_test` says it is due.
public struct BackupJob: Sendable, Hashable {
    /// How often each machine's newest backup is verified, or boot-tested.
    public enum VerifyInterval: String, Sendable, Hashable, CaseIterable {
        case never
        case everyRun = "every run"
        case daily, weekly, monthly

        /// How old a machine's newest check of the kind may be before a run checks again; nil: never.
        public var interval: TimeInterval? {
            switch self {
            case .never: nil
            case .everyRun: 0
            case .daily: 86_400
            case .weekly: 7 * 86_400
            case .monthly: 30 * 86_400
            }
        }
    }

    public var name: String
    public var repository: String
    /// Machines by name, by tag (any of them), or every machine the broker manages.
    public var names: [String]
    public var tags: [String]
    public var all: Bool
    /// systemd calendar syntax: the `OnCalendar=` of the job's timer.
    public var schedule: String
    /// Applied to each machine's backups after its backup; nil: nothing is removed.
    public var retention: BackupRetention?
    public var verify: VerifyInterval
    /// How often each machine's newest backup is boot-tested (`Backup.BootTest`), and the test's
    /// marker and timeout in seconds.
    public var bootTest: VerifyInterval
    public var bootTestMarker: String
    public var bootTestTimeout: Int

    public init(
        name: String, repository: String, names: [String] = [], tags: [String] = [], all: Bool = false, schedule: String,
        retention: BackupRetention? = nil, verify: VerifyInterval = .never, bootTest: VerifyInterval = .never,
        bootTestMarker: String = BootTestLimits.defaultMarker, bootTestTimeout: Int = BootTestLimits.defaultTimeout
    ) {
        self.name = name
        self.repository = repository
        self.names = names
        self.tags = tags
        self.all = all
        self.schedule = schedule
        self.retention = retention
        self.verify = verify
        self.bootTest = bootTest
        self.bootTestMarker = bootTestMarker
        self.bootTestTimeout = bootTestTimeout
    }

    /// Whether the job selects this machine: named, tagged with one of the tags, or `all`.
    public func selects(_ machine: String, tags machineTags: [String]) -> Bool {
        all || names.contains(machine) || !Set(tags).isDisjoint(with: machineTags)
    }

    /// The job as backup.yaml writes it.
    struct Entry: Codable {
        var repository: String
        var machines: Machines
        var schedule: String
        var retention: Retention?
        var verify: String?
        var bootTest: String?
        var bootTestMarker: String?
        var bootTestTimeout: Int?

        enum CodingKeys: String, CodingKey {
            case repository, machines, schedule, retention, verify
            case bootTest = "boot_test"
            case bootTestMarker = "boot_test_marker"
            case bootTestTimeout = "boot_test_timeout"
        }
    }

    struct Machines: Codable {
        var names: [String]?
        var tags: [String]?
        var all: Bool?
    }

    struct Retention: Codable {
        var keepLast: Int?
        var keepHourly: Int?
        var keepDaily: Int?
        var keepWeekly: Int?
        var keepMonthly: Int?
        var keepYearly: Int?

        enum CodingKeys: String, CodingKey {
            case keepLast = "keep_last"
            case keepHourly = "keep_hourly"
            case keepDaily = "keep_daily"
            case keepWeekly = "keep_weekly"
            case keepMonthly = "keep_monthly"
            case keepYearly = "keep_yearly"
        }
    }

    /// The job `name` from its entry, every field checked; a refusal names the key
    /// (`jobs.NAME.machines.names[0]`). `repositories`: the configured ones' names; `calendar`
    /// checks the schedule (nil: only its form).
    static func read(
        _ name: String, _ entry: Entry, repositories: [String], calendar: SystemdCalendar?
    ) throws(ConfigurationKeyError) -> BackupJob {
        let field = "jobs.\(name)"
        try ConfigurationKeyError.at(field) { () throws(HVError) in try VmName.validate(name, field: field, kind: "job") }
        guard repositories.contains(entry.repository) else {
            throw ConfigurationKeyError(
                field: "\(field).repository", reason: "names no repository of this file: '\(VmName.printable(entry.repository))'",
                fix: repositories.isEmpty ? "add the repository under repositories:" : "name one of: \(repositories.joined(separator: ", "))"
            )
        }
        let names = entry.machines.names ?? []
        let tags = entry.machines.tags ?? []
        let all = entry.machines.all ?? false
        for (index, machine) in names.enumerated() {
            try ConfigurationKeyError.at("\(field).machines.names[\(index)]") { () throws(HVError) in
                try VmName.validate(machine, field: "", kind: "machine")
            }
        }
        for (index, tag) in tags.enumerated() {
            try ConfigurationKeyError.at("\(field).machines.tags[\(index)]") { () throws(HVError) in
                try VmName.validate(tag, field: "", kind: "tag")
            }
        }
        if all, !names.isEmpty || !tags.isEmpty {
            throw ConfigurationKeyError(
                field: "\(field).machines.all", reason: "selects every machine, so names and tags would mean nothing",
                fix: "leave out names and tags, or all"
            )
        }
        guard all || !names.isEmpty || !tags.isEmpty else {
            throw ConfigurationKeyError(
                field: "\(field).machines", reason: "selects no machine", fix: "give names, tags, or all: true"
            )
        }
        try checkSchedule(entry.schedule, field: "\(field).schedule", calendar: calendar)
        let retention = entry.retention.map {
            BackupRetention(
                keepLast: $0.keepLast, keepHourly: $0.keepHourly, keepDaily: $0.keepDaily, keepWeekly: $0.keepWeekly,
                keepMonthly: $0.keepMonthly, keepYearly: $0.keepYearly
            )
        }
        if let retention {
            try ConfigurationKeyError.at("\(field).retention") { () throws(HVError) in
                try retention.validate(field: "\(field).retention", key: Self.fileKey)
            }
        }
        let verify = try interval(entry.verify, field: "\(field).verify")
        let bootTest = try interval(entry.bootTest, field: "\(field).boot_test")
        let marker = entry.bootTestMarker ?? BootTestLimits.defaultMarker
        try ConfigurationKeyError.at("\(field).boot_test_marker") { () throws(HVError) in try BootTestLimits.validate(marker: marker) }
        let timeout = entry.bootTestTimeout ?? BootTestLimits.defaultTimeout
        try ConfigurationKeyError.at("\(field).boot_test_timeout") { () throws(HVError) in try BootTestLimits.validate(timeout: timeout) }
        return BackupJob(
            name: name, repository: entry.repository, names: names, tags: tags, all: all, schedule: entry.schedule, retention: retention,
            verify: verify, bootTest: bootTest, bootTestMarker: marker, bootTestTimeout: timeout
        )
    }

    /// An interval key (`verify`, `boot_test`); absent: never.
    private static func interval(_ text: String?, field: String) throws(ConfigurationKeyError) -> VerifyInterval {
        guard let text else { return .never }
        guard let interval = VerifyInterval(rawValue: text) else {
            throw ConfigurationKeyError(
                field: field, reason: "must be one of: \(VerifyInterval.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'"
            )
        }
        return interval
    }

    /// A parameter's name as backup.yaml spells it: `keepLast` → `keep_last`.
    static func fileKey(_ name: String) -> String {
        name.unicodeScalars.map { CharacterSet.uppercaseLetters.contains($0) ? "_" + String($0).lowercased() : String($0) }.joined()
    }

    /// A schedule goes into a unit file as `OnCalendar=`: one line of printable text, that
    /// systemd itself accepts when it is there to ask.
    private static func checkSchedule(_ schedule: String, field: String, calendar: SystemdCalendar?) throws(ConfigurationKeyError) {
        guard !schedule.trimmingCharacters(in: .whitespaces).isEmpty, schedule.utf8.count <= 256,
            schedule.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f })
        else {
            throw ConfigurationKeyError(
                field: field, reason: "must be one line of systemd calendar syntax, at most 256 characters",
                fix: "write it as systemd.time(7) describes, e.g. '*-*-* 02:00'"
            )
        }
        guard let calendar else { return }
        try ConfigurationKeyError.at(field) { () throws(HVError) in try calendar.check(schedule) }
    }
}

/// A key of a configuration file that is wrong, before the file's path is added.
struct ConfigurationKeyError: Error {
    var field: String
    var reason: String
    var fix: String?

    /// Runs a check whose error is the broker's, as an error at `field` (or at the key under it
    /// that the error names).
    static func at(_ field: String, _ check: () throws(HVError) -> Void) throws(ConfigurationKeyError) {
        do {
            try check()
        } catch {
            let named = error.details["parameter"] ?? error.details["field"] ?? ""
            throw ConfigurationKeyError(field: named.hasPrefix(field) ? named : field, reason: error.reason, fix: error.fix)
        }
    }
}
