import Foundation
import HVBroker
import HVClient
import HVPolkit
import HVProtocol
import HVServer
import HVServerTesting
import HVTestSupport
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// The real server on a real socket, with fakes behind it: hostile clients get precise errors
/// while a well-behaved client keeps being served.
@Suite(.serialized) struct ServerTests {
    /// Runs `body` (blocking client code, on its own thread) against a broker on a fresh socket,
    /// then shuts the broker down.
    func withServer(
        maximumClients: Int = 16, _ body: @escaping @Sendable (String) throws -> Void
    ) async throws {
        let (dispatcher, _) = try makeDispatcher(
            authorizer: FakeAuthorizer(.allowed), hypervisor: FakeHypervisor(delay: .milliseconds(2))
        )
        try await withVarlinkServer(dispatcher, name: "broker", configure: {
            $0.maximumMessageSize = 4096
            $0.maximumClients = maximumClients
            $0.readTimeout = .seconds(1)
        }) { path in
            try await onThread { try body(path) }
        }
    }

    /// Socket-activated, the broker leaves after an idle period on its own.
    @Test func exitsWhenIdle() async throws {
        let directory = temporaryDirectory()
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), directory: directory)
        var configuration = ServerConfiguration(listener: .path(directory + "/b.sock"))
        configuration.idleExit = .seconds(1)
        let server = BrokerServer(name: "broker", configuration: configuration, handler: dispatcher, logger: Logger(label: "test"))
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                let services = [ServiceGroupConfiguration.ServiceConfiguration(service: server, successTerminationBehavior: .gracefullyShutdownGroup)]
                try await ServiceGroup(configuration: .init(services: services, logger: Logger(label: "test"))).run()
                return true
            }
            tasks.addTask {
                try await Task.sleep(for: .seconds(20))
                return false
            }
            let exitedByItself = try await tasks.next()
            tasks.cancelAll()
            #expect(exitedByItself == true)
        }
        #expect(ContinuousClock.now - started >= .seconds(1))
    }

    /// Work that outlives its connection (a console session) keeps an idle broker running; it
    /// leaves once that work is done.
    @Test func staysWhileBusyElsewhere() async throws {
        let directory = temporaryDirectory()
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), directory: directory)
        let sessions = Locked(1)
        var configuration = ServerConfiguration(listener: .path(directory + "/b.sock"))
        configuration.idleExit = .seconds(1)
        configuration.busyElsewhere = { sessions.get() > 0 }
        let server = BrokerServer(name: "broker", configuration: configuration, handler: dispatcher, logger: Logger(label: "test"))
        let ended = Locked(false)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                let services = [ServiceGroupConfiguration.ServiceConfiguration(service: server, successTerminationBehavior: .gracefullyShutdownGroup)]
                try await ServiceGroup(configuration: .init(services: services, logger: Logger(label: "test"))).run()
                ended.set(true)
            }
            try await Task.sleep(for: .seconds(3))
            #expect(!ended.get(), "the broker left while a session ran")
            sessions.set(0)
            #expect(await eventually(20) { ended.get() }, "the broker stayed after the last session")
            tasks.cancelAll()
        }
    }

    @Test func socketIsConnectableByEveryone() async throws {
        try await withServer { path in
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o666)
        }
    }

    @Test func malformedMessageLeavesTheConnectionUsable() async throws {
        try await withServer { path in
            let client = try VarlinkClient(socketPath: path)
            try client.send(Array("{not json".utf8) + [0])
            let reply = try VarlinkJSON.decode(VarlinkReply.self, from: try client.receive())
            #expect(reply.error == "org.hypernixos.Protocol.MalformedMessage")
            let vms: VmListReply = try client.call(Method.vmList, NoParameters())
            #expect(vms.vms.map(\.name) == ["web"])
        }
    }

    @Test func oversizedMessageIsRefusedAndClosed() async throws {
        try await withServer { path in
            let client = try VarlinkClient(socketPath: path)
            try client.send([UInt8](repeating: 0x20, count: 10_000))
            let reply = try VarlinkJSON.decode(VarlinkReply.self, from: try client.receive())
            #expect(reply.error == "org.hypernixos.Protocol.MessageTooLarge")
            #expect(reply.parameters?["reason"]?.stringValue?.contains("4096") == true)
            #expect(throws: HVError.self) { try client.receive() }
        }
    }

    @Test func halfSentMessageTimesOut() async throws {
        try await withServer { path in
            let client = try VarlinkClient(socketPath: path)
            try client.send(Array(#"{"method":"org.hypernixos.Vm.List""#.utf8))
            let started = Date()
            let reply = try VarlinkJSON.decode(VarlinkReply.self, from: try client.receive())
            #expect(reply.error == "org.hypernixos.Protocol.ReadTimeout")
            #expect(Date().timeIntervalSince(started) >= 0.9)
        }
    }

    @Test func clientsBeyondTheLimitAreToldSo() async throws {
        try await withServer(maximumClients: 2) { path in
            let first = try VarlinkClient(socketPath: path)
            let second = try VarlinkClient(socketPath: path)
            _ = try first.call(Method.vmList, NoParameters(), as: VmListReply.self)
            _ = try second.call(Method.vmList, NoParameters(), as: VmListReply.self)
            let third = try VarlinkClient(socketPath: path)
            let reply = try VarlinkJSON.decode(VarlinkReply.self, from: try third.receive())
            #expect(reply.error == "org.hypernixos.Protocol.TooManyClients")
        }
    }

    /// One client keeps calling while others send garbage, oversized, half-sent and invalid requests.
    @Test func wellBehavedClientIsServedThroughAbuse() async throws {
        try await withServer { path in
            let tally = Tally()
            let good = Thread(block: {
                do {
                    let client = try VarlinkClient(socketPath: path)
                    for _ in 0..<200 {
                        let reply: VmListReply = try client.call(Method.vmList, NoParameters())
                        if reply.vms.count == 1 { tally.served.add(1, ordering: .relaxed) }
                    }
                } catch {
                    tally.failures.withLock { $0.append("\(error)") }
                }
            })
            good.start()

            let badNames = ["../x", "a b", "<x>", String(repeating: "n", count: 65), "", "$(reboot)"]
            for name in badNames {
                let client = try VarlinkClient(socketPath: path)
                let error = #expect(throws: HVError.self) {
                    try client.call(Method.vmStart, VmNameParameters(name: name), as: EmptyReply.self)
                }
                #expect(error?.code == .invalidSpec, "\(name)")
                #expect(error?.details["field"] == "name")
            }
            let unknown = try VarlinkClient(socketPath: path)
            #expect(throws: HVError.self) { try unknown.call("org.hypernixos.Vm.Format", VmNameParameters(name: "web"), as: EmptyReply.self) }
            let oversized = try VarlinkClient(socketPath: path)
            try oversized.send([UInt8](repeating: 0x41, count: 50_000))
            let halfSent = try VarlinkClient(socketPath: path)
            try halfSent.send(Array(#"{"method":"#.utf8))
            let garbage = try VarlinkClient(socketPath: path)
            try garbage.send([0xff, 0xfe, 0x00, 0x00, 0x7b, 0x00])

            while !good.isFinished { Thread.sleep(forTimeInterval: 0.02) }
            #expect(tally.failures.withLock { $0 }.isEmpty)
            #expect(tally.served.load(ordering: .relaxed) == 200)
        }
    }
}

final class Tally: Sendable {
    let served = Atomic<Int>(0)
    let failures = Mutex<[String]>([])
}
