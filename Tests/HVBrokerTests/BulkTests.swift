import Foundation
import HVAudit
import HVBroker
import HVClient
import HVLibvirt
import HVPolkit
import HVPresentation
import HVProtocol
import HVServer
import HVServerTesting
import Logging
import NIOPosix
import Synchronization
import Testing

/// Bulk operations through a real broker on a socket, over libvirt's test driver.
@Suite(.serialized) struct BulkTests {
    /// The hypervisor's pools for the suites that make one; they live as long as the test process.
    static let pools = HypervisorPools()

    /// A broker over `test:///default` with every request allowed; `body` (blocking client code, on
    /// its own thread) gets the socket path.
    func withTestDriverBroker(_ body: @escaping @Sendable (String) throws -> Void) async throws {
        let directory = temporaryDirectory()
        let hypervisor = LibvirtHypervisor(
            uri: "test:///default", layout: StorageLayout(stateDirectory: directory + "/state", consoleDirectory: directory + "/console"),
            pools: Self.pools, logger: Logger(label: "test")
        )
        let audit = try AuditLog(path: directory + "/audit.jsonl", journal: false)
        let dispatcher = Dispatcher(hypervisor: hypervisor, authorizer: FakeAuthorizer(.allowed), audit: audit, logger: Logger(label: "test"))
        try await withVarlinkServer(dispatcher, name: "broker", configure: { $0.maximumClients = 64 }) { path in
            try await onThread { try body(path) }
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

    /// The runner works on exactly `width` machines at once, each worker over its own connection to
    /// the real server: every call is held until `width` are in flight together, which a runner
    /// doing fewer at a time never reaches (the hold then gives up, and the peak says so).
    @Test(arguments: [1, 3, 8])
    func widthIsReachedAndNeverExceeded(width: Int) async throws {
        let handler = InFlightHandler(holdUntil: width)
        let results = try await withVarlinkServer(handler, configure: { $0.maximumCallsPerUser = 64 }) { path in
            try await onThread {
                BulkRunner(width: width).run(
                    (0..<30).map(String.init),
                    makeContext: { () throws(HVError) in try VarlinkClient(socketPath: path, timeoutSeconds: 30) }
                ) { client, name throws(HVError) in
                    let reply = try client.callRaw(VarlinkCall(method: "test.Work", parameters: ["name": .string(name)]))
                    if let error = reply.error { throw HVError(varlinkName: error, parameters: reply.parameters) }
                    return "ok"
                }
            }
        }
        #expect(handler.mostInFlight.load(ordering: .relaxed) == width)
        #expect(results.map(\.name) == (0..<30).map(String.init))
        #expect(results.filter { !$0.ok }.map(\.name) == ["7"])
        #expect(results.first { !$0.ok }?.code == "NotFound")
    }
}

/// Counts the calls in flight and holds each one until `holdUntil` have been in flight at once (or
/// until a few seconds have passed since the first call, so a runner that never gets there fails
/// the test instead of hanging it). Machine "7" does not exist.
final class InFlightHandler: MessageHandler {
    let holdUntil: Int
    let inFlight = Atomic<Int>(0)
    let mostInFlight = Atomic<Int>(0)
    private let giveUpAt = Mutex<ContinuousClock.Instant?>(nil)

    init(holdUntil: Int) {
        self.holdUntil = holdUntil
    }

    func handle(_ message: [UInt8], from peer: Peer) async -> [UInt8]? {
        let deadline = giveUpAt.withLock { giveUpAt in
            let deadline = giveUpAt ?? .now + .seconds(5)
            giveUpAt = deadline
            return deadline
        }
        let now = inFlight.add(1, ordering: .relaxed).newValue
        mostInFlight.max(now, ordering: .relaxed)
        while mostInFlight.load(ordering: .relaxed) < holdUntil, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        inFlight.subtract(1, ordering: .relaxed)
        let call = try? VarlinkJSON.decode(VarlinkCall.self, from: message)
        guard call?.parameters?["name"] != .string("7") else {
            let error = HVError(.notFound, "no machine named '7'")
            return try? VarlinkJSON.encode(VarlinkReply(parameters: error.varlinkParameters, error: error.varlinkName(interface: "test")))
        }
        return try? VarlinkJSON.encode(VarlinkReply(parameters: [:]))
    }

    func recordRejected(_ error: HVError, from peer: Peer) {}
}
