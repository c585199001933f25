import Foundation
import HVProtocol
import HVWork

/// A machine a job may select: one the broker manages (templates are not backed up by jobs).
public struct BackupJobCandidate: Sendable, Hashable {
    public var name: String
    public var tags: [String]
    public var group: String?

    public init(name: String, tags: [String] = [], group: String? = nil) {
        self.name = name
        self.tags = tags
        self.group = group
    }
}

/// What a job's run asks of the broker, one call per step; each goes through the same code as
/// the request of its own (`Backup.Create`, `Backup.Prune`, `Backup.List`, `Backup.Verify`,
/// `Backup.BootTest`), so a job's backup keeps every guarantee of one made by hand.
public protocol BackupJobSteps: Sendable {
    func jobCandidates() async throws(HVError) -> [BackupJobCandidate]
    func backUp(_ machine: String, repository: String) async throws(HVError) -> BackupInfo
    func prune(_ machine: String, repository: String, retention: BackupRetention) async throws(HVError) -> BackupPruneReply
    /// The machine's backups in the repository, newest first.
    func backups(of machine: String, repository: String) async throws(HVError) -> [BackupInfo]
    func verify(_ id: String, repository: String) async throws(HVError) -> BackupVerifyReply
    func bootTest(_ id: String, repository: String, marker: String, timeout: Int) async throws(HVError) -> BackupBootTestReply
}

/// Runs one job: each selected machine in turn is backed up, then goes through the steps after
/// its backup (`afterBackup`). A machine's failure is its outcome and the next machine goes on.
public struct BackupJobRunner: Sendable {
    /// What follows a machine's backup, in order; a step that fails ends that machine's steps.
    public enum Step: Sendable, Hashable, CaseIterable {
        /// The job's retention, applied to the machine's backups.
        case retention
        /// The newest backup verified, when the job's interval says it is due.
        case verify
        /// The newest backup boot-tested, when the job's interval says it is due.
        case bootTest
    }

    public static let afterBackup = Step.allCases

    public let steps: any BackupJobSteps
    public let now: @Sendable () -> Date

    public init(steps: any BackupJobSteps, now: @escaping @Sendable () -> Date = { Date() }) {
        self.steps = steps
        self.now = now
    }

    /// The machines the job selects, by name: those named (also when the broker has no such
    /// managed machine, so that their outcome says so), and those with one of its tags, or all.
    public static func select(_ job: BackupJob, from candidates: [BackupJobCandidate]) -> [(name: String, group: String?)] {
        var selected: [String: String?] = [:]
        for candidate in candidates where job.selects(candidate.name, tags: candidate.tags) {
            selected[candidate.name] = candidate.group
        }
        for name in job.names where selected[name] == nil {
            selected[name] = .some(nil)
        }
        return selected.keys.sorted().map { ($0, selected[$0] ?? nil) }
    }

    public func run(_ job: BackupJob) async -> BackupJobRun {
        let started = now()
        var outcomes: [BackupJobMachineOutcome] = []
        let candidates: [BackupJobCandidate]
        do {
            candidates = try await steps.jobCandidates()
        } catch {
            // Nothing could be selected: every machine named fails, or the selection as a whole.
            let names = job.names.isEmpty ? [Self.wholeSelection] : job.names
            return BackupJobRun(
                job: job.name, started: Self.seconds(started), ended: Self.seconds(now()),
                machines: names.map { Self.failed($0, group: nil, error) }
            )
        }
        let managed = Set(candidates.map(\.name))
        let selected = Self.select(job, from: candidates)
        let listener = WorkPool.progress
        for (number, machine) in selected.enumerated() {
            let label = "\(machine.name) (\(number + 1) of \(selected.count))"
            let outcome = await WorkPool.$progress.withValue({ progress in
                listener?(JobProgress(done: progress.done, total: progress.total, phase: "\(label): \(progress.phase ?? "")"))
            }) {
                guard managed.contains(machine.name) else {
                    return Self.failed(
                        machine.name, group: nil,
                        HVError(
                            .notFound, "the broker manages no machine named '\(machine.name)'",
                            fix: "correct jobs.\(job.name).machines.names in the backup configuration", details: ["name": machine.name]
                        )
                    )
                }
                return await self.machine(machine.name, group: machine.group, job: job)
            }
            outcomes.append(outcome)
        }
        return BackupJobRun(job: job.name, started: Self.seconds(started), ended: Self.seconds(now()), machines: outcomes)
    }

