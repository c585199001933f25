import Foundation
import HVHealth
import HVProtocol
import Synchronization
import Testing

/// The client-side checks and how the broker's are merged in, against a fake broker socket, a fake
/// sysfs tree and given clock readings.
@Suite struct HealthRunnerTests {
    static let synchronized = ClockReading(unsynchronized: false, estimatedErrorMicroseconds: 800, maximumErrorMicroseconds: 20_000)

    static let brokerChecks = [
        HealthCheck(id: "libvirtd", title: "libvirtd reachable", status: .ok, value: "answered in 0.4 ms (libvirt 9.0.0)", explanation: "x", fix: nil),
        HealthCheck(id: "kvm", title: "KVM usable", status: .warning, value: "not usable", explanation: "x", fix: "y"),
        HealthCheck(id: "pool:images", title: "storage pool images", status: .ok, value: "50% free", explanation: "x", fix: nil),
    ]

    static let stats = HostStatsReply(
        domains: [],
        pools: [],
        networks: [
            NetworkStatus(name: "default", active: true, autostart: true, bridge: "virbr0"),
            NetworkStatus(name: "spare", active: false, autostart: false, bridge: "virbr9"),
        ]
    )

    /// A sysfs tree with the given bridges: name → (operstate, flags).
    static func sysfs(_ bridges: [String: (String, String)]) throws -> String {
        let root = NSTemporaryDirectory() + "hv-sysfs-\(UUID().uuidString.prefix(8))"
        for (name, (operstate, flags)) in bridges {
            let directory = root + "/class/net/" + name
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try (operstate + "\n").write(toFile: directory + "/operstate", atomically: true, encoding: .utf8)
            try (flags + "\n").write(toFile: directory + "/flags", atomically: true, encoding: .utf8)
        }
        return root
    }

    /// A broker that answers GetInfo, Host.Health with `brokerChecks` and Host.Stats with `stats`.
    static func healthyBroker() throws -> FakeBroker {
        try FakeBroker(replies: [
            Method.getInfo: FakeBroker.serviceInfo,
            Method.hostHealth: try FakeBroker.reply(HealthReply(checks: Self.brokerChecks)),
            Method.hostStats: try FakeBroker.reply(Self.stats),
        ])
    }

    func byID(_ report: HealthReport) -> [String: HealthCheck] {
        Dictionary(uniqueKeysWithValues: report.checks.map { ($0.id, $0) })
    }

    @Test func answeringBrokerIsMergedWithClientChecks() throws {
        let broker = try Self.healthyBroker()
        defer { broker.stop() }
        let root = try Self.sysfs(["virbr0": ("up", "0x1003")])
        let report = HealthRunner(brokerSocket: broker.path, sysfsRoot: root, clock: { Self.synchronized }).run()
        #expect(report.checks.map(\.id) == ["broker", "libvirtd", "kvm", "pool:images", "bridge:virbr0", "clock"])
        let checks = byID(report)
        #expect(checks["broker"]?.status == .ok)
        #expect(checks["broker"]?.value.contains("hv-broker 0.1.0") == true)
        #expect(checks["bridge:virbr0"]?.status == .ok)
        #expect(checks["clock"]?.status == .ok)
        #expect(checks["clock"]?.value == "synchronized (estimated error 0.8 ms)")
        #expect(report.status == .warning)
        #expect(report.brokerError == nil)
    }

    @Test func missingSocketMakesBrokerCriticalAndItsChecksUnknown() {
        let report = HealthRunner(brokerSocket: "/nonexistent/broker.sock", clock: { Self.synchronized }).run()
        let checks = byID(report)
        #expect(checks["broker"]?.status == .critical)
        #expect(checks["broker"]?.fix == "systemctl start hv-broker.socket")
        for id in HealthRunner.brokerCheckIDs {
            #expect(checks[id]?.status == .unknown, "\(id) is unknown, not missing")
        }
        #expect(checks["clock"]?.status == .ok, "client checks still run")
        #expect(report.status == .unknown)
        #expect(report.brokerError?.code == .brokerUnavailable)
    }

    @Test func checksSeenBeforeStayAsUnknownWhenTheBrokerGoes() throws {
        let broker = try Self.healthyBroker()
        let root = try Self.sysfs(["virbr0": ("up", "0x1003")])
        let runner = HealthRunner(brokerSocket: broker.path, sysfsRoot: root, clock: { Self.synchronized })
        #expect(runner.run().status == .warning)
        broker.stop()
        let checks = byID(runner.run())
        #expect(checks["broker"]?.status == .critical)
        #expect(checks["pool:images"]?.status == .unknown)
        #expect(checks["bridge:virbr0"]?.status == .unknown)
    }

