import HVAudit
import HVBroker
import HVPolkit
import HVProtocol
import HVServer
import Synchronization
import Testing

/// Host.Stats and Host.Health through the dispatcher, with fakes.
@Suite struct HostMethodsTests {
    @Test func statsReplyCarriesTheHypervisorsStatistics() async throws {
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed))
        let reply = try decodeReply(await dispatcher.handle(try encodeCall(Method.hostStats), from: testPeer))
        #expect(reply.error == nil)
        let stats = try VarlinkJSON.convert(reply.parameters ?? [:], to: HostStatsReply.self)
        #expect(stats == FakeHypervisor.statsReply)
        guard case .array(let domains) = reply.parameters?["domains"], case .object(let web) = domains.first else {
            Issue.record("no domains in \(String(describing: reply.parameters))")
            return
        }
        #expect(web["memoryUsableKiB"] == nil, "absent values are left out, as the interface's ?int says")
        #expect(web["memoryRssKiB"] == .int(100_000))
    }

    @Test func statsTakesNoParameters() async throws {
        let authorizer = FakeAuthorizer(.allowed)
        let (dispatcher, _) = try makeDispatcher(authorizer: authorizer)
        let reply = try decodeReply(await dispatcher.handle(try encodeCall(Method.hostStats, ["vm": .string("x")]), from: testPeer))
        #expect(reply.error == "org.varlink.service.InvalidParameter")
        #expect(authorizer.asked.withLock { $0 }.isEmpty)
    }

    @Test func healthAddsPolkitAndAuditToTheHypervisorsFacts() async throws {
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed))
        for _ in 0..<3 { _ = await dispatcher.handle(try encodeCall(Method.vmList), from: testPeer) }
        let reply = try decodeReply(await dispatcher.handle(try encodeCall(Method.hostHealth), from: testPeer))
        #expect(reply.error == nil)
        let health = try VarlinkJSON.convert(reply.parameters ?? [:], to: HealthReply.self)
        let byID = Dictionary(uniqueKeysWithValues: health.checks.map { ($0.id, $0) })
        #expect(byID["polkit"]?.status == .ok)
        #expect(byID["polkit"]?.value.hasPrefix("answered in ") == true)
        #expect(byID["audit"]?.status == .ok)
        #expect(byID["audit"]?.value.hasPrefix("3 records") == true, "the chain as it stood before this request")
        #expect(byID["libvirtd"]?.status == .ok)
    }

    @Test func healthAnswersWhileLibvirtdIsDown() async throws {
        let down = HealthFacts(
            libvirt: .unreachable(reason: "libvirt at qemu:///system is not reachable"), kvm: KvmStatus(usable: false, reason: "no /dev/kvm"),
            pools: nil, networks: nil, stoppedAutostartMachines: nil
        )
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), hypervisor: FakeHypervisor(facts: down))
        let reply = try decodeReply(await dispatcher.handle(try encodeCall(Method.hostHealth), from: testPeer))
        #expect(reply.error == nil)
        let health = try VarlinkJSON.convert(reply.parameters ?? [:], to: HealthReply.self)
        #expect(health.checks.first { $0.id == "libvirtd" }?.status == .critical)
        #expect(health.checks.first { $0.id == "autostart" }?.status == .unknown)
        #expect(try await auditRecords(audit).last?.action == "org.hypernixos.host.health")
    }

    @Test(arguments: [Method.hostStats, Method.hostHealth])
    func deniedViewerNeverReachesTheHypervisor(method: String) async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.denied), hypervisor: hypervisor)
        let reply = try decodeReply(await dispatcher.handle(try encodeCall(method), from: testPeer))
        #expect(reply.error == "org.hypernixos.Host.PermissionDenied")
        #expect(reply.parameters?["fix"]?.stringValue?.contains("hypervisor-viewers") == true)
        #expect(hypervisor.calls.withLock { $0 }.isEmpty)
    }

    @Test func newActionsAreGrantedToViewers() {
        #expect(BrokerOperation.hostStats.action == "org.hypernixos.host.stats")
        #expect(BrokerOperation.hostHealth.action == "org.hypernixos.host.health")
        #expect(BrokerOperation.hostStats.grantingGroup == "hypervisor-viewers")
        #expect(BrokerOperation.hostHealth.grantingGroup == "hypervisor-viewers")
    }
}
