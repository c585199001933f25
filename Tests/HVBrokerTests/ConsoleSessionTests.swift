import Foundation
import HVAudit
import HVBroker
import HVClient
import HVPolkit
import HVProtocol
import HVServer
import HVServerTesting
import HVSystem
import HVTestSupport
import Logging
import Synchronization
import Testing

/// The interactive consoles through the real upload socket: the caller gets one end of a socket
/// pair only after polkit said yes, the broker pumps the other end to the console on a thread of
/// its own, and sessions are bounded per user and in all.
@Suite(.serialized) struct ConsoleSessionTests {
    @Test func bytesFlowBothWaysUntilTheCallerDetaches() async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor)
        try await withDescriptorServer(dispatcher) { path in
            try await onThread {
                let (reply, console) = try DescriptorPassing.openConsole("web", force: false, socketPath: path)
                #expect(reply == VmOpenConsoleReply(name: "web", tookOver: false))
                let guest = try #require(hypervisor.consoleGuests.withLock { $0.first })
                try console.sendAll(Array("uname -a\n".utf8))
                #expect(try readBytes(guest, 9) == Array("uname -a\n".utf8))
                try guest.sendAll(Array("Linux guest\r\n/ # ".utf8))
                #expect(try readBytes(console, 17) == Array("Linux guest\r\n/ # ".utf8))
                console.close()
                // The session closes the console when the caller leaves.
                #expect(try readBytes(guest, 1) == [])
            }
        }
        try await waitForSessions(dispatcher.consoles, 0)
        await audit.flush()
        let records = try await auditRecords(audit).filter { $0.method == Method.vmOpenConsole }
        #expect(records.map(\.result) == [
            "started", "ok", "session ended: the caller detached; 9 bytes typed, 17 shown",
        ])
        #expect(records.allSatisfy { $0.action == "org.hypernixos.vm.console-attach" && $0.target == "web" })
    }

    @Test func theCallerSeesTheEndWhenTheConsoleCloses() async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor)
        try await withDescriptorServer(dispatcher) { path in
            try await onThread {
                let (_, console) = try DescriptorPassing.openConsole("web", force: true, socketPath: path)
                let guest = try #require(hypervisor.consoleGuests.withLock { $0.first })
                try guest.sendAll(Array("HV-POWEROFF\r\n".utf8))
                guest.close()
                // What the guest wrote before its console closed still arrives, then the end.
                #expect(try readBytes(console, 13) == Array("HV-POWEROFF\r\n".utf8))
                #expect(try readBytes(console, 1) == [])
            }
        }
        try await waitForSessions(dispatcher.consoles, 0)
        await audit.flush()
        let ended = try await auditRecords(audit).last { $0.method == Method.vmOpenConsole }
        #expect(ended?.result.hasPrefix("session ended: the console closed") == true, "\(String(describing: ended))")
    }

    /// Refused callers get an error and no descriptor, and the console is never opened.
    @Test(arguments: [AuthorizationOutcome.denied, .unavailable("polkitd is gone")])
    func noDescriptorBeforePolkitSaysYes(outcome: AuthorizationOutcome) async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(outcome), hypervisor: hypervisor)
        try await withDescriptorServer(dispatcher) { path in
            try await onThread {
                for method in [Method.vmOpenConsole, Method.vmOpenGraphics] {
                    let answer = try DescriptorPassing.receiving(socketPath: path, method: method, parameters: ["name": .string("web")])
                    #expect(answer.reply.error != nil, "\(method)")
                    #expect(answer.descriptor == nil, "\(method) handed out a descriptor to a refused caller")
                }
            }
        }
        #expect(hypervisor.calls.withLock { $0 }.isEmpty)
        #expect(dispatcher.consoles.active == 0)
    }

    /// A foreign domain is invisible: the same NotFound as a missing machine, and no descriptor.
    @Test func foreignDomainsAreNotFound() async throws {
        // As the shipped rules answer an operator: yes for a machine that does not exist, no for a foreign one.
        let operatorRules = FakeAuthorizer(.denied) { _, details in details["managed"] == "false" ? .denied : .allowed }
        let (dispatcher, _) = try makeDispatcher(authorizer: operatorRules)
        try await withDescriptorServer(dispatcher) { path in
            try await onThread {
                let answer = try DescriptorPassing.receiving(socketPath: path, method: Method.vmOpenConsole, parameters: ["name": .string("foreign")])
                #expect(answer.reply.error == "org.hypernixos.Vm.NotFound")
                #expect(answer.descriptor == nil)
            }
        }
    }

    @Test func theDisplayIsHandedOverAsItIs() async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor)
        try await withDescriptorServer(dispatcher) { path in
            try await onThread {
                let (reply, display) = try DescriptorPassing.openGraphics("web", socketPath: path)
                #expect(reply == VmOpenGraphicsReply(name: "web", type: "vnc"))
                #expect(try readBytes(display, 12) == Array("RFB 003.008\n".utf8))
            }
        }
        await audit.flush()
        let records = try await auditRecords(audit).filter { $0.method == Method.vmOpenGraphics }
        #expect(records.map(\.result) == ["started", "ok"])
        #expect(records.allSatisfy { $0.action == "org.hypernixos.vm.graphics" })
    }

    @Test func aCallThatBringsADescriptorIsRefused() async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor)
        try await withDescriptorServer(dispatcher) { path in
            try await onThread {
                let file = try Descriptor.open("/dev/null", O_RDONLY)
                let reply = try DescriptorPassing.exchange(
                    socketPath: path, message: try encodeCall(Method.vmOpenConsole, ["name": .string("web")]), descriptors: [file]
                )
                #expect(reply.error == "org.varlink.service.InvalidParameter")
                #expect(reply.parameters?["reason"]?.stringValue?.contains("takes no file descriptor") == true)
            }
        }
        #expect(hypervisor.calls.withLock { $0 }.isEmpty)
    }

    /// Past the per-user bound a caller is told `Busy` and no console is opened; another user still
    /// gets one, and a place comes back when its session ends.
    @Test func sessionsAreBoundedPerUser() async throws {
        var limits = ConsoleSessions.Limits()
        limits.perUser = 1
        limits.exemptUsers = []
        let consoles = ConsoleSessions(limits: limits)
        let hypervisor = FakeHypervisor()
        let audit = try AuditLog(path: temporaryDirectory() + "/audit.jsonl", journal: false)
        let dispatcher = Dispatcher(
            hypervisor: hypervisor, authorizer: FakeAuthorizer(.allowed), audit: audit, consoles: consoles, logger: Logger(label: "test")
        )
        try await withDescriptorServer(dispatcher) { path in
            try await onThread {
                let (_, first) = try DescriptorPassing.openConsole("web", force: false, socketPath: path)
                let second = try DescriptorPassing.receiving(socketPath: path, method: Method.vmOpenConsole, parameters: ["name": .string("web")])
                #expect(second.reply.error == "org.hypernixos.Vm.Busy")
                #expect(second.reply.parameters?["pool"] == .string("consoles"))
                #expect(second.reply.parameters?["limit"] == .string("1"))
                #expect(second.descriptor == nil)
                #expect(hypervisor.calls.withLock { $0 }.filter { $0.hasPrefix("openConsole") }.count == 1)
                first.close()
            }
            try await waitForSessions(consoles, 0)
            try await onThread {
                let (_, again) = try DescriptorPassing.openConsole("web", force: false, socketPath: path)
                again.close()
            }
        }
        try await waitForSessions(consoles, 0)
    }

    @Test func placesAreBoundedInAllAndGivenBack() throws {
        var limits = ConsoleSessions.Limits()
        limits.total = 2
        limits.perUser = 2
        let consoles = ConsoleSessions(limits: limits)
        let first = try consoles.reserve(1000)
        do {
            let second = try consoles.reserve(0)
            // root is exempt from the per-user bound, not from the total.
            #expect(throws: HVError.self) { try consoles.reserve(0) }
            do {
                _ = try consoles.reserve(1001)
                Issue.record("a third session was admitted past a total of 2")
            } catch {
                #expect(error.code == .busy && error.details["limit"] == "2")
            }
            withExtendedLifetime(second) {}
        }
        // The second place was let go of without a session: it is free again.
        withExtendedLifetime(try consoles.reserve(1001)) {}
        withExtendedLifetime(first) {}
    }

    /// A caller that stops reading ends its session once the backlog is full, instead of the broker
    /// keeping what the guest writes without end.
    @Test func aCallerThatStopsReadingIsCutOff() async throws {
        var limits = ConsoleSessions.Limits()
        limits.backlog = 4096
        let consoles = ConsoleSessions(limits: limits)
        let (caller, session) = try Descriptor.socketPair(name: "the caller")
        let (guest, stream) = try Descriptor.socketPair(name: "the console")
        let (ends, ended) = AsyncStream.makeStream(of: ConsoleSessionEnd.self)
        consoles.start(try consoles.reserve(1000), name: "web", socket: session, stream: try SocketConsoleStream(stream)) { end, _, _ in
            ended.yield(end)
        }
        try await onThread {
            let chunk = [UInt8](repeating: 0x41, count: 64 * 1024)
            // The session closes the console's socket when it ends: then writing fails.
            while (try? guest.sendAll(chunk)) != nil {}
        }
        #expect(await ends.first { _ in true } == .callerNotReading)
        withExtendedLifetime(caller) {}
    }

    @Test func stoppingTheBrokerEndsEverySession() async throws {
        let consoles = ConsoleSessions()
        let (caller, session) = try Descriptor.socketPair(name: "the caller")
        let (guest, stream) = try Descriptor.socketPair(name: "the console")
        let (ends, ended) = AsyncStream.makeStream(of: ConsoleSessionEnd.self)
        consoles.start(try consoles.reserve(1000), name: "web", socket: session, stream: try SocketConsoleStream(stream)) { end, _, _ in
            ended.yield(end)
        }
        consoles.endAll()
        #expect(await ends.first { _ in true } == .brokerStopping)
        #expect(try readBytes(caller, 1) == [])
        #expect(try readBytes(guest, 1) == [], "the console was closed too")
        #expect(throws: HVError.self) { try consoles.reserve(1000) }
    }

    func waitForSessions(_ consoles: ConsoleSessions, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while consoles.active != count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(consoles.active == count)
    }
}

/// A console that is one end of a socket pair; the test holds the other, as the guest.
final class SocketConsoleStream: ConsoleStream {
    let socket: Descriptor

    init(_ socket: Descriptor) throws {
        self.socket = socket
        try socket.setNonBlocking()
    }

    var readiness: Int32 { socket.raw }

    func receive(into buffer: UnsafeMutableRawBufferPointer) -> ConsoleRead {
        let count = recv(socket.raw, buffer.baseAddress, buffer.count, 0)
        if count > 0 { return .bytes(count) }
        if count == 0 { return .ended }
        return errno == EAGAIN ? .empty : .failed(String(cString: strerror(errno)))
    }

    func send(_ bytes: UnsafeRawBufferPointer) -> ConsoleWrite {
        let count = Glibc.send(socket.raw, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        if count >= 0 { return .sent(count) }
        return errno == EAGAIN ? .full : .failed(String(cString: strerror(errno)))
    }

    func close() {
        socket.close()
    }
}
