import Foundation
import HVBroker
import HVProtocol
import Synchronization
import Testing

/// A job's run: which machines it selects, each machine's outcome (one failure stops no other),
/// its steps after the backup, the run kept as one JSON file, and when a job is due.
@Suite struct BackupJobRunnerTests {
    /// Steps that record what they were asked and fail where told.
    final class Steps: BackupJobSteps {
        let candidates: [BackupJobCandidate]
        let failing: [String: HVError]
        let damaged: Bool
        /// Each machine's backups, newest first, as `backups(of:)` answers.
        let existing: [String: [BackupInfo]]
        let calls = Mutex<[String]>([])

        init(
            candidates: [BackupJobCandidate], failing: [String: HVError] = [:], damaged: Bool = false, existing: [String: [BackupInfo]] = [:]
        ) {
            self.candidates = candidates
            self.failing = failing
            self.damaged = damaged
            self.existing = existing
        }

        func jobCandidates() async throws(HVError) -> [BackupJobCandidate] { candidates }

        func backUp(_ machine: String, repository: String) async throws(HVError) -> BackupInfo {
            calls.withLock { $0.append("backup \(machine) \(repository)") }
            if let error = failing[machine] { throw error }
            return Steps.info(machine, id: "2026-12-06T02-00-00Z-0000000\(machine.count)", verified: nil)
        }

        func prune(_ machine: String, repository: String, retention: BackupRetention) async throws(HVError) -> BackupPruneReply {
            calls.withLock { $0.append("prune \(machine) last=\(retention.keepLast ?? 0)") }
            let removed = BackupPruneDecision(id: "old", machine: machine, time: 0, kept: false, rules: [])
            let kept = BackupPruneDecision(id: "new", machine: machine, time: 1, kept: true, rules: ["last"])
            return BackupPruneReply(repository: repository, dryRun: false, backups: [kept, removed, removed], chunksRemoved: 4, bytesRemoved: 400)
        }

        func backups(of machine: String, repository: String) async throws(HVError) -> [BackupInfo] {
            existing[machine] ?? []
        }

        func verify(_ id: String, repository: String) async throws(HVError) -> BackupVerifyReply {
            calls.withLock { $0.append("verify \(id)") }
            return BackupVerifyReply(
                backup: Steps.info("x", id: id, verified: nil), ok: !damaged, chunksChecked: 3, bytesChecked: 300,
                problems: damaged ? ["vda chunk 2: bad hash"] : []
            )
        }

        static func info(_ machine: String, id: String, verified: Int64?) -> BackupInfo {
            BackupInfo(
                id: id, repository: "local", machine: machine, group: "team-a", time: 0, parent: nil, frozen: false,
                disks: [
                    BackupDiskInfo(
                        target: "vda", size: 100, bytesRead: 60, bytesStored: 40,
                        verification: verified.map { BackupVerification(time: $0, ok: true, chunks: 1, bad: 0, missing: 0) }
                    )
                ]
            )
        }
    }

    static let machines = [
        BackupJobCandidate(name: "web1", tags: ["prod"], group: "team-a"),
        BackupJobCandidate(name: "web2", tags: ["prod", "web"], group: "team-a"),
        BackupJobCandidate(name: "db", tags: ["lab"], group: "team-b"),
    ]

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func job(names: [String] = [], tags: [String] = [], all: Bool = false, retention: BackupRetention? = nil, verify: BackupJob.VerifyInterval = .never) -> BackupJob {
        BackupJob(name: "nightly", repository: "local", names: names, tags: tags, all: all, schedule: "daily", retention: retention, verify: verify)
    }

    @Test func theJobSelectsByNameTagOrAll() {
        #expect(BackupJobRunner.select(job(names: ["db"], tags: ["prod"]), from: Self.machines).map(\.name) == ["db", "web1", "web2"])
        #expect(BackupJobRunner.select(job(tags: ["web"]), from: Self.machines).map(\.name) == ["web2"])
        #expect(BackupJobRunner.select(job(all: true), from: Self.machines).map(\.name) == ["db", "web1", "web2"])
        let named = BackupJobRunner.select(job(names: ["ghost", "db"]), from: Self.machines)
        #expect(named.map(\.name) == ["db", "ghost"], "a machine named but missing is kept, to fail")
        #expect(named.map(\.group) == ["team-b", nil])
    }

