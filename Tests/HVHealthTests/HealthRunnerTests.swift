import Foundation
import HVHealth
import HVProtocol
import HVServerTesting
import Synchronization
import Testing

/// The client-side checks and how the broker's are merged in, against the real server answering
/// with canned replies, a fake sysfs tree and given clock readings.
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

    static let serviceInfo = VarlinkReply(parameters: [
        "vendor": .string("Hyper-NixOS"), "product": .string("hv-broker"), "version": .string("0.1.0"),
        "url": .string("https://hypernixos.org"), "interfaces": .array([.string("org.hypernixos.Host")]),
    ])

    /// A broker that answers GetInfo, Host.Health with `brokerChecks` and Host.Stats with `stats`.
    static func healthyBroker() throws -> CannedHandler {
        CannedHandler([
            Method.getInfo: Self.serviceInfo,
            Method.hostHealth: try CannedHandler.reply(HealthReply(checks: Self.brokerChecks)),
            Method.hostStats: try CannedHandler.reply(Self.stats),
        ])
    }

    /// A broker that answers GetInfo and refuses Host.Health with `error`.
    static func refusingBroker(_ error: HVError) -> CannedHandler {
        CannedHandler([Method.getInfo: Self.serviceInfo, Method.hostHealth: CannedHandler.error(error, interface: Interfaces.host)])
    }

    /// Runs the health checks once, on a thread of their own: they block on the broker's socket.
    static func run(_ runner: HealthRunner) async throws -> HealthReport {
        try await onThread { runner.run() }
    }

    func byID(_ report: HealthReport) -> [String: HealthCheck] {
        Dictionary(uniqueKeysWithValues: report.checks.map { ($0.id, $0) })
    }

    @Test func answeringBrokerIsMergedWithClientChecks() async throws {
        let root = try Self.sysfs(["virbr0": ("up", "0x1003")])
        let report = try await withVarlinkServer(try Self.healthyBroker()) { path in
            try await Self.run(HealthRunner(brokerSocket: path, sysfsRoot: root, clock: { Self.synchronized }))
        }
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

    @Test func checksSeenBeforeStayAsUnknownWhenTheBrokerGoes() async throws {
        let root = try Self.sysfs(["virbr0": ("up", "0x1003")])
        let runner = try await withVarlinkServer(try Self.healthyBroker()) { path in
            let runner = HealthRunner(brokerSocket: path, sysfsRoot: root, clock: { Self.synchronized })
            let report = try await Self.run(runner)
            #expect(report.status == .warning)
            return runner
        }
        let checks = byID(try await Self.run(runner))
        #expect(checks["broker"]?.status == .critical)
        #expect(checks["pool:images"]?.status == .unknown)
        #expect(checks["bridge:virbr0"]?.status == .unknown)
    }

    @Test func denialNamesTheGroupToJoin() async throws {
        let denied = HVError(
            .permissionDenied, "not authorized: polkit denied 'org.hypernixos.host.health'", fix: "join",
            details: ["action": "org.hypernixos.host.health"]
        )
        let broker = Self.refusingBroker(denied)
        let report = try await withVarlinkServer(broker) { path in
            try await Self.run(HealthRunner(brokerSocket: path, clock: { Self.synchronized }))
        }
        let check = try #require(byID(report)["broker"])
        #expect(check.status == .critical)
        #expect(check.value.contains("org.hypernixos.host.health"))
        #expect(check.fix?.contains("hypervisor-viewers") == true)
        #expect(report.brokerError?.code == .permissionDenied)
        #expect(byID(report)["libvirtd"]?.status == .unknown)
        #expect(!broker.calls.withLock { $0 }.contains(Method.hostStats), "no further request after a denial")
    }

    @Test func polkitDownIsThePolkitChecksFailure() async throws {
        let unavailable = HVError(.authorizationUnavailable, "polkit could not be asked", fix: "start polkitd")
        let report = try await withVarlinkServer(Self.refusingBroker(unavailable)) { path in
            try await Self.run(HealthRunner(brokerSocket: path, clock: { Self.synchronized }))
        }
        let checks = byID(report)
        #expect(checks["broker"]?.status == .ok)
        #expect(checks["polkit"]?.status == .critical)
        #expect(checks["polkit"]?.fix == "start polkitd")
    }

    @Test func libvirtdDownLeavesRememberedBridgesUnknown() async throws {
        let broker = try Self.healthyBroker()
        let root = try Self.sysfs(["virbr0": ("up", "0x1003")])
        try await withVarlinkServer(broker) { path in
            let runner = HealthRunner(brokerSocket: path, sysfsRoot: root, clock: { Self.synchronized })
            #expect(byID(try await Self.run(runner))["bridge:virbr0"]?.status == .ok)
            let unavailable = HVError(.hypervisorUnavailable, "libvirt is not reachable", fix: "start libvirtd")
            broker.replies.withLock { $0[Method.hostStats] = CannedHandler.error(unavailable, interface: Interfaces.host) }
            let checks = byID(try await Self.run(runner))
            #expect(checks["bridge:virbr0"]?.status == .unknown)
            #expect(checks["broker"]?.status == .ok)
        }
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