    /// One machine's backup and the steps after it.
    private func machine(_ name: String, group: String?, job: BackupJob) async -> BackupJobMachineOutcome {
        let backup: BackupInfo
        do {
            backup = try await steps.backUp(name, repository: job.repository)
        } catch {
            return Self.failed(name, group: group, error)
        }
        var outcome = BackupJobMachineOutcome(
            machine: name, group: group, ok: true, backup: backup.id, bytesRead: backup.bytesRead, bytesStored: backup.bytesStored
        )
        do throws(HVError) {
            for step in Self.afterBackup {
                switch step {
                case .retention:
                    guard let retention = job.retention else { continue }
                    outcome.removed = try await steps.prune(name, repository: job.repository, retention: retention).removed.count
                case .verify:
                    guard try await isDue(job.verify, name, job: job, lastCheck: Self.lastVerification) else { continue }
                    let verification = try await steps.verify(backup.id, repository: job.repository)
                    outcome.verified = verification.ok
                    guard verification.ok else {
                        throw HVError(
                            .failed, "backup \(backup.id) is damaged: " + verification.problems.prefix(3).joined(separator: "; "),
                            fix: "the next backup stores the damaged chunks again; restore from another backup until then"
                        )
                    }
                case .bootTest:
                    guard try await isDue(job.bootTest, name, job: job, lastCheck: { Self.lastBootTest($0, marker: job.bootTestMarker) })
                    else { continue }
                    let test = try await steps.bootTest(
                        backup.id, repository: job.repository, marker: job.bootTestMarker, timeout: job.bootTestTimeout
                    ).test
                    outcome.bootTest = test.ok
                    guard test.ok else {
                        throw HVError(
                            .failed, "backup \(backup.id) did not boot: \(test.problem ?? "no signal from the guest")",
                            fix: "run 'hv backup boot-test \(backup.id) --repository \(job.repository)' to see it again; restore from another backup until it boots"
                        )
                    }
                }
            }
        } catch {
            outcome.ok = false
            outcome.error = error.reason
            outcome.code = error.code.rawValue
        }
        return outcome
    }

    /// Whether the machine's newest check of a kind (of any of its backups; `lastCheck` reads a
    /// backup's) is older than `every`, or there is none.
    func isDue(
        _ every: BackupJob.VerifyInterval, _ machine: String, job: BackupJob, lastCheck: (BackupInfo) -> Int64?
    ) async throws(HVError) -> Bool {
        guard let interval = every.interval else { return false }
        guard interval > 0 else { return true }
        let backups = try await steps.backups(of: machine, repository: job.repository)
        guard let last = backups.compactMap(lastCheck).max() else { return true }
        return now().timeIntervalSince1970 - TimeInterval(last) >= interval
    }

    /// A boot test counts for a job when it passed on a signal the job would accept: the guest
    /// agent, or the job's own marker on the console. A test its group ran with a marker of its
    /// choosing, or one that failed, does not put the job's off.
    static func lastBootTest(_ backup: BackupInfo, marker: String) -> Int64? {
        guard let test = backup.bootTest, test.ok,
            test.signal == BackupBootTest.agentSignal || test.signal == BackupBootTest.consoleSignal(marker)
        else { return nil }
        return test.time
    }

    /// A backup is as verified as its least recently verified disk.
    static func lastVerification(_ backup: BackupInfo) -> Int64? {
        let times = backup.disks.map { $0.verification?.time }
        guard !times.isEmpty, times.allSatisfy({ $0 != nil }) else { return nil }
        return times.compactMap { $0 }.min()
    }

    /// The outcome's name when the machines could not be listed for a job that selects by tag or all.
    public static let wholeSelection = "(selection)"

    static func failed(_ machine: String, group: String?, _ error: HVError) -> BackupJobMachineOutcome {
        BackupJobMachineOutcome(machine: machine, group: group, ok: false, error: error.reason, code: error.code.rawValue)
    }

    static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970) }
}
