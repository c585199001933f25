import Foundation
import HVAudit
import HVBroker
import HVClient
import HVPolkit
import HVProtocol
import HVServer
import HVServerTesting
import HVTestSupport
import HVWork
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Long jobs, libvirt calls and polkit checks run on pools of their own, each shared fairly among
/// users. Shown on the real server over libvirt's test driver, with long jobs that block until the
/// test releases them: what must not wait for them is answered while they still hold their threads.
@Suite(.serialized, .enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened"))
struct WorkKeptApartTests {
    /// The uid whose eight long jobs fill the jobs pool; the test's own calls come from its uid.
    static let busyUser: UInt32 = 4_000_000

    @Test func aViewersListIsAnsweredWhileEightLongJobsOfAnotherUserRun() async throws {
        let pools = HypervisorPools(
            libvirt: WorkPool(.libvirtCalls), jobs: WorkPool(.init(name: "jobs", threads: 2, maximumQueuedPerCaller: 8))
        )
        try await withBroker(pools) { socket in
            let gate = Gate()
            let finished = Recorder<String>()
            let jobs = Self.eightLongJobs(on: pools.jobs, until: gate, recordingIn: finished)
            #expect(await eventually(10) { pools.jobs.load.running == 2 && pools.jobs.load.queued[Self.busyUser] == 6 })

            let listed = Task {
                try await onThread {
                    let vms = try BrokerClient(socketPath: socket).list()
                    finished.append("Vm.List")
                    return vms
                }
            }
            // A broker whose libvirt calls waited for the jobs would still be waiting when the
            // gate opens below; the list would then come last.
            _ = await eventually(30) { finished.all.contains("Vm.List") }
            gate.open()
            _ = try await listed.value
            for job in jobs { try await job.value }
            #expect(finished.all.first == "Vm.List", "\(finished.all)")
        }
    }

    @Test func anotherUsersLongJobRunsBesideOneUsersEightJobs() async throws {
        // Two threads and one running job per user: the busy user's backlog leaves one thread free.
        let pools = HypervisorPools(libvirt: WorkPool(.libvirtCalls), jobs: WorkPool(.longJobs))
        try await withBroker(pools) { socket in
            let directory = (socket as NSString).deletingLastPathComponent + "/state/isos"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(repeating: 7, count: 3 << 20).write(to: URL(fileURLWithPath: directory + "/small.iso"))

            let gate = Gate()
            let finished = Recorder<String>()
            let jobs = Self.eightLongJobs(on: pools.jobs, until: gate, recordingIn: finished)
            #expect(await eventually(10) { pools.jobs.load.running == 1 && pools.jobs.load.queued[Self.busyUser] == 7 })
            let verified = Task {
                try await onThread {
                    let reply = try BrokerClient(socketPath: socket).verifyIso("small.iso")
                    finished.append("Iso.Verify")
                    return reply
                }
            }
            _ = await eventually(30) { finished.all.contains("Iso.Verify") }
            gate.open()
            #expect(try await verified.value.name == "small.iso")
            for job in jobs { try await job.value }
            #expect(finished.all.first == "Iso.Verify", "\(finished.all)")
        }
    }

    @Test func verifyWithMoreReportsProgressBeforeTheResult() async throws {
        try await withBroker(BulkTests.pools) { socket in
            let directory = (socket as NSString).deletingLastPathComponent + "/state/isos"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(repeating: 1, count: 64 << 20).write(to: URL(fileURLWithPath: directory + "/big.iso"))
            let reported = Recorder<WorkProgress>()
            let reply = try await onThread {
                try BrokerClient(socketPath: socket).verifyIso("big.iso") { progress in reported.append(progress) }
            }
            #expect(reply.name == "big.iso")
            let updates = reported.all
            #expect(!updates.isEmpty)
            #expect(updates.allSatisfy { $0.total == 64 << 20 && $0.done > 0 && $0.done <= 64 << 20 })
            #expect(updates.map(\.done) == updates.map(\.done).sorted())
        }
    }

    @Test func aCallerWhoDisconnectsStopsItsHashing() async throws {
        let pools = HypervisorPools(libvirt: WorkPool(.libvirtCalls), jobs: WorkPool(.longJobs))
        try await withBroker(pools) { socket in
            let directory = (socket as NSString).deletingLastPathComponent + "/state/isos"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // A terabyte (sparse): hashing all of it would take far longer than this test waits.
            let huge = open(directory + "/huge.iso", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            #expect(huge >= 0 && ftruncate(huge, 1 << 40) == 0)
            close(huge)
            try await onThread {
                let client = try VarlinkClient(socketPath: socket)
                let call = try VarlinkJSON.encode(VarlinkCall(method: Method.isoVerify, parameters: ["name": .string("huge.iso")]))
                try client.send(MessageFramer.frame(call))
                #expect(waitUntil(10) { pools.jobs.load.running == 1 })
                // The client leaves here, its connection closed with it.
            }
            #expect(await eventually(60) { pools.jobs.load.running == 0 }, "the hashing went on after its caller left")
        }
    }

    @Test func aCallerBeyondItsShareIsToldBusyWithAFix() async throws {
        // One job may run and none wait: a second long job of the same user is refused.
        let jobs = WorkPool(.init(name: "jobs", threads: 1, maximumQueuedPerCaller: 0))
        let pools = HypervisorPools(libvirt: WorkPool(.libvirtCalls), jobs: jobs)
        try await withBroker(pools) { socket in
            let directory = (socket as NSString).deletingLastPathComponent + "/state/isos"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(repeating: 7, count: 1 << 20).write(to: URL(fileURLWithPath: directory + "/small.iso"))
            let gate = Gate()
            let running = Task { try await jobs.run(for: getuid()) { _ in gate.wait() } }
            #expect(await eventually(10) { jobs.load.running == 1 })
            let refusal = try await onThread { () -> HVError? in
                do throws(HVError) {
                    _ = try BrokerClient(socketPath: socket).verifyIso("small.iso")
                    return nil
                } catch {
                    return error
                }
            }
            gate.open()
            try await running.value
            #expect(refusal?.code == .busy, "\(String(describing: refusal))")
            #expect(refusal?.details["pool"] == "jobs")
            #expect(refusal?.fix?.isEmpty == false)
        }
    }

    /// Eight jobs of `busyUser` that hold their thread until `gate` opens, then record that they ended.
    static func eightLongJobs(on pool: WorkPool, until gate: Gate, recordingIn finished: Recorder<String>) -> [Task<Void, any Error>] {
        (0..<8).map { index in
            Task {
                try await pool.run(for: busyUser) { _ in
                    gate.wait()
                    finished.append("job \(index)")
                }
            }
        }
    }

    /// A broker over `test:///default` with every request allowed and `pools` for its hypervisor.
    func withBroker(_ pools: HypervisorPools, _ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let directory = temporaryDirectory()
        let path = directory + "/b.sock"
        let hypervisor = LibvirtHypervisor(
            uri: "test:///default",
            layout: StorageLayout(stateDirectory: directory + "/state", consoleDirectory: directory + "/console"),
            pools: pools, logger: Logger(label: "test")
        )
        let audit = try AuditLog(path: directory + "/audit.jsonl", journal: false)
        let dispatcher = Dispatcher(hypervisor: hypervisor, authorizer: FakeAuthorizer(.allowed), audit: audit, logger: Logger(label: "test"))
        let server = BrokerServer(
            name: "broker", configuration: ServerConfiguration(listener: .path(path)), handler: dispatcher, logger: Logger(label: "test")
        )
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(await eventually(60) { FileManager.default.fileExists(atPath: path) }, "the broker listens")
            do {
                try await body(path)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
