import Foundation
import HVAudit
import HVBroker
import HVClient
import HVLibvirt
import HVPolkit
import HVPresentation
import HVProtocol
import HVServer
import Logging
import NIOPosix
import ServiceLifecycle
import Testing

/// Bulk operations through a real broker on a socket, over libvirt's test driver.
@Suite(.serialized) struct BulkTests {
    /// The hypervisor's pools for the suites that make one; they live as long as the test process.
    static let pools = HypervisorPools()

    /// A broker over `test:///default` with every request allowed; `body` gets the socket path.
    func withTestDriverBroker(_ body: @escaping @Sendable (String) throws -> Void) async throws {
        let directory = temporaryDirectory()
        let path = directory + "/b.sock"
        let hypervisor = LibvirtHypervisor(
            uri: "test:///default", layout: StorageLayout(stateDirectory: directory + "/state", consoleDirectory: directory + "/console"),
            pools: Self.pools, logger: Logger(label: "test")
        )
        let audit = try AuditLog(path: directory + "/audit.jsonl", journal: false)
        let dispatcher = Dispatcher(hypervisor: hypervisor, authorizer: FakeAuthorizer(.allowed), audit: audit, logger: Logger(label: "test"))
        var configuration = ServerConfiguration(listener: .path(path))
        configuration.maximumClients = 64
        let server = BrokerServer(name: "broker", configuration: configuration, handler: dispatcher, logger: Logger(label: "test"))
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for _ in 0..<100 where !FileManager.default.fileExists(atPath: path) {
                try await Task.sleep(for: .milliseconds(20))
            }
            defer { Task { await group.triggerGracefulShutdown() } }
            try await onThread { try body(path) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test(.enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened"))
    func hundredMachinesWithSomeFailuresGiveACorrectSummary() async throws {
        try await withTestDriverBroker { socket in
            let prefix = "bulk-\(UUID().uuidString.prefix(6))"
            let names = (0..<100).map { "\(prefix)-\($0)" }
            let runner = BulkRunner(width: 8)
            let connect: @Sendable () throws(HVError) -> BrokerClient = { () throws(HVError) in try BrokerClient(socketPath: socket) }

            let created = runner.run(names, makeContext: connect) { client, name throws(HVError) in
                _ = try client.create(VmSpec(name: name, vcpus: 1, memoryMiB: 128, diskGiB: 1))
                return "defined"
            }
            #expect(created.allSatisfy { $0.ok }, "\(created.filter { !$0.ok })")

            // Ten are already running, five don't exist: both kinds must fail, the rest start.
            let early = Array(names.prefix(10))
            _ = runner.run(early, makeContext: connect) { client, name throws(HVError) in
                try client.lifecycle(Method.vmStart, name)
                return "started"
            }
            let missing = (0..<5).map { "\(prefix)-missing-\($0)" }
            let results = runner.run(names + missing, makeContext: connect) { client, name throws(HVError) in
                try client.lifecycle(Method.vmStart, name)
                return "started"
            }
            #expect(results.map(\.name) == names + missing)
            #expect(results.filter(\.ok).map(\.name) == Array(names.dropFirst(10)))
            #expect(Set(results.filter { !$0.ok }.compactMap(\.code)) == ["InvalidState", "NotFound"])
            #expect(results.filter { $0.code == "NotFound" }.map(\.name) == missing)
            #expect(BulkReport.summary(results, verb: "start") == "start: 90 of 105 succeeded, 15 failed")
            let table = BulkReport.table(results)
            #expect(table.contains("\(prefix)-missing-0") && table.contains("FAILED") && table.contains("NotFound"))

            let cleaned = runner.run(names, makeContext: connect) { client, name throws(HVError) in
                try? client.lifecycle(Method.vmKill, name)
                return "removed \(try client.delete(name, removeDisks: true).count) disk(s)"
            }
            #expect(cleaned.allSatisfy { $0.ok }, "\(cleaned.filter { !$0.ok })")
        }
    }

    @Test func selectionByNameTagOrAll() {
        let machines = [
            VmSummary(name: "b", state: "running", uuid: "2", tags: ["web"]),
            VmSummary(name: "a", state: "shut off", uuid: "1", tags: ["web", "lab"]),
            VmSummary(name: "c", state: "shut off", uuid: "3"),
        ]
        #expect(BulkSelection.tag("web").resolve(machines) == ["a", "b"])
        #expect(BulkSelection.tag("none").resolve(machines) == [])
        #expect(BulkSelection.all.resolve(machines) == ["a", "b", "c"])
        #expect(BulkSelection.names(["c", "x", "c"]).resolve(machines) == ["c", "x"])
    }

    @Test func widthBoundsTheWork() {
        let running = Counter()
        let results = BulkRunner(width: 3).run(
            (0..<30).map(String.init), makeContext: { () throws(HVError) in () }
        ) { _, name throws(HVError) in
            running.enter()
            defer { running.leave() }
            Thread.sleep(forTimeInterval: 0.002)
            if name == "7" { throw HVError(.notFound, "no machine named '7'") }
            return "ok"
        }
        #expect(running.peak <= 3)
        #expect(results.count == 30 && results.filter { !$0.ok }.map(\.name) == ["7"])
    }
}

/// Counts concurrent entries and remembers the most at once.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var current = 0
    private(set) var peak = 0
    func enter() { lock.withLock { current += 1; peak = max(peak, current) } }
    func leave() { lock.withLock { current -= 1 } }
}