    /// Every machine is tried; a failure is its outcome, with the error and its code.
    @Test func oneMachinesFailureStopsNoOther() async throws {
        let failure = HVError(.invalidState, "a backup of 'web1' is already running")
        let steps = Steps(candidates: Self.machines, failing: ["web1": failure])
        let run = await BackupJobRunner(steps: steps, now: { Self.now }).run(job(names: ["ghost"], tags: ["prod"]))
        #expect(run.machines.map(\.machine) == ["ghost", "web1", "web2"])
        #expect(run.machines.map(\.ok) == [false, false, true])
        #expect(run.machines[0].code == "NotFound")
        #expect(run.machines[1].code == "InvalidState" && run.machines[1].error == failure.reason)
        #expect(run.machines[2].backup != nil && run.machines[2].bytesStored == 40 && run.machines[2].group == "team-a")
        #expect(steps.calls.withLock { $0 } == ["backup web1 local", "backup web2 local"], "a missing machine is not tried")
        #expect(!run.ok && run.failed.count == 2)
        #expect(run.started == 1_800_000_000 && run.ended == 1_800_000_000)
    }

    /// After its backup, each machine's backups are pruned by the job's retention, then its newest
    /// backup verified when due; a damaged backup fails the machine.
    @Test func retentionThenVerificationFollowEachBackup() async throws {
        let steps = Steps(candidates: Self.machines, damaged: true)
        let run = await BackupJobRunner(steps: steps, now: { Self.now })
            .run(job(names: ["db"], retention: BackupRetention(keepLast: 2), verify: .everyRun))
        let backup = try #require(run.machines.first?.backup)
        #expect(steps.calls.withLock { $0 } == ["backup db local", "prune db last=2", "verify \(backup)"])
        #expect(run.machines.first?.removed == 2)
        #expect(run.machines.first?.verified == false)
        #expect(run.machines.first?.ok == false && run.machines.first?.code == "Failed")
        #expect(run.machines.first?.error?.contains("vda chunk 2") == true)
    }

    @Test(arguments: [
        // (interval, seconds since the machine's newest verification or nil for none, verified)
        (BackupJob.VerifyInterval.never, nil as Int64?, false),
        (.everyRun, 10, true),
        (.daily, nil, true),
        (.daily, 3_600, false),
        (.daily, 90_000, true),
        (.weekly, 6 * 86_400, false),
        (.weekly, 7 * 86_400, true),
        (.monthly, 20 * 86_400, false),
    ])
    func verificationIsDueByTheInterval(interval: BackupJob.VerifyInterval, age: Int64?, verified: Bool) async throws {
        let now = Int64(Self.now.timeIntervalSince1970)
        let existing = [
            "db": [
                Steps.info("db", id: "newer", verified: nil),
                Steps.info("db", id: "older", verified: age.map { now - $0 }),
            ]
        ]
        let steps = Steps(candidates: Self.machines, existing: existing)
        let run = await BackupJobRunner(steps: steps, now: { Self.now }).run(job(names: ["db"], verify: interval))
        #expect(steps.calls.withLock { $0 }.contains { $0.hasPrefix("verify") } == verified)
        #expect(run.machines.first?.verified == (verified ? true : nil))
        #expect(run.machines.first?.ok == true)
    }

    /// A run is one JSON file per job, replaced whole by the next one.
    @Test func theRunIsKeptAsOneFilePerJob() throws {
        let state = BackupJobState(directory: temporaryDirectory() + "/backup-jobs")
        #expect(state.lastRun(of: "nightly") == nil)
        let first = BackupJobRun(job: "nightly", started: 1, ended: 2, machines: [BackupJobMachineOutcome(machine: "db", ok: true, backup: "b1")])
        try state.record(first)
        var second = first
        second.started = 10
        second.machines.append(BackupJobMachineOutcome(machine: "web", ok: false, error: "no", code: "Failed"))
        try state.record(second)
        #expect(state.lastRun(of: "nightly") == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.directory) == ["nightly.json"], "no temporary file left")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: state.path(of: "nightly"))[.posixPermissions] as? Int)
        #expect(mode == 0o600)
    }

    /// `--due`: the schedule's next time after the last start (or after the configuration was
    /// written, before any run) has passed.
    @Test(arguments: [
        // (last start, now, due) with a schedule every 6 hours from midnight.
        (nil as Int?, 5, false),
        (nil, 7, true),
        (7, 11, false),
        (7, 12, true),
        (13, 30, true),
    ])
    func aJobIsDueOnceItsNextTimeHasPassed(lastStartHour: Int?, nowHour: Int, due: Bool) throws {
        let midnight = Date(timeIntervalSince1970: 1_799_971_200)  // 2027-01-15 00:00 UTC
        func hour(_ hours: Int) -> Date { midnight.addingTimeInterval(TimeInterval(hours * 3600)) }
        let everySixHours = { (base: Date) throws(HVError) -> Date? in
            Date(timeIntervalSince1970: (floor(base.timeIntervalSince1970 / 21_600) + 1) * 21_600)
        }
        let decided = try BackupJobDue.isDue(
            lastStart: lastStartHour.map(hour), configured: hour(1), now: hour(nowHour), nextElapse: everySixHours
        )
        #expect(decided == due)
        #expect(try !BackupJobDue.isDue(lastStart: nil, configured: hour(1), now: hour(99)) { _ throws(HVError) in nil }, "never again: never due")
    }

