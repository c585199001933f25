import Foundation
import HVProtocol
import Testing

@testable import HVBroker

/// What the broker keeps of backups and their checks: each machine's newest attempt (a failure
/// too, though it left no backup), the status a backup's checks give it, each machine's status
/// for the monitor, and the scratch machine a boot test runs.
@Suite struct BackupChecksTests {
    static func verification(ok: Bool, time: Int64 = 100) -> BackupVerification {
        BackupVerification(time: time, ok: ok, chunks: 4, bad: ok ? 0 : 1, missing: 0)
    }

    static func backup(
        _ id: String, machine: String = "web", time: Int64 = 100, verified: [BackupVerification?] = [nil], bootTest: BackupBootTest? = nil
    ) -> BackupInfo {
        BackupInfo(
            id: id, repository: "local", machine: machine, group: "team-a", time: time, parent: nil, frozen: false,
            disks: verified.enumerated().map { index, verification in
                BackupDiskInfo(target: "vd\(index)", size: 1 << 30, bytesRead: 1 << 20, bytesStored: 1 << 19, verification: verification)
            },
            bootTest: bootTest
        )
    }

    static func bootTest(ok: Bool, time: Int64 = 200) -> BackupBootTest {
        BackupBootTest(time: time, ok: ok, signal: ok ? "console: login:" : nil, seconds: 30, problem: ok ? nil : "no signal")
    }

    // MARK: Status of a backup

    @Test func aBackupIsUnverifiedUntilEveryDiskIsVerifiedOrItBootsOnce() {
        #expect(Self.backup("a").status == .unverified)
        #expect(Self.backup("a", verified: [Self.verification(ok: true), nil]).status == .unverified)
        #expect(Self.backup("a", verified: [Self.verification(ok: true), Self.verification(ok: true)]).status == .ok)
        #expect(Self.backup("a", bootTest: Self.bootTest(ok: true)).status == .ok)
    }

    @Test func aFailedVerificationOrBootTestMakesItBad() {
        #expect(Self.backup("a", verified: [Self.verification(ok: true), Self.verification(ok: false)]).status == .bad)
        #expect(Self.backup("a", verified: [Self.verification(ok: false), nil]).status == .bad)
        #expect(Self.backup("a", verified: [Self.verification(ok: true)], bootTest: Self.bootTest(ok: false)).status == .bad)
        #expect(Self.backup("a", verified: [Self.verification(ok: false)], bootTest: Self.bootTest(ok: true)).status == .bad)
    }

    @Test func theStatusTravelsWithTheBackup() throws {
        let bad = Self.backup("a", bootTest: Self.bootTest(ok: false))
        let decoded = try JSONDecoder().decode(BackupInfo.self, from: JSONEncoder().encode(bad))
        #expect(decoded.status == .bad && decoded.bootTest?.problem == "no signal")
    }

    // MARK: Status of a machine

    @Test func aMachinesStatusTakesTheNewestBackupAndTheNewestChecksOfAny() {
        let old = Self.backup("old", time: 100, verified: [Self.verification(ok: false, time: 500)], bootTest: Self.bootTest(ok: true, time: 150))
        let new = Self.backup("new", time: 300, verified: [Self.verification(ok: true, time: 400)])
        let status = BackupMachineStatus(repository: "local", machine: "web", backups: [new, old], lastAttempt: nil)
        #expect(status.newest?.id == "new")
        #expect(status.lastVerification == BackupCheck(backup: "old", time: 500, ok: false), "the newest verification, of any backup")
        #expect(status.lastBootTest == BackupCheck(backup: "old", time: 150, ok: true))
    }

    @Test func aVerificationOfABackupFailsWhenAnyDiskFailed() {
        let backup = Self.backup("a", verified: [Self.verification(ok: true, time: 410), Self.verification(ok: false, time: 400)])
        let status = BackupMachineStatus(repository: "local", machine: "web", backups: [backup], lastAttempt: nil)
        #expect(status.lastVerification == BackupCheck(backup: "a", time: 410, ok: false))
    }

