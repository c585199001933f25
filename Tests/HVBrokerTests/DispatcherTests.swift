import HVAudit
import HVBroker
import HVPolkit
import HVProtocol
import HVServer
import Synchronization
import Testing

/// The order decode → validate → authorize → act → audit, shown with fakes that record calls.
@Suite struct DispatcherTests {
    static let cases: [(String, [String: JSONValue], BrokerOperation, String)] = [
        (Method.hostGetInfo, [:], .hostInfo, "hostInfo"),
        (Method.hostStats, [:], .hostStats, "stats"),
        (Method.hostHealth, [:], .hostHealth, "health"),
        (Method.vmList, [:], .vmList, "list foreign=false"),
        (Method.vmInfo, ["name": .string("web")], .vmInfo, "info web"),
        (Method.vmStart, ["name": .string("web")], .vmStart, "start web"),
        (Method.vmShutdown, ["name": .string("web")], .vmShutdown, "shutdown web"),
        (Method.vmReboot, ["name": .string("web")], .vmReboot, "reboot web"),
        (Method.vmKill, ["name": .string("web")], .vmKill, "kill web"),
        (Method.vmDelete, ["name": .string("web")], .vmDelete, "delete web false"),
        (Method.vmDelete, ["name": .string("web"), "removeDisks": .bool(true)], .vmDeleteWithDisks, "delete web true"),
        (Method.vmReadConsole, ["name": .string("web"), "maxBytes": .int(100)], .vmConsole, "console web 100"),
        (Method.vmScreenshot, ["name": .string("web")], .vmScreenshot, "screenshot web"),
        (
            Method.vmCreate,
            ["spec": .object(["name": .string("web"), "vcpus": .int(1), "memoryMiB": .int(512), "diskGiB": .int(2)])],
            .vmCreate, "create web"
        ),
    ]

    @Test(arguments: cases)
    func allowedRequestsReachTheHypervisor(method: String, parameters: [String: JSONValue], operation: BrokerOperation, call: String) async throws {
        let authorizer = FakeAuthorizer(.allowed)
        let hypervisor = FakeHypervisor()
        let (dispatcher, audit) = try makeDispatcher(authorizer: authorizer, hypervisor: hypervisor)
        let reply = try decodeReply(await dispatcher.handle(try encodeCall(method, parameters), from: testPeer))
        #expect(reply.error == nil)
        #expect(authorizer.asked.withLock { $0 } == [operation])
        #expect(hypervisor.calls.withLock { $0 } == [call])
        let record = try #require(try await auditRecords(audit).last)
        #expect(record.action == operation.action)
        #expect(record.decision == "allowed")
        #expect(record.result == "ok")
        #expect(record.uid == testPeer.uid && record.pid == testPeer.pid)
    }