    @Test(.enabled(if: BackupJobConfigurationTests.calendarAvailable, "systemd-analyze is not installed"))
    func dueDecisionsWithSystemdsCalendar() throws {
        let calendar = SystemdCalendar()
        let last = Date(timeIntervalSince1970: 1_799_971_200 + 3_600)  // 01:00 UTC
        let next = { (base: Date) throws(HVError) -> Date? in try calendar.nextElapse("*-*-* 02:00:00 UTC", after: base) }
        #expect(try !BackupJobDue.isDue(lastStart: last, configured: last, now: last.addingTimeInterval(1800), nextElapse: next))
        #expect(try BackupJobDue.isDue(lastStart: last, configured: last, now: last.addingTimeInterval(3601), nextElapse: next))
    }

    /// The generator writes a timer per job with its schedule, and the link that starts it.
    @Test func theGeneratorWritesATimerPerJob() throws {
        let configuration = try BackupConfiguration.parse(
            BackupJobConfigurationTests.repositories + """
                jobs:
                  nightly: {repository: local, machines: {all: true}, schedule: "*-*-* 02:00"}
                  weekly-nas: {repository: nas, machines: {tags: [prod]}, schedule: "Sun 03:00"}
                """
        )
        let directory = temporaryDirectory() + "/normal"
        try BackupTimerGenerator.write(configuration, source: "/etc/hypernixos/backup.yaml", into: directory)
        let timer = try String(contentsOfFile: directory + "/hypernixos-backup@nightly.timer", encoding: .utf8)
        #expect(timer.contains("\nOnCalendar=*-*-* 02:00\n"))
        #expect(timer.contains("\nPersistent=true\n"))
        #expect(timer.contains("/etc/hypernixos/backup.yaml"))
        let weekly = try String(contentsOfFile: directory + "/hypernixos-backup@weekly-nas.timer", encoding: .utf8)
        #expect(weekly.contains("\nOnCalendar=Sun 03:00\n"))
        let links = try FileManager.default.contentsOfDirectory(atPath: directory + "/timers.target.wants").sorted()
        #expect(links == ["hypernixos-backup@nightly.timer", "hypernixos-backup@weekly-nas.timer"])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: directory + "/timers.target.wants/hypernixos-backup@nightly.timer")
            == "../hypernixos-backup@nightly.timer")
        // Run again (daemon-reload): the same files, replaced.
        try BackupTimerGenerator.write(configuration, source: "/etc/hypernixos/backup.yaml", into: directory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            == ["hypernixos-backup@nightly.timer", "hypernixos-backup@weekly-nas.timer", "timers.target.wants"])
    }

    /// An invalid file: no timer at all, and the reason, with the key; a missing file: none either.
    @Test func anInvalidFileMakesTheGeneratorWriteNothing() throws {
        let directory = temporaryDirectory()
        let path = directory + "/backup.yaml"
        try (BackupJobConfigurationTests.repositories + """
            jobs:
              good: {repository: local, machines: {all: true}, schedule: daily}
              bad: {repository: offsite, machines: {all: true}, schedule: daily}
            """).write(toFile: path, atomically: true, encoding: .utf8)
        let problem = try #require(BackupTimerGenerator.generate(from: path, into: directory + "/normal", calendar: nil))
        #expect(problem.contains("jobs.bad.repository") && problem.contains(path), "\(problem)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/normal"), "nothing written, not even the good job's timer")

        #expect(BackupTimerGenerator.generate(from: directory + "/absent.yaml", into: directory + "/none", calendar: nil) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/none") == ["timers.target.wants"])
    }

    @Test func aPercentSignIsNotASpecifierInTheTimer() {
        let job = BackupJob(name: "n", repository: "local", all: true, schedule: "*-*-* 02:00 %")
        let units = BackupTimerGenerator.units(for: BackupConfiguration(jobs: [job]), source: "f")
        #expect(units.first?.content.contains("OnCalendar=*-*-* 02:00 %%\n") == true)
    }
}
