@testable import HVBroker
import HVLibvirt
import HVProtocol
import Logging
import NIOPosix
import Testing

/// Bulk statistics, pools and networks read from libvirt's test driver (`test:///default`: a
/// running domain `test`, pool `default-pool`, network `default`), and the parsing of the typed
/// parameters a real QEMU driver returns.
/// Whether libvirt's test driver opens here; suites that need it are skipped, with the reason, when not.
enum TestDriverCheck {
    static let available: Bool = LibvirtStatsTests.testDriver() != nil
}

@Suite(.enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened")) struct LibvirtStatsTests {
    /// libvirt's worker threads for the suite, as the broker has them; they live as long as the test process.
    static let pools = HypervisorPools()

    /// Opens the test driver, or says why not and returns nil.
    static func testDriver() -> Connection? {
        do {
            return try Connection(uri: "test:///default")
        } catch {
            print("skipping libvirt test-driver checks: cannot open test:///default: \(error.message)")
            return nil
        }
    }

    @Test func bulkStatisticsIncludeStoppedDomains() throws {
        let connection = try #require(Self.testDriver())
        let xml = """
            <domain type='test'><name>hv-stopped</name><memory unit='KiB'>262144</memory><vcpu>3</vcpu>\
            <os><type>hvm</type></os></domain>
            """
        _ = try connection.defineDomain(xml: xml)
        let statistics = try connection.allDomainStatistics()
        let running = try #require(statistics.first { $0.name == "test" })
        #expect(running.state == "running")
        #expect(running.vcpus == 2)
        #expect(running.balloonMaximumKiB == 8_388_608)
        #expect(running.uuid == "6695eb01-f6a4-8304-79aa-97f2502e193f")
        let stopped = try #require(statistics.first { $0.name == "hv-stopped" })
        #expect(stopped.state == "shutoff")
        #expect(stopped.reason == "unknown")
        #expect(stopped.vcpus == 3)
        #expect(stopped.balloonMaximumKiB == 262_144)
        #expect(try connection.domainNames(.inactive) == ["hv-stopped"])
        #expect(try connection.domainNames(.autostart).isEmpty)
    }

    @Test func poolsAndNetworks() throws {
        let connection = try #require(Self.testDriver())
        let pool = try #require(try connection.storagePools().first { $0.name == "default-pool" })
        #expect(pool.isActive)
        let info = try pool.info()
        #expect(info.capacity == 100 * 1 << 30)
        #expect(info.available <= info.capacity)
        let network = try #require(try connection.networks().first { $0.name == "default" })
        #expect(try network.isActive())
        #expect(try network.autostart() == false)
        #expect(network.bridgeName() == "virbr0")
    }

    @Test func brokerStatsFromTheTestDriver() async throws {
                let hypervisor = LibvirtHypervisor(
            uri: "test:///default", layout: StorageLayout(stateDirectory: temporaryDirectory(), consoleDirectory: temporaryDirectory()),
            pools: Self.pools, logger: Logger(label: "test")
        )
        let stats = try await hypervisor.stats(includeForeign: true)
        let test = try #require(stats.domains.first { $0.name == "test" })
        #expect(test.state == "running" && test.autostart == false && test.vcpus == 2 && test.memoryMaxKiB == 8_388_608)
        #expect(stats.pools.contains { $0.name == "default-pool" && $0.active && $0.capacityBytes == 100 * 1 << 30 })
        #expect(stats.networks == [NetworkStatus(name: "default", active: true, autostart: false, bridge: "virbr0")])

        let facts = await hypervisor.healthFacts()
        guard case .reachable(_, let version) = facts.libvirt else {
            Issue.record("libvirt unreachable: \(facts.libvirt)")
            return
        }
        #expect(!version.isEmpty)
        #expect(facts.stoppedAutostartMachines == [])
        #expect(facts.pools?.map(\.name) == ["default-pool"])
        #expect(facts.lastKnownNetworks == ["default"])
        #expect(facts.kvm.usable == false)
    }

    @Test func unreachableLibvirtFailsStatsButNotHealth() async throws {
        let hypervisor = LibvirtHypervisor(
            uri: "qemu+unix:///system?socket=/nonexistent/libvirt-sock",
            layout: StorageLayout(stateDirectory: temporaryDirectory(), consoleDirectory: temporaryDirectory()),
            pools: Self.pools, logger: Logger(label: "test")
        )
        await #expect(throws: HVError.self) { try await hypervisor.stats(includeForeign: true) }
        do {
            _ = try await hypervisor.stats(includeForeign: true)
        } catch {
            #expect(error.code == .hypervisorUnavailable)
        }
        let facts = await hypervisor.healthFacts()
        guard case .unreachable(let reason) = facts.libvirt else {
            Issue.record("expected libvirt to be unreachable")
            return
        }
        #expect(reason.contains("not reachable"))
        #expect(facts.pools == nil && facts.networks == nil && facts.stoppedAutostartMachines == nil)
    }

    /// A running QEMU domain's record, as `virsh domstats --raw` shows one.
    @Test func parsesQemuTypedParameters() {
        let parameters = TypedParameters([
            "state.state": .signed(1), "state.reason": .signed(1), "cpu.time": .unsigned(5_000_000_000),
            "balloon.current": .unsigned(262_144), "balloon.maximum": .unsigned(524_288), "balloon.rss": .unsigned(200_000),
            "balloon.usable": .unsigned(150_000), "vcpu.current": .unsigned(2), "vcpu.maximum": .unsigned(4),
            "block.count": .unsigned(2), "block.0.name": .string("vda"), "block.0.capacity": .unsigned(1 << 30),
            "block.0.allocation": .unsigned(1 << 20), "block.0.rd.bytes": .unsigned(4096), "block.0.wr.bytes": .unsigned(8192),
            "block.0.rd.reqs": .unsigned(1), "block.0.wr.reqs": .unsigned(2), "block.1.name": .string("sda"),
            "net.count": .unsigned(1), "net.0.name": .string("vnet0"), "net.0.rx.bytes": .unsigned(100),
            "net.0.tx.bytes": .unsigned(200), "net.0.rx.pkts": .unsigned(3), "net.0.tx.pkts": .unsigned(4),
            "net.0.rx.errs": .unsigned(5), "net.0.tx.errs": .unsigned(6), "net.0.rx.drop": .unsigned(7), "net.0.tx.drop": .unsigned(8),
        ])
        let statistics = DomainStatistics(name: "web", uuid: "u", parameters: parameters)
        #expect(statistics.state == "running" && statistics.reason == "booted")
        #expect(statistics.vcpus == 2 && statistics.cpuTimeNs == 5_000_000_000)
        #expect(statistics.balloonMaximumKiB == 524_288 && statistics.rssKiB == 200_000 && statistics.usableKiB == 150_000)
        #expect(statistics.blocks.map(\.name) == ["vda", "sda"])
        #expect(statistics.blocks[0].readBytes == 4096 && statistics.blocks[0].writeRequests == 2 && statistics.blocks[0].allocation == 1 << 20)
        #expect(statistics.blocks[1].readBytes == nil)
        let interface = statistics.interfaces[0]
        #expect(interface.name == "vnet0" && interface.receivedBytes == 100 && interface.transmitDrops == 8 && interface.receiveErrors == 5)

        let wire = DomainStats(statistics, autostart: true)
        #expect(wire.memoryCurrentKiB == 262_144 && wire.autostart && wire.interfaces.count == 1)
    }

    @Test func stoppedDomainKeepsSizesButNoCounters() {
        let parameters = TypedParameters([
            "state.state": .signed(5), "state.reason": .signed(2), "cpu.time": .unsigned(120_000_000),
            "balloon.current": .unsigned(131_072), "balloon.maximum": .unsigned(131_072), "vcpu.current": .unsigned(2),
            "block.count": .unsigned(1), "block.0.name": .string("vda"), "block.0.capacity": .unsigned(10_485_760),
            "block.0.physical": .unsigned(4096),
        ])
        let statistics = DomainStatistics(name: "db", uuid: "u", parameters: parameters)
        #expect(statistics.state == "shutoff" && statistics.reason == "destroyed")
        let wire = DomainStats(statistics, autostart: false)
        #expect(wire.vcpus == 2 && wire.memoryMaxKiB == 131_072)
        #expect(wire.cpuTimeNs == nil && wire.memoryCurrentKiB == nil)
        #expect(wire.disks == [DiskStats(target: "vda", capacityBytes: 10_485_760, allocationBytes: 4096)])
    }

    @Test func stateAndReasonNames() {
        #expect(DomainStateNames.state(5) == "shutoff")
        #expect(DomainStateNames.state(7) == "pmsuspended")
        #expect(DomainStateNames.state(99) == "nostate")
        #expect(DomainStateNames.reason(3, state: 5) == "crashed")
        #expect(DomainStateNames.reason(8, state: 5) == "daemon")
        #expect(DomainStateNames.reason(3, state: 1) == "restored")
        #expect(DomainStateNames.reason(1, state: 6) == "panicked")
        #expect(DomainStateNames.reason(42, state: 1) == "unknown")
    }
}