    @Test(arguments: cases)
    func deniedRequestsChangeNothing(method: String, parameters: [String: JSONValue], operation: BrokerOperation, call _: String) async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.denied), hypervisor: hypervisor)
        let reply = try decodeReply(await dispatcher.handle(try encodeCall(method, parameters), from: testPeer))
        #expect(reply.error?.hasSuffix(".PermissionDenied") == true)
        #expect(reply.parameters?["action"] == .string(operation.action))
        #expect(reply.parameters?["fix"]?.stringValue?.contains(operation.grantingGroup) == true)
        #expect(hypervisor.calls.withLock { $0 }.isEmpty)
        #expect(try await auditRecords(audit).last?.decision == "denied")
    }

    @Test func unreachablePolkitMeansRefusal() async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.unavailable("no bus")), hypervisor: hypervisor)
        let reply = try decodeReply(await dispatcher.handle(try encodeCall(Method.vmStart, ["name": .string("web")]), from: testPeer))
        #expect(reply.error == "org.hypernixos.Vm.AuthorizationUnavailable")
        #expect(hypervisor.calls.withLock { $0 }.isEmpty)
        #expect(try await auditRecords(audit).last?.decision == "unavailable")
    }

    static let invalid: [(String, [String: JSONValue], String)] = [
        (Method.vmStart, ["name": .string("../x")], "org.hypernixos.Vm.InvalidSpec"),
        (Method.vmStart, ["name": .string("a b")], "org.hypernixos.Vm.InvalidSpec"),
        (Method.vmStart, ["name": .string("<x>")], "org.hypernixos.Vm.InvalidSpec"),
        (Method.vmStart, ["name": .string(String(repeating: "a", count: 65))], "org.hypernixos.Vm.InvalidSpec"),
        (Method.vmStart, ["name": .int(3)], "org.varlink.service.InvalidParameter"),
        (Method.vmStart, [:], "org.varlink.service.InvalidParameter"),
        (Method.vmStart, ["name": .string("web"), "force": .bool(true)], "org.varlink.service.InvalidParameter"),
        (Method.vmReadConsole, ["name": .string("web"), "maxBytes": .int(-1)], "org.varlink.service.InvalidParameter"),
        ("org.hypernixos.Vm.Migrate", ["name": .string("web")], "org.varlink.service.MethodNotFound"),
        ("org.example.Other.Call", [:], "org.varlink.service.InterfaceNotFound"),
        (
            Method.vmCreate,
            ["spec": .object(["name": .string("web"), "vcpus": .int(-2), "memoryMiB": .int(512), "diskGiB": .int(2)])],
            "org.hypernixos.Vm.InvalidSpec"
        ),
        (
            Method.vmCreate,
            ["spec": .object(["name": .string("web"), "vcpus": .int(1), "memoryMiB": .int(512), "diskGiB": .int(99_999_999)])],
            "org.hypernixos.Vm.InvalidSpec"
        ),
        (
            Method.vmCreate,
            [
                "spec": .object([
                    "name": .string("web"), "vcpus": .int(1), "memoryMiB": .int(512), "diskGiB": .int(2),
                    "iso": .string("../../etc/shadow"),
                ])
            ],
            "org.hypernixos.Vm.InvalidSpec"
        ),
        (Method.vmCreate, ["spec": .string("<domain type='kvm'/>")], "org.varlink.service.InvalidParameter"),
        // Adversarial specs for Vm.Apply: each is refused with its field named, before polkit or libvirt.
        (Method.vmApply, ["spec": applySpec(["name": .string("../../etc/passwd")])], "org.hypernixos.Vm.InvalidSpec"),
        (Method.vmApply, ["spec": applySpec(["description": .string("</description><devices>")])], "org.hypernixos.Vm.InvalidSpec"),
        (Method.vmApply, ["spec": applySpec(["vcpus": .int(-4)])], "org.hypernixos.Vm.InvalidSpec"),
        (Method.vmApply, ["spec": applySpec(["memory": .string("900PiB")])], "org.varlink.service.InvalidParameter"),
        (Method.vmApply, ["spec": applySpec(["disks": .array([disk("root", "-5GiB")])])], "org.varlink.service.InvalidParameter"),
        (Method.vmApply, ["spec": applySpec(["disks": .array([disk("root", "99999TiB")])])], "org.hypernixos.Vm.InvalidSpec"),
        (Method.vmApply, ["spec": applySpec(["disks": .array([disk("root", "2GiB"), disk("root", "2GiB")])])], "org.hypernixos.Vm.InvalidSpec"),
        (Method.vmApply, ["spec": applySpec(["disks": .array([disk("/etc/shadow", "2GiB")])])], "org.hypernixos.Vm.InvalidSpec"),
        (Method.vmApply, ["spec": applySpec(["cdrom": .string("../../etc/shadow")])], "org.hypernixos.Vm.InvalidSpec"),
        (Method.vmApply, ["spec": applySpec(["emulator": .string("/bin/sh")])], "org.varlink.service.InvalidParameter"),
        // Host features: malformed CPU lists, addresses and ids never reach polkit or sysfs.
        (Method.vmPinCpus, ["name": .string("web"), "pins": .array([pin(0, "0-2;reboot")])], "org.varlink.service.InvalidParameter"),
        (Method.vmPinCpus, ["name": .string("web"), "pins": .array([pin(0, "3-1")])], "org.varlink.service.InvalidParameter"),
        (Method.vmPinCpus, ["name": .string("web"), "pins": .array([pin(-1, "1")])], "org.varlink.service.InvalidParameter"),
        (Method.vmPinCpus, ["name": .string("web"), "pins": .array([pin(0, "1"), pin(0, "2")])], "org.varlink.service.InvalidParameter"),
        (Method.vmSetPassthrough, ["name": .string("web"), "pci": .array([.string("../../../etc/shadow")]), "usb": .array([])], "org.varlink.service.InvalidParameter"),
        (Method.vmSetPassthrough, ["name": .string("web"), "pci": .array([.string("0000:01:20.0")]), "usb": .array([])], "org.varlink.service.InvalidParameter"),
        (Method.vmSetPassthrough, ["name": .string("web"), "pci": .array([]), "usb": .array([.string("046d:c52b'/>")])], "org.varlink.service.InvalidParameter"),
        (Method.vmSetPassthrough, ["name": .string("web"), "pci": .array([.string("01:00.0"), .string("0000:01:00.0")]), "usb": .array([])], "org.varlink.service.InvalidParameter"),
        (Method.vmSetHugepages, ["name": .string("../web"), "enabled": .bool(true)], "org.hypernixos.Vm.InvalidSpec"),
        (Method.hostAutostart, ["groupDelaySeconds": .int(86_400)], "org.varlink.service.InvalidParameter"),
    ]

    static func pin(_ vcpu: Int, _ cpus: String) -> JSONValue {
        .object(["vcpu": .int(Int64(vcpu)), "cpus": .string(cpus)])
    }

    /// A valid spec for Vm.Apply with `changes` laid over it.
    static func applySpec(_ changes: [String: JSONValue]) -> JSONValue {
        var spec: [String: JSONValue] = [
            "name": .string("web"), "vcpus": .int(1), "memory": .string("1GiB"), "disks": .array([disk("root", "2GiB")]),
        ]
        spec.merge(changes) { $1 }
        return .object(spec)
    }

    static func disk(_ name: String, _ size: String) -> JSONValue {
        .object(["name": .string(name), "size": .string(size)])
    }

    /// Invalid input is refused before polkit is asked and before anything is touched.
    @Test(arguments: invalid)
    func invalidRequestsNeverReachPolkit(method: String, parameters: [String: JSONValue], error: String) async throws {
        let authorizer = FakeAuthorizer(.allowed)
        let hypervisor = FakeHypervisor()
        let (dispatcher, audit) = try makeDispatcher(authorizer: authorizer, hypervisor: hypervisor)
        let reply = try decodeReply(await dispatcher.handle(try encodeCall(method, parameters), from: testPeer))
        #expect(reply.error == error)
        #expect(reply.parameters?["reason"]?.stringValue?.isEmpty == false)
        #expect(authorizer.asked.withLock { $0 }.isEmpty)
        #expect(hypervisor.calls.withLock { $0 }.isEmpty)
        #expect(try await auditRecords(audit).last?.decision == "invalid")
    }

    @Test func malformedMessagesGetAnError() async throws {
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed))
        for garbage in ["not json", "[]", #"{"parameters":{}}"#, #"{"method":5}"#, "\u{FFFD}\u{0}"] {
            let reply = try decodeReply(await dispatcher.handle(Array(garbage.utf8), from: testPeer))
            #expect(reply.error == "org.hypernixos.Protocol.MalformedMessage", "\(garbage)")
        }
        #expect(try await auditRecords(audit).count == 5)
    }

    @Test func introspectionNeedsNoAuthorization() async throws {
        let authorizer = FakeAuthorizer(.denied)
        let (dispatcher, _) = try makeDispatcher(authorizer: authorizer)
        let info = try decodeReply(await dispatcher.handle(try encodeCall(Method.getInfo), from: testPeer))
        #expect(info.parameters?["interfaces"] == .array(Interfaces.all.map(JSONValue.string)))
        let description = try decodeReply(
            await dispatcher.handle(try encodeCall(Method.getInterfaceDescription, ["interface": .string("org.hypernixos.Vm")]), from: testPeer)
        )
        #expect(description.parameters?["description"]?.stringValue?.contains("method Start(name: string)") == true)
        #expect(authorizer.asked.withLock { $0 }.isEmpty)
    }

    @Test func onewayCallsAreAuditedButGetNoReply() async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor)
        let reply = await dispatcher.handle(try encodeCall(Method.vmStart, ["name": .string("web")], oneway: true), from: testPeer)
        #expect(reply == nil)
        #expect(hypervisor.calls.withLock { $0 } == ["start web"])
        #expect(try await auditRecords(audit).map(\.result) == ["started", "ok"], "the intent, then the outcome")
    }

    @Test func everyRequestIsChainedInTheAuditLog() async throws {
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed))
        for _ in 0..<10 { _ = await dispatcher.handle(try encodeCall(Method.vmList), from: testPeer) }
        _ = await dispatcher.handle(Array("junk".utf8), from: testPeer)
        let verification = await audit.verifyAll()
        #expect(verification.intact)
        #expect(verification.records == 11)
    }
}