    @Test func denialNamesTheGroupToJoin() throws {
        let denied = HVError(
            .permissionDenied, "not authorized: polkit denied 'org.hypernixos.host.health'", fix: "join",
            details: ["action": "org.hypernixos.host.health"]
        )
        let broker = try FakeBroker(replies: [Method.getInfo: FakeBroker.serviceInfo, Method.hostHealth: FakeBroker.error(denied)])
        defer { broker.stop() }
        let report = HealthRunner(brokerSocket: broker.path, clock: { Self.synchronized }).run()
        let check = try #require(byID(report)["broker"])
        #expect(check.status == .critical)
        #expect(check.value.contains("org.hypernixos.host.health"))
        #expect(check.fix?.contains("hypervisor-viewers") == true)
        #expect(report.brokerError?.code == .permissionDenied)
        #expect(byID(report)["libvirtd"]?.status == .unknown)
        #expect(!broker.calls.withLock { $0 }.contains(Method.hostStats), "no further request after a denial")
    }

    @Test func polkitDownIsThePolkitChecksFailure() throws {
        let unavailable = HVError(.authorizationUnavailable, "polkit could not be asked", fix: "start polkitd")
        let broker = try FakeBroker(replies: [Method.getInfo: FakeBroker.serviceInfo, Method.hostHealth: FakeBroker.error(unavailable)])
        defer { broker.stop() }
        let checks = byID(HealthRunner(brokerSocket: broker.path, clock: { Self.synchronized }).run())
        #expect(checks["broker"]?.status == .ok)
        #expect(checks["polkit"]?.status == .critical)
        #expect(checks["polkit"]?.fix == "start polkitd")
    }

    @Test func libvirtdDownLeavesRememberedBridgesUnknown() throws {
        let broker = try Self.healthyBroker()
        defer { broker.stop() }
        let root = try Self.sysfs(["virbr0": ("up", "0x1003")])
        let runner = HealthRunner(brokerSocket: broker.path, sysfsRoot: root, clock: { Self.synchronized })
        #expect(byID(runner.run())["bridge:virbr0"]?.status == .ok)
        let unavailable = HVError(.hypervisorUnavailable, "libvirt is not reachable", fix: "start libvirtd")
        broker.replies.withLock { $0[Method.hostStats] = FakeBroker.error(unavailable) }
        let checks = byID(runner.run())
        #expect(checks["bridge:virbr0"]?.status == .unknown)
        #expect(checks["broker"]?.status == .ok)
    }
}

@Suite struct BridgeCheckTests {
    func check(_ operstate: String, flags: String) throws -> HealthCheck {
        let root = try HealthRunnerTests.sysfs(["virbr0": (operstate, flags)])
        return try #require(BridgeCheck.checks(networks: HealthRunnerTests.stats.networks, sysfsRoot: root).first)
    }

    @Test func onlyActiveNetworksBridgesAreChecked() throws {
        let root = try HealthRunnerTests.sysfs(["virbr0": ("up", "0x1003")])
        #expect(BridgeCheck.checks(networks: HealthRunnerTests.stats.networks, sysfsRoot: root).map(\.id) == ["bridge:virbr0"])
    }

    @Test func upAndIdleBridgesAreOk() throws {
        #expect(try check("up", flags: "0x1003").status == .ok)
        let idle = try check("down", flags: "0x1003")
        #expect(idle.status == .ok, "an up bridge without machines has no carrier")
        #expect(idle.value.contains("no carrier"))
    }

    @Test func administrativelyDownBridgeIsCritical() throws {
        let down = try check("down", flags: "0x1002")
        #expect(down.status == .critical)
        #expect(down.fix?.contains("ip link set virbr0 up") == true)
    }

    @Test func missingBridgeIsCritical() throws {
        let root = try HealthRunnerTests.sysfs([:])
        let check = try #require(BridgeCheck.checks(networks: HealthRunnerTests.stats.networks, sysfsRoot: root).first)
        #expect(check.status == .critical)
        #expect(check.value == "missing")
    }
}

@Suite struct ClockCheckTests {
    @Test func unsynchronizedClockIsAWarning() {
        let check = ClockCheck.check(ClockReading(unsynchronized: true, estimatedErrorMicroseconds: 0, maximumErrorMicroseconds: 16_000_000))
        #expect(check.status == .warning)
        #expect(check.fix == "enable systemd-timesyncd or chrony (timedatectl set-ntp true)")
        #expect(check.value == "not synchronized (maximum error 16000 ms)")
    }

    @Test func unreadableClockIsUnknown() {
        let check = ClockCheck.check(ClockReading(unsynchronized: true, estimatedErrorMicroseconds: 0, maximumErrorMicroseconds: 0, failure: "ntp_adjtime failed"))
        #expect(check.status == .unknown)
    }

    @Test func theKernelClockCanBeRead() {
        let reading = ClockReading.read()
        #expect(reading.failure == nil)
        #expect(reading.maximumErrorMicroseconds >= 0)
    }
}