    @Test func aMachineWithoutBackupsHasOnlyItsAttempt() {
        let attempt = BackupAttempt(repository: "local", machine: "db", time: 7, ok: false, code: "Failed", reason: "disk full", seconds: 2)
        let status = BackupMachineStatus(repository: "local", machine: "db", backups: [], lastAttempt: attempt)
        #expect(status.newest == nil && status.lastVerification == nil && status.lastBootTest == nil)
        #expect(status.lastAttempt?.ok == false)
    }

    // MARK: Attempts

    @Test func attemptsAreKeptPerRepositoryAndMachineAndSurviveARestart() throws {
        let path = temporaryDirectory() + "/backup-attempts.json"
        let attempts = BackupAttempts(path: path)
        attempts.record(repository: "local", machine: "web", outcome: .success("b-1"), took: .seconds(30), now: Date(timeIntervalSince1970: 1000))
        attempts.record(
            repository: "local", machine: "web", outcome: .failure(HVError(.failed, "the repository's disk is full")), took: .seconds(5),
            now: Date(timeIntervalSince1970: 2000)
        )
        attempts.record(repository: "nas", machine: "web", outcome: .success("b-2"), took: .milliseconds(1500), now: Date(timeIntervalSince1970: 3000))

        for reading in [attempts, BackupAttempts(path: path)] {
            let local = try #require(reading.all(repository: "local")["web"])
            #expect(local.ok == false && local.time == 2000 && local.code == "Failed" && local.reason == "the repository's disk is full")
            #expect(local.backup == nil && local.seconds == 5)
            #expect(local.lastSuccessSeconds == 30, "the last success's duration is kept across a failure")
            let nas = try #require(reading.all(repository: "nas")["web"])
            #expect(nas.ok && nas.backup == "b-2" && nas.seconds == 1.5 && nas.lastSuccessSeconds == 1.5)
            #expect(reading.all(repository: "offsite").isEmpty)
        }
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func anUnreadableFileStartsEmpty() throws {
        let path = temporaryDirectory() + "/backup-attempts.json"
        try Data("not json".utf8).write(to: URL(fileURLWithPath: path))
        let attempts = BackupAttempts(path: path)
        #expect(attempts.all(repository: "local").isEmpty)
        attempts.record(repository: "local", machine: "web", outcome: .success("b"), took: .seconds(1))
        #expect(BackupAttempts(path: path).all(repository: "local")["web"]?.ok == true)
    }

    // MARK: Boot tests

    @Test func theScratchMachineHasNoNetworkALoggedConsoleAndSaysWhatItIs() throws {
        let scratch = BootTestScratch(backup: "2026-12-06T09-10-00Z-1f0c9a3e", stateDirectory: "/state")
        #expect(scratch.name.hasPrefix("hv-boottest-") && scratch.name.count == "hv-boottest-".count + 8)
        #expect(scratch.file == "/state/boot-tests/" + scratch.name)
        var spec = try RestoredSpecTests.saved.restoredSpec(name: scratch.name, pool: nil, sizes: RestoredSpecTests.sizes)
        scratch.adjust(&spec)
        try spec.validate()
        #expect(spec.networks.isEmpty)
        #expect(spec.serial && spec.autostart == nil)
        #expect(spec.description == BootTestScratch.description(backup: "2026-12-06T09-10-00Z-1f0c9a3e"))
        #expect(BootTestScratch(backup: "x", stateDirectory: "/state").name != scratch.name, "each test its own name")
    }

    @Test func refusalsAreNotRecordedAgainstTheBackup() {
        #expect(!LibvirtHypervisor.bootTestRecords(HVError(.quotaExceeded, "the group's quota is full")))
        #expect(!LibvirtHypervisor.bootTestRecords(HVError(.busy, "the queue is full")))
        #expect(!LibvirtHypervisor.bootTestRecords(HVError(.hypervisorUnavailable, "libvirt went away")))
        let shortage = HVError(.failed, "'x' could not start: the host has 1 GiB free", details: ["name": "x", "resource": "memory"])
        #expect(!LibvirtHypervisor.bootTestRecords(shortage), "the host's memory says nothing about the backup")
        #expect(LibvirtHypervisor.bootTestRecords(HVError(.failed, "chunk 3 of vda is bad")))
        #expect(LibvirtHypervisor.bootTestRecords(HVError(.invalidState, "backup holds no machine record")))
    }
}
