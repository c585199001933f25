import Foundation
import HVBackupStore
import HVProtocol
import HVServer
import HVTestSupport
import Logging
import Testing

@testable import HVBroker

/// Prune and jobs in the broker, on libvirt's test driver and a real repository: a prune keeps
/// what its retention keeps (of the machine named), a job's run is recorded in the state
/// directory, and a job runs once at a time.
@Suite(.enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened"))
struct BackupJobHypervisorTests {
    let hypervisor: LibvirtHypervisor
    let repository: Repository
    let directory = temporaryDirectory()
    let caller = MachineSpecBrokerTests.caller

    init() throws {
        let nightly = BackupJob(name: "nightly", repository: "local", names: ["foreign", "ghost"], schedule: "*-*-* 02:00")
        let repositories = BackupRepositories(
            configuration: BackupConfiguration(
                repositories: [.init(name: "local", path: directory + "/backups", chunkSize: 4096)], jobs: [nightly]
            )
        )
        repository = try repositories.repository(named: nil).repository
        hypervisor = LibvirtHypervisor(
            uri: "test://" + (try TestDriverNode.write(TestDriverNode.xml(domains: BackupHypervisorTests.foreign), in: directory)),
            layout: StorageLayout(stateDirectory: directory + "/state", consoleDirectory: directory + "/console"),
            backups: repositories, pools: BulkTests.pools, logger: Logger(label: "test")
        )
    }

    func backup(of machine: String, byte: UInt8) throws -> BackupManifest {
        let writer = try BackupWriter.begin(in: repository, machine: machine, parent: nil)
        try writer.beginDisk(target: "vda", size: 4096, format: "raw")
        try writer.write(chunkIndex: 0, data: [UInt8](repeating: byte, count: 4096))
        _ = try writer.finishDisk()
        let record = SavedMachine(spec: MachineSpec(name: machine, vcpus: 1, memory: .mebibytes(256)), ownerGroup: "team-a", ownerUID: 1000)
        return try writer.commit(spec: try record.text(), domainXML: "<domain><name>\(machine)</name></domain>", frozen: false, checkpoint: nil)
    }

    @Test func aPruneKeepsWhatItsRetentionKeepsOfTheMachineNamed() async throws {
        let oldest = try backup(of: "web", byte: 1)
        try await Task.sleep(for: .milliseconds(1100))
        let newest = try backup(of: "web", byte: 2)
        let other = try backup(of: "db", byte: 3)
        let retention = BackupRetention(keepLast: 1)

        let trial = try #require(
            try await hypervisor.perform(.prune(repository: nil, machine: "web", retention: retention, dryRun: true), caller: caller)
                as? BackupPruneReply
        )
        #expect(trial.dryRun && trial.removed.map(\.id) == [oldest.id])
        #expect(try repository.backups().count == 3, "a dry run removes nothing")

        let pruned = try #require(
            try await hypervisor.perform(.prune(repository: "local", machine: "web", retention: retention, dryRun: false), caller: caller)
                as? BackupPruneReply
        )
        #expect(pruned.backups.map(\.id) == [newest.id, oldest.id])
        #expect(pruned.backups.first?.rules == ["last"])
        #expect(pruned.removed.map(\.id) == [oldest.id])
        #expect(Set(try repository.backups().map(\.id)) == [newest.id, other.id], "db's backup is not web's to prune")
        #expect(pruned.chunksRemoved == 0, "a chunk is removed only once older than the safety margin")
    }

    /// Every machine's outcome is recorded, in the state directory, and shown by Backup.Jobs.
    @Test func aRunIsRecordedAndListed() async throws {
        let reply = try #require(try await hypervisor.perform(.runJob("nightly"), caller: caller) as? BackupRunJobReply)
        #expect(reply.run.machines.map(\.machine) == ["foreign", "ghost"])
        #expect(reply.run.machines.map(\.code) == ["NotFound", "NotFound"], "a domain the broker did not make is not backed up")
        let recorded = try #require(BackupJobState(directory: directory + "/state/backup-jobs").lastRun(of: "nightly"))
        #expect(recorded == reply.run)

        let jobs = try #require(try await hypervisor.perform(.jobs, caller: caller) as? BackupJobsReply)
        let job = try #require(jobs.jobs.first)
        #expect(job.name == "nightly" && job.schedule == "*-*-* 02:00" && job.names == ["foreign", "ghost"])
        #expect(job.lastRun == reply.run && !job.running)
        if BackupJobConfigurationTests.calendarAvailable {
            let next = try #require(job.nextRun, "\(job.nextRunReason ?? "")")
            #expect(next > Int64(Date().timeIntervalSince1970) && next - Int64(Date().timeIntervalSince1970) <= 86_400)
            #expect(!job.due, "it ran just now")
        } else {
            #expect(job.nextRun == nil && job.nextRunReason?.contains("systemd-analyze") == true)
        }
    }

    @Test func aJobRunsOnceAtATime() async throws {
        try hypervisor.backups.claimJob("nightly")
        let error = await #expect(throws: HVError.self) { _ = try await hypervisor.perform(.runJob("nightly"), caller: caller) }
        #expect(error?.code == .invalidState && error?.reason.contains("already running") == true)
        let jobs = try #require(try await hypervisor.perform(.jobs, caller: caller) as? BackupJobsReply)
        #expect(jobs.jobs.first?.running == true && jobs.jobs.first?.due == false)
        hypervisor.backups.releaseJob("nightly")
        _ = try await hypervisor.perform(.runJob("nightly"), caller: caller)
    }

    @Test func anUnknownJobIsNotFoundWithTheNames() async throws {
        let error = await #expect(throws: HVError.self) { _ = try await hypervisor.perform(.runJob("weekly"), caller: caller) }
        #expect(error?.code == .notFound && error?.fix == "name one of: nightly")
    }
}
