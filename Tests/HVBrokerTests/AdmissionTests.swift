import Foundation
import HVAudit
import HVBroker
import HVPolkit
import HVProtocol
import HVServer
import Synchronization
import Testing

/// The admission path with fakes: the object is resolved and passed to polkit, foreign domains are
/// answered like missing ones, changes are audited before they act, records are bounded.
@Suite struct AdmissionTests {
    /// Like the shipped rules: admins (here: nobody) see foreign domains; operators act on their group's.
    static func operatorOf(_ group: String) -> FakeAuthorizer {
        FakeAuthorizer(.allowed) { operation, details in
            if details["managed"] == "false" || operation.grantingGroup == Role.admins.group { return .denied }
            if operation.requiresOwnership, let owner = details["owner_group"], owner != group { return .denied }
            return .allowed
        }
    }

    static func call(_ dispatcher: Dispatcher, _ method: String, _ parameters: [String: JSONValue]) async throws -> VarlinkReply {
        try decodeReply(await dispatcher.handle(try encodeCall(method, parameters), from: testPeer))
    }

    @Test func theObjectIsPassedToPolkit() async throws {
        let authorizer = Self.operatorOf("hypervisor-operators")
        let (dispatcher, _) = try makeDispatcher(authorizer: authorizer)
        let reply = try await Self.call(dispatcher, Method.vmKill, ["name": .string("web")])
        #expect(reply.error == nil)
        let details = try #require(authorizer.details.withLock { $0 }.last)
        #expect(details["machine"] == "web")
        #expect(details["owner_group"] == "hypervisor-operators")
        #expect(details["owner_user"] == "alice")
        #expect(details["managed"] == "true")
        #expect(details["tags"] == "lab")
    }

