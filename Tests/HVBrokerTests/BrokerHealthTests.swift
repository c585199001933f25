import Foundation
import HVAudit
import HVBroker
import HVPolkit
import HVProtocol
import Testing

/// The broker's health checks from given facts: thresholds, and what becomes unknown when libvirtd is down.
@Suite struct BrokerHealthTests {
    static let intact = AuditChain.verify(contents: Data(), head: nil)

    func checks(_ facts: HealthFacts, authorization: Duration = .milliseconds(1), audit: AuditChain.Verification = intact) -> [String: HealthCheck] {
        let list = BrokerHealth.checks(facts: facts, authorization: authorization, audit: audit, auditLog: "/var/log/hv/audit.jsonl")
        #expect(Set(list.map(\.id)).count == list.count, "check ids are unique")
        for check in list {
            #expect(!check.explanation.isEmpty && !check.value.isEmpty, "\(check.id)")
            #expect((check.status == .ok) == (check.fix == nil), "\(check.id): a fix exactly when not ok")
        }
        return Dictionary(uniqueKeysWithValues: list.map { ($0.id, $0) })
    }

    func facts(pools: [PoolStats]? = [], networks: [NetworkStatus]? = [], stopped: [String]? = []) -> HealthFacts {
        HealthFacts(
            libvirt: .reachable(latency: .microseconds(500), version: "9.0.0"), kvm: KvmStatus(usable: true, reason: "ran"),
            pools: pools, networks: networks, stoppedAutostartMachines: stopped
        )
    }

    @Test func healthyHostIsAllOk() {
        let result = checks(FakeHypervisor.healthyFacts)
        #expect(Set(result.keys) == ["libvirtd", "kvm", "polkit", "pool:images", "network:default", "autostart", "audit"])
        #expect(result.values.allSatisfy { $0.status == .ok }, "\(result.values.filter { $0.status != .ok })")
        #expect(result["libvirtd"]?.value.contains("9.0.0") == true)
        #expect(result["libvirtd"]?.value.contains("0.4 ms") == true)
        #expect(result["polkit"]?.value == "answered in 1.0 ms")
    }

    static let poolCases: [(available: Int64, status: HealthStatus)] = [
        (50, .ok), (15, .ok), (14, .warning), (5, .warning), (4, .critical), (0, .critical),
    ]

    @Test(arguments: poolCases)
    func poolFreeSpaceThresholds(available: Int64, status: HealthStatus) {
        let pool = PoolStats(name: "p", active: true, capacityBytes: 100, allocationBytes: 100 - available, availableBytes: available)
        let check = checks(facts(pools: [pool]))["pool:p"]
        #expect(check?.status == status)
        #expect(check?.value.hasPrefix("\(available)% free") == true, "\(String(describing: check?.value))")
    }

    @Test func poolSizesAreReadable() {
        let gib: Int64 = 1 << 30
        let pool = PoolStats(name: "p", active: true, capacityBytes: 25 * gib, allocationBytes: 22 * gib, availableBytes: 3 * gib)
        #expect(checks(facts(pools: [pool]))["pool:p"]?.value == "12% free (3.0 GiB of 25.0 GiB)")
    }

    @Test func inactivePoolIsCritical() {
        let pool = PoolStats(name: "p", active: false, capacityBytes: 0, allocationBytes: 0, availableBytes: 0)
        let check = checks(facts(pools: [pool]))["pool:p"]
        #expect(check?.status == .critical)
        #expect(check?.fix?.contains("pool-start p") == true)
    }

    @Test func networks() {
        let result = checks(
            facts(networks: [
                NetworkStatus(name: "up", active: true, autostart: true, bridge: "virbr0"),
                NetworkStatus(name: "down", active: false, autostart: true, bridge: "virbr1"),
                NetworkStatus(name: "spare", active: false, autostart: false, bridge: nil),
            ])
        )
        #expect(result["network:up"]?.status == .ok)
        #expect(result["network:up"]?.value.contains("virbr0") == true)
        #expect(result["network:down"]?.status == .critical)
        #expect(result["network:down"]?.fix?.contains("net-start down") == true)
        #expect(result["network:spare"]?.status == .ok)
        #expect(result["network:spare"]?.value.contains("inactive") == true)
    }

