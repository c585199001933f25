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
        /// Machines whose backups do not boot.
        let unbootable: Set<String>
        /// Each machine's backups, newest first, as `backups(of:)` answers.
        let existing: [String: [BackupInfo]]
        let calls = Mutex<[String]>([])

        init(
            candidates: [BackupJobCandidate], failing: [String: HVError] = [:], damaged: Bool = false, unbootable: Set<String> = [],
            existing: [String: [BackupInfo]] = [:]
        ) {
            self.candidates = candidates
            self.failing = failing
            self.damaged = damaged
            self.unbootable = unbootable
            self.existing = existing
        }

        func jobCandidates() async throws(HVError) -> [BackupJobCandidate] { candidates }

        func backUp(_ machine: String, repository: String) async throws(HVError) -> BackupInfo {
            calls.withLock { $0.append("backup \(machine) \(repository)") }
            if let error = failing[machine] { throw error }
            return Steps.info(machine, id: Steps.id(machine), verified: nil)
        }

        /// The id of the backup `backUp` makes of a machine.
        static func id(_ machine: String) -> String { "2026-12-06T02-00-00Z-0000000\(machine.count)" }

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

        func bootTest(_ id: String, repository: String, marker: String, timeout: Int) async throws(HVError) -> BackupBootTestReply {
            calls.withLock { $0.append("boot-test \(id) \(marker) \(timeout)") }
            let boots = !unbootable.contains { Steps.id($0) == id }
            let test = BackupBootTest(
                time: 1, ok: boots, signal: boots ? "console: \(marker)" : nil, seconds: 20, problem: boots ? nil : "the guest showed no signal within \(timeout) s"
            )
            return BackupBootTestReply(backup: Steps.info("x", id: id, verified: nil, bootTested: 1), test: test)
        }

        static func info(_ machine: String, id: String, verified: Int64?, bootTested: Int64? = nil) -> BackupInfo {
            BackupInfo(
                id: id, repository: "local", machine: machine, group: "team-a", time: 0, parent: nil, frozen: false,
                disks: [
                    BackupDiskInfo(
                        target: "vda", size: 100, bytesRead: 60, bytesStored: 40,
                        verification: verified.map { BackupVerification(time: $0, ok: true, chunks: 1, bad: 0, missing: 0) }
                    )
                ],
                bootTest: bootTested.map { BackupBootTest(time: $0, ok: true, signal: "guest agent", seconds: 12, problem: nil) }
            )
        }
    }

    static let machines = [
        BackupJobCandidate(name: "web1", tags: ["prod"], group: "team-a"),
        BackupJobCandidate(name: "web2", tags: ["prod", "web"], group: "team-a"),
        BackupJobCandidate(name: "db", tags: ["lab"], group: "team-b"),
    ]

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func job(
        names: [String] = [], tags: [String] = [], all: Bool = false, retention: BackupRetention? = nil, verify: BackupJob.VerifyInterval = .never,
        bootTest: BackupJob.VerifyInterval = .never
    ) -> BackupJob {
        BackupJob(
            name: "nightly", repository: "local", names: names, tags: tags, all: all, schedule: "daily", retention: retention, verify: verify,
            bootTest: bootTest, bootTestMarker: "ready", bootTestTimeout: 60
        )
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

    /// (interval, seconds since the machine's newest check of the kind or nil for none, checked)
    static let dueExamples: [(BackupJob.VerifyInterval, Int64?, Bool)] = [
        (.never, nil, false),
        (.everyRun, 10, true),
        (.daily, nil, true),
        (.daily, 3_600, false),
        (.daily, 90_000, true),
        (.weekly, 6 * 86_400, false),
        (.weekly, 7 * 86_400, true),
        (.monthly, 20 * 86_400, false),
        (.monthly, 30 * 86_400, true),
    ]

    /// A check is due when the machine's newest check of its kind (of any of its backups) is
    /// older than the job's interval for it, or there is none; the other kind does not count.
    @Test(arguments: [BackupJobRunner.Step.verify, .bootTest], dueExamples)
    func aCheckIsDueByItsInterval(step: BackupJobRunner.Step, example: (BackupJob.VerifyInterval, Int64?, Bool)) async throws {
        let (interval, age, checked) = example
        let now = Int64(Self.now.timeIntervalSince1970)
        let last = age.map { now - $0 }
        // The other kind of check was made just now.
        let older = step == .verify
            ? Steps.info("db", id: "older", verified: last, bootTested: now)
            : Steps.info("db", id: "older", verified: now, bootTested: last)
        let steps = Steps(candidates: Self.machines, existing: ["db": [Steps.info("db", id: "newer", verified: nil), older]])
        let checking = step == .verify ? job(names: ["db"], verify: interval) : job(names: ["db"], bootTest: interval)
        let run = await BackupJobRunner(steps: steps, now: { Self.now }).run(checking)
        let prefix = step == .verify ? "verify" : "boot-test"
        let checks = steps.calls.withLock { $0 }.filter { !$0.hasPrefix("backup") }
        #expect(checks.map { $0.hasPrefix(prefix) } == (checked ? [true] : []), "only the \(prefix), when due: \(checks)")
        let outcome = try #require(run.machines.first)
        #expect((step == .verify ? outcome.verified : outcome.bootTest) == (checked ? true : nil))
        #expect(outcome.ok)
    }

    /// A boot test the machine's group ran an hour ago with a marker of its own, or one that
    /// failed, does not put off a weekly boot test of the job's; one on the job's marker does.
    @Test(arguments: [
        (BackupBootTest(time: 0, ok: true, signal: "console: anything", seconds: 1, problem: nil), true),
        (BackupBootTest(time: 0, ok: false, signal: nil, seconds: 1, problem: "no signal"), true),
        (BackupBootTest(time: 0, ok: true, signal: "console: ready", seconds: 1, problem: nil), false),
        (BackupBootTest(time: 0, ok: true, signal: BackupBootTest.agentSignal, seconds: 1, problem: nil), false),
    ])
    func onlyABootTestTheJobWouldAcceptPutsItsOwnOff(recorded: BackupBootTest, tested: Bool) async throws {
        var backup = Steps.info("db", id: "older", verified: nil)
        backup.bootTest = recorded
        backup.bootTest?.time = Int64(Self.now.timeIntervalSince1970) - 3600
        let steps = Steps(candidates: Self.machines, existing: ["db": [backup]])
        _ = await BackupJobRunner(steps: steps, now: { Self.now }).run(job(names: ["db"], bootTest: .weekly))
        #expect(steps.calls.withLock { $0 }.contains { $0.hasPrefix("boot-test") } == tested, "\(recorded)")
    }

    /// After the verification, the newest backup is boot-tested with the job's marker and timeout,
    /// and the outcome says it booted.
    @Test func theBootTestFollowsTheVerification() async throws {
        let steps = Steps(candidates: Self.machines)
        let run = await BackupJobRunner(steps: steps, now: { Self.now }).run(job(names: ["db"], verify: .everyRun, bootTest: .everyRun))
        let backup = Steps.id("db")
        #expect(steps.calls.withLock { $0 } == ["backup db local", "verify \(backup)", "boot-test \(backup) ready 60"])
        #expect(run.machines.first?.verified == true && run.machines.first?.bootTest == true)
        #expect(run.machines.first?.ok == true && run.ok)
    }

    /// A backup that does not boot fails its machine, with what failed; the next machine is still
    /// backed up and boot-tested.
    @Test func aFailedBootTestFailsItsMachineOnly() async throws {
        let steps = Steps(candidates: Self.machines, unbootable: ["db"])
        let run = await BackupJobRunner(steps: steps, now: { Self.now }).run(job(names: ["db", "web1"], bootTest: .everyRun))
        #expect(run.machines.map(\.machine) == ["db", "web1"])
        #expect(run.machines.map(\.ok) == [false, true])
        #expect(run.machines.map(\.bootTest) == [false, true])
        #expect(run.machines[0].code == "Failed")
        #expect(run.machines[0].error?.contains("did not boot: the guest showed no signal within 60 s") == true, "\(run.machines[0])")
        #expect(run.machines[0].backup == Steps.id("db"), "the backup made is still reported")
        #expect(steps.calls.withLock { $0 }.filter { $0.hasPrefix("boot-test") }.count == 2)
        #expect(!run.ok && run.failed.map(\.machine) == ["db"])
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