    @Test(arguments: [Method.vmKill, Method.vmStart, Method.vmDelete, Method.vmReadConsole])
    func anOperatorOfAnotherGroupIsRefused(method: String) async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, audit) = try makeDispatcher(authorizer: Self.operatorOf("team-b"), hypervisor: hypervisor)
        let reply = try await Self.call(dispatcher, method, ["name": .string("web")])
        #expect(reply.error?.hasSuffix(".PermissionDenied") == true, "\(reply)")
        #expect(reply.parameters?["reason"]?.stringValue?.contains("hypervisor-operators") == true, "the refusal names the owner group")
        #expect(hypervisor.calls.withLock { $0 }.isEmpty)
        #expect(try await auditRecords(audit).last?.decision == "denied")
    }

    @Test func readsAreNotOwned() async throws {
        let (dispatcher, _) = try makeDispatcher(authorizer: Self.operatorOf("team-b"))
        #expect(try await Self.call(dispatcher, Method.vmInfo, ["name": .string("web")]).error == nil)
    }

    /// A domain the broker did not make gets the answer a missing machine gets, and is never touched.
    @Test(arguments: [Method.vmInfo, Method.vmKill, Method.vmDelete, Method.vmStart])
    func foreignDomainsAreInvisible(method: String) async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: Self.operatorOf("hypervisor-operators"), hypervisor: hypervisor)
        let foreign = try await Self.call(dispatcher, method, ["name": .string("foreign")])
        let missing = try await Self.call(dispatcher, method, ["name": .string("missing")])
        #expect(foreign.error?.hasSuffix(".NotFound") == true, "\(foreign)")
        #expect(foreign.error == missing.error)
        #expect(foreign.parameters?["reason"]?.stringValue?.replacingOccurrences(of: "foreign", with: "missing") == missing.parameters?["reason"]?.stringValue)
        #expect(hypervisor.calls.withLock { $0 }.isEmpty)
    }

    @Test func aStrangerGetsTheSameDenialForForeignAndMissing() async throws {
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.denied))
        let foreign = try await Self.call(dispatcher, Method.vmInfo, ["name": .string("foreign")])
        let missing = try await Self.call(dispatcher, Method.vmInfo, ["name": .string("missing")])
        #expect(foreign.error?.hasSuffix(".PermissionDenied") == true)
        #expect(foreign.error == missing.error)
    }

    @Test func administratorsReachForeignDomains() async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed) { _, _ in .allowed }, hypervisor: hypervisor)
        _ = try await Self.call(dispatcher, Method.vmKill, ["name": .string("foreign")])
        #expect(hypervisor.calls.withLock { $0 } == ["kill foreign"])
    }

    @Test func listsShowForeignDomainsOnlyToThoseWhoMayAdoptThem() async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: Self.operatorOf("hypervisor-operators"), hypervisor: hypervisor)
        _ = try await Self.call(dispatcher, Method.vmList, [:])
        let admin = FakeHypervisor()
        let (adminDispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed) { _, _ in .allowed }, hypervisor: admin)
        _ = try await Self.call(adminDispatcher, Method.vmList, [:])
        #expect(hypervisor.calls.withLock { $0 } == ["list foreign=false"])
        #expect(admin.calls.withLock { $0 } == ["list foreign=true"])
    }

    @Test func exportRedactsSecretsForThoseWhoMayNotChangeTheMachine() async throws {
        let viewer = FakeAuthorizer(.allowed) { operation, _ in operation == .vmApply ? .denied : .allowed }
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: viewer, hypervisor: hypervisor)
        _ = try await Self.call(dispatcher, Method.vmExport, ["name": .string("web")])
        let (owner, _) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor)
        _ = try await Self.call(owner, Method.vmExport, ["name": .string("web")])
        #expect(hypervisor.calls.withLock { $0 } == ["vmExport web redacted=true uid=1000", "vmExport web redacted=false uid=1000"])
    }

    @Test func aChangeIsAuditedBeforeItActs() async throws {
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed))
        _ = try await Self.call(dispatcher, Method.vmKill, ["name": .string("web")])
        let records = try await auditRecords(audit).filter { $0.method == Method.vmKill }
        #expect(records.map(\.result) == ["started", "ok"])
        _ = try await Self.call(dispatcher, Method.vmInfo, ["name": .string("web")])
        #expect(try await auditRecords(audit).filter { $0.method == Method.vmInfo }.map(\.result) == ["ok"], "reads are recorded once")
    }

    @Test func aHugeMethodNameCostsTheLogLittle() async throws {
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed))
        let method = "org.hypernixos.Vm." + String(repeating: "A", count: 500_000)
        _ = try decodeReply(await dispatcher.handle(try encodeCall(method, [:]), from: testPeer))
        let record = try #require(try await auditRecords(audit).last)
        #expect(record.method.utf8.count < 300, "\(record.method.utf8.count) bytes kept")
        #expect(record.method.hasSuffix("(500018 bytes)"))
    }

    @Test func policyRefusalsAreRecordedAsRefusals() async throws {
        let hypervisor = FakeHypervisor(refuse: HVError(.quotaExceeded, "over", details: ["limit": "limits.vcpus"]))
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor)
        let reply = try await Self.call(dispatcher, Method.vmStart, ["name": .string("web")])
        #expect(reply.error?.hasSuffix(".QuotaExceeded") == true)
        #expect(try await auditRecords(audit).last?.decision == "refused")
    }

    /// Two changes to one machine never interleave between admission and the end of the act.
    @Test func changesToOneMachineAreSerialized() async throws {
        let hypervisor = FakeHypervisor(delay: .milliseconds(50))
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor)
        let running = Mutex((now: 0, most: 0))
        hypervisor.onCall = { entering in
            running.withLock { $0.now += entering ? 1 : -1; $0.most = max($0.most, $0.now) }
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { _ = try? await Self.call(dispatcher, Method.vmStart, ["name": .string("web")]) }
            }
        }
        #expect(running.withLock { $0.most } == 1)
        #expect(hypervisor.calls.withLock { $0.count } == 4)
    }
}