    @Test func stoppedAutostartMachinesAreListed() {
        let check = checks(facts(stopped: ["web", "db"]))["autostart"]
        #expect(check?.status == .warning)
        #expect(check?.value == "not running: db, web")
        #expect(checks(facts(stopped: []))["autostart"]?.status == .ok)
    }

    @Test func unusableKVMIsAWarningWithAFix() {
        var facts = facts()
        facts.kvm = KvmStatus(usable: false, reason: "the test guest ran far too slowly")
        let check = checks(facts)["kvm"]
        #expect(check?.status == .warning)
        #expect(check?.explanation.contains("software emulation") == true)
        #expect(check?.value.contains("far too slowly") == true)
    }

    @Test func slowAnswersAreWarnings() {
        #expect(checks(facts(), authorization: .milliseconds(1500))["polkit"]?.status == .warning)
        var slow = facts()
        slow.libvirt = .reachable(latency: .seconds(2), version: "9.0.0")
        #expect(checks(slow)["libvirtd"]?.status == .warning)
    }

    static let polkitBackends: [(PolkitBackend, HealthStatus)] = [
        (PolkitBackend(name: "js", version: "122"), .warning),
        (PolkitBackend(name: "js", version: "121"), .warning),
        (PolkitBackend(name: "js", version: "123"), .ok),
        (PolkitBackend(name: "js", version: "126"), .ok),
        (PolkitBackend(name: "js", version: "0.105"), .ok),
        (PolkitBackend(name: "interactive", version: "122"), .ok),
    ]

    /// polkitd 121 and 122 with the duktape engine stall every check for 15 s now and then; the
    /// check names the cause and the fix.
    @Test(arguments: polkitBackends)
    func aPolkitdWithTheFifteenSecondStallIsAWarning(backend: PolkitBackend, status: HealthStatus) {
        var facts = facts()
        facts.polkitBackend = backend
        let check = checks(facts)["polkit"]
        #expect(check?.status == status)
        #expect(check?.value.contains("polkitd \(backend.version), \(backend.name) backend") == true)
        if status == .warning {
            #expect(check?.explanation.contains("Terminating runaway script after 15 seconds") == true)
            #expect(check?.fix?.contains("123 or later") == true)
        }
    }

    @Test func brokenAuditChainIsCritical() {
        let broken = AuditChain.verify(contents: Data("{\"seq\": 1, \"edited\": true}\n".utf8), head: nil)
        #expect(!broken.intact)
        let check = checks(facts(), audit: broken)["audit"]
        #expect(check?.status == .critical)
        #expect(check?.value.hasPrefix("broken at line 1: ") == true, "\(String(describing: check?.value))")
    }

    @Test func libvirtdDownMakesItsChecksUnknown() {
        let down = HealthFacts(
            libvirt: .unreachable(reason: "Failed to connect socket"), kvm: KvmStatus(usable: true, reason: "ran"),
            pools: nil, networks: nil, stoppedAutostartMachines: nil
        )
        let result = checks(down)
        #expect(result["libvirtd"]?.status == .critical)
        #expect(result["libvirtd"]?.fix?.contains("systemctl start libvirtd") == true)
        #expect(result["pools"]?.status == .unknown)
        #expect(result["networks"]?.status == .unknown)
        #expect(result["autostart"]?.status == .unknown)
        #expect(result["kvm"]?.status == .ok && result["audit"]?.status == .ok && result["polkit"]?.status == .ok)

        var remembered = down
        remembered.lastKnownPools = ["images"]
        remembered.lastKnownNetworks = ["default"]
        let known = checks(remembered)
        #expect(known["pool:images"]?.status == .unknown)
        #expect(known["network:default"]?.status == .unknown)
        #expect(known["pools"] == nil)
    }
}
