import Foundation
import HVBackupStore
import HVProtocol
import HVServer
import HVTestSupport
import Logging
import Testing

@testable import HVBroker

/// The broker's backup calls that need no running guest, on libvirt's test driver and a real
/// repository: listing, showing and verifying what a backup keeps, resolving it for admission, and
/// one backup of a machine at a time.
@Suite(.enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened"))
struct BackupHypervisorTests {
    let hypervisor: LibvirtHypervisor
    let repository: Repository
    let caller = MachineSpecBrokerTests.caller

    /// A domain someone defined with virsh: no record.
    static let foreign = "<domain type='test'><name>foreign</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>"

    /// A machine the broker made: it has its record.
    static let managed = RecordCacheTests.managed("web", index: 7, tags: [])

    init() throws {
        let directory = temporaryDirectory()
        let repositories = BackupRepositories(
            configuration: BackupConfiguration(repositories: [.init(name: "local", path: directory + "/backups", chunkSize: 4096)])
        )
        repository = try repositories.repository(named: nil).repository
        hypervisor = LibvirtHypervisor(
            uri: "test://" + (try TestDriverNode.write(TestDriverNode.xml(domains: Self.foreign + Self.managed), in: directory)),
            layout: StorageLayout(stateDirectory: directory + "/state", consoleDirectory: directory + "/console"),
            backups: repositories, pools: BulkTests.pools, logger: Logger(label: "test")
        )
    }

    /// A backup of `machine` charged to `group`, with two chunks of data and one of zeros.
    func backup(of machine: String, group: String, parent: String? = nil) throws -> BackupManifest {
        let writer = try BackupWriter.begin(in: repository, machine: machine, parent: parent)
        try writer.beginDisk(target: "vda", size: 3 * 4096, format: "qcow2")
        try writer.write(chunkIndex: 0, data: [UInt8](repeating: 1, count: 4096))
        try writer.write(chunkIndex: 1, data: [UInt8](repeating: 2, count: 4096))
        try writer.zero(chunkIndex: 2)
        _ = try writer.finishDisk()
        let record = SavedMachine(spec: MachineSpec(name: machine, vcpus: 1, memory: .mebibytes(256)), ownerGroup: group, ownerUID: 1000)
        return try writer.commit(spec: try record.text(), domainXML: "<domain><name>\(machine)</name></domain>", frozen: true, checkpoint: nil)
    }

    @Test func listShowAndVerifyTellWhatTheBackupKeeps() async throws {
        let first = try backup(of: "web", group: "team-a")
        let second = try backup(of: "web", group: "team-a", parent: first.id)
        _ = try backup(of: "db", group: "team-b")

        let listed = try #require(try await hypervisor.perform(.list(repository: nil, machine: "web"), caller: caller) as? BackupListReply)
        #expect(listed.repository == "local" && listed.repositories == ["local"])
        #expect(Set(listed.backups.map(\.id)) == [second.id, first.id], "only web's")
        let shown = try #require(try await hypervisor.perform(.show(repository: "local", id: second.id), caller: caller) as? BackupReply).backup
        #expect(shown.parent == first.id && shown.machine == "web" && shown.group == "team-a" && shown.frozen)
        #expect(shown.disks.map(\.target) == ["vda"])
        #expect(shown.disks.first?.size == Int64(3 * 4096))
        #expect(shown.disks.first?.bytesRead == Int64(2 * 4096))
        #expect(shown.disks.first?.verification == nil)

        let verified = try #require(try await hypervisor.perform(.verify(repository: nil, id: second.id), caller: caller) as? BackupVerifyReply)
        #expect(verified.ok && verified.problems.isEmpty)
        #expect(verified.backup.disks.first?.verification?.ok == true, "the result is kept with the backup")

        let object = try await hypervisor.resolve(backup: first.id, repository: nil)
        #expect(object == BackupObject(id: first.id, repository: "local", machine: "web", ownerGroup: "team-a"))
        #expect(try await hypervisor.resolve(backup: "2026-01-01T00-00-00Z-00000000", repository: nil) == nil)

        _ = try await hypervisor.perform(.delete(repository: nil, id: first.id), caller: caller)
        #expect(try await hypervisor.resolve(backup: first.id, repository: nil) == nil)
    }

    @Test func aDamagedBackupFailsVerification() async throws {
        let made = try backup(of: "web", group: "team-a")
        let chunks = repository.path + "/chunks"
        let files = try FileManager.default.subpathsOfDirectory(atPath: chunks).filter { $0.split(separator: "/").count == 3 }
        for file in files { try Data([9, 9, 9]).write(to: URL(fileURLWithPath: chunks + "/" + file)) }
        let verified = try #require(try await hypervisor.perform(.verify(repository: nil, id: made.id), caller: caller) as? BackupVerifyReply)
        #expect(!verified.ok)
        #expect(!verified.problems.isEmpty)
        #expect(verified.backup.disks.first?.verification?.ok == false)
    }

    /// A second backup of a machine is refused while one runs, and allowed once it is over.
    @Test func oneBackupOfAMachineAtATime() throws {
        try hypervisor.backups.claim("web")
        let second = #expect(throws: HVError.self) { try hypervisor.backups.claim("web") }
        #expect(second?.code == .invalidState)
        #expect(second?.reason.contains("already running") == true)
        try hypervisor.backups.claim("db")
        hypervisor.backups.release("web")
        try hypervisor.backups.claim("web")
    }

    /// A stopped machine without a record is refused before anything is read or written.
    @Test func aMachineTheBrokerDidNotMakeIsNotBackedUp() async throws {
        let error = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.create(machine: "foreign", repository: nil), caller: caller)
        }
        #expect(error?.code == .invalidState, "\(String(describing: error))")
        #expect(try repository.backups().isEmpty)
        #expect(hypervisor.backupAttempts.all(repository: "local").isEmpty, "a refusal is no attempt")
    }

    @Test func aMachineThatIsNotThereLeavesNoAttempt() async throws {
        let error = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.create(machine: "absent", repository: nil), caller: caller)
        }
        #expect(error?.code == .notFound, "\(String(describing: error))")
        let status = try #require(try await hypervisor.perform(.status(repository: nil), caller: caller) as? BackupStatusReply)
        #expect(status.machines.isEmpty)
    }

    /// At start, attempts of machines that are not the broker's (one it did not make, one that is
    /// gone) are forgotten, so `Backup.Status` and the monitor's alerts don't keep them; the
    /// broker's machines keep theirs, in the file too.
    @Test func attemptsOfMachinesNotTheBrokersAreForgottenAtStart() async throws {
        let stateDirectory = URL(fileURLWithPath: hypervisor.backupAttempts.path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        for machine in ["foreign", "gone", "web"] {
            hypervisor.backupAttempts.record(
                repository: "local", machine: machine, outcome: .failure(HVError(.failed, "the disk is full")), took: .seconds(1)
            )
        }
        await hypervisor.recoverAtStart()
        #expect(Set(hypervisor.backupAttempts.all(repository: "local").keys) == ["web"])
        let status = try #require(try await hypervisor.perform(.status(repository: nil), caller: caller) as? BackupStatusReply)
        #expect(status.machines.map(\.machine) == ["web"])
        #expect(Set(BackupAttempts(path: hypervisor.backupAttempts.path).all(repository: "local").keys) == ["web"], "and the file no longer holds them")
    }

    /// A machine deleted through the broker takes its attempts along; other machines keep theirs.
    @Test func deletingAMachineDropsItsAttempts() async throws {
        let stateDirectory = URL(fileURLWithPath: hypervisor.backupAttempts.path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        for machine in ["foreign", "web"] {
            hypervisor.backupAttempts.record(
                repository: "local", machine: machine, outcome: .failure(HVError(.failed, "the disk is full")), took: .seconds(1)
            )
        }
        try await hypervisor.kill("foreign")
        _ = try await hypervisor.delete("foreign", removeDisks: false)
        #expect(Set(hypervisor.backupAttempts.all(repository: "local").keys) == ["web"])
        let status = try #require(try await hypervisor.perform(.status(repository: nil), caller: caller) as? BackupStatusReply)
        #expect(status.machines.map(\.machine) == ["web"])
        let reread = BackupAttempts(path: hypervisor.backupAttempts.path)
        #expect(Set(reread.all(repository: "local").keys) == ["web"], "and the file no longer holds them")
    }
}
