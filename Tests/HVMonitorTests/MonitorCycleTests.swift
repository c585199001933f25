import Foundation
import HVAlerting
import HVHistory
import HVMetrics
import HVMonitor
import HVProtocol
import Logging
import NIOPosix
import HVTestSupport
import HVYAML
import Synchronization
import Testing

/// Sources whose answers the test sets: a broker that may be down, a VM whose CPU time grows.
final class ScriptedSources: MonitorSources {
    let brokerUp = Mutex(true)
    let cpuTimeNs = Mutex<Int64>(1_000_000_000)
    let healthRuns = Mutex(0)
    let statsCalls = Mutex(0)

    func host() throws(MetricsError) -> HostSample {
        HostSample(
            cpus: 2, cpu: CPUTimes(user: 10, nice: 0, system: 5, idle: 100, iowait: 0, irq: 0, softirq: 0, steal: 0),
            memoryTotalBytes: 8 * 1_073_741_824, memoryAvailableBytes: 6 * 1_073_741_824, load1: 0.5, load5: 0.4, load15: 0.3,
            networkDevices: [], filesystems: []
        )
    }

    func backups() throws(HVError) -> BackupStatusReply {
        guard brokerUp.withLock({ $0 }) else { throw HVError(.brokerUnavailable, "cannot connect to the broker") }
        return BackupStatusReply(repositories: [], machines: [])
    }

    func stats() throws(HVError) -> HostStatsReply {
        statsCalls.withLock { $0 += 1 }
        guard brokerUp.withLock({ $0 }) else {
            throw HVError(.brokerUnavailable, "cannot connect to the broker")
        }
        let cpu = cpuTimeNs.withLock { $0 }
        let domain = DomainStats(
            name: "web1", uuid: "u-1", state: "running", stateReason: "booted", autostart: true, vcpus: 2, cpuTimeNs: cpu,
            memoryMaxKiB: 1_048_576, memoryCurrentKiB: 1_048_576, memoryRssKiB: 300_000, memoryUsableKiB: nil,
            disks: [], interfaces: []
        )
        let pool = PoolStats(name: "images", active: true, capacityBytes: 100, allocationBytes: 40, availableBytes: 60)
        let network = NetworkStatus(name: "default", active: true, autostart: true, bridge: "virbr0")
        return HostStatsReply(domains: [domain], pools: [pool], networks: [network])
    }

    func health(networks: [NetworkStatus]?) -> [HealthCheck] {
        healthRuns.withLock { $0 += 1 }
        return [HealthCheck(id: "libvirtd", title: "libvirtd", status: .ok, value: "ok", explanation: "", fix: nil)]
    }
}

@Suite struct MonitorCycleTests {
    static func value(_ samples: [MetricSample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    func makeMonitor(
        _ sources: ScriptedSources, directory: String, healthInterval: Double = 60
    ) throws -> (Monitor, MetricsPage, HistoryStore, NIOThreadPool) {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let history = try HistoryStore(path: directory + "/history.sqlite")
        let page = MetricsPage()
        let monitor = Monitor(
            sources: sources, history: history, page: page, threadPool: pool, healthInterval: healthInterval,
            logger: Logger(label: "test")
        )
        return (monitor, page, history, pool)
    }

    @Test func cyclesExportRatesStoreHistoryAndNoticeTheBrokerGoingAway() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hv-monitor-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sources = ScriptedSources()
        let (monitor, page, history, pool) = try makeMonitor(sources, directory: directory)
        
        defer { Task { try? await pool.shutdownGracefully() } }
        let first = await monitor.collect(now: 1_000)
        #expect(Self.value(first.samples, "hv_monitor_broker_up") == 1)
        #expect(Self.value(first.samples, "hv_vm_up", ["vm": "web1"]) == 1)
        #expect(Self.value(first.samples, "hv_vm_cpu_usage_ratio", ["vm": "web1"]) == nil, "no rate without a previous cycle")

        // 15 s later the guest used 15 s of CPU on 2 vCPUs: half its capacity.
        sources.cpuTimeNs.withLock { $0 += 15_000_000_000 }
        let second = await monitor.collect(now: 1_015)
        let ratio = try #require(Self.value(second.samples, "hv_vm_cpu_usage_ratio", ["vm": "web1"]))
        #expect(abs(ratio - 0.5) < 1e-9)
        #expect(String(decoding: page.current, as: UTF8.self).contains("hv_vm_cpu_seconds_total{vm=\"web1\"} 16"))
        let stored = try history.query(target: "web1", metrics: ["cpu_usage_ratio"], since: 900, now: 1_100)
        #expect(stored.first?.points.map(\.value) == [0.5])
        #expect(second.alertInput.domains?.map(\.name) == ["web1"])
        // What exists, so alerts about a machine, pool or network that is gone can resolve.
        #expect(second.alertInput.pools?.map(\.name) == ["images"])
        #expect(second.alertInput.networks?.map(\.name) == ["default"])
        #expect(sources.healthRuns.withLock { $0 } == 0, "a cycle never runs the health checks")
        #expect(Self.value(second.samples, "hv_health_check_status", ["check": "libvirtd"]) == nil)
        #expect(await monitor.checkHealth().map(\.id) == ["libvirtd"])
        let checked = await monitor.collect(now: 1_016)
        #expect(Self.value(checked.samples, "hv_health_check_status", ["check": "libvirtd"]) == 0, "the latest checks are exported")

        sources.brokerUp.withLock { $0 = false }
        let third = await monitor.collect(now: 1_030)
        #expect(Self.value(third.samples, "hv_monitor_broker_up") == 0)
        #expect(Self.value(third.samples, "hv_monitor_collection_errors_total") == 1)
        #expect(Self.value(third.samples, "hv_vm_up", ["vm": "web1"]) == nil, "no stale VM series while the broker is away")
        #expect(third.problems.contains { $0.hasPrefix("broker:") })
        #expect(third.alertInput.domains == nil && third.alertInput.pools == nil && third.alertInput.networks == nil)
        #expect(Self.value(third.samples, "hv_host_memory_total_bytes") == Double(8 * 1_073_741_824), "host metrics still flow")

        _ = await monitor.collect(now: 1_075)
        #expect(sources.healthRuns.withLock { $0 } == 1)
    }

    /// The service runs the checks on their own schedule: many health runs while one cycle waits
    /// for its next turn an hour away, and a cycle that never waits for them.
    @Test func healthChecksRunOnTheirOwnSchedule() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hv-monitor-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sources = ScriptedSources()
        let (monitor, _, _, pool) = try makeMonitor(sources, directory: directory, healthInterval: 0.02)
        defer { Task { try? await pool.shutdownGracefully() } }
        let service = MonitorService(monitor: monitor, alerts: nil, interval: .seconds(3_600), logger: Logger(label: "test"))
        let running = Task { try await service.run() }
        // Generous for a busy machine: the loop ends as soon as the third run is seen.
        let deadline = ContinuousClock.now + .seconds(60)
        while sources.healthRuns.withLock({ $0 }) < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        running.cancel()
        try await running.value
        #expect(sources.healthRuns.withLock { $0 } >= 3)
        #expect(sources.statsCalls.withLock { $0 } == 1, "one cycle, then an hour's wait")
    }

    @Test func firingAlertsAreCountedPerRuleAndSeverity() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hv-monitor-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (monitor, _, _, pool) = try makeMonitor(ScriptedSources(), directory: directory)
                defer { Task { try? await pool.shutdownGracefully() } }
        monitor.updateFiring([("vm-stopped-unexpectedly", .critical, 2), ("host-cpu-high", .warning, 0)])
        let result = await monitor.collect(now: 2_000)
        #expect(
            Self.value(result.samples, "hv_alerts_firing", ["rule": "vm-stopped-unexpectedly", "severity": "critical"]) == 2
        )
        #expect(Self.value(result.samples, "hv_alerts_firing", ["rule": "host-cpu-high", "severity": "warning"]) == 0)
    }
}

@Suite struct MonitorConfigurationTests {
    @Test func aFullFileParses() throws {
        let settings = try MonitorConfiguration.parse(yaml: """
            broker_socket: /run/test/broker.sock
            listen: "[::1]:9999"
            interval: 30s
            health_interval: 2m
            history: {raw: 24h, max_bytes: 104857600}
            alerting:
              channels:
                - {name: ops, type: webhook, url: "http://127.0.0.1:1/hook"}
              routes: {critical: [ops]}
            """)
        #expect(settings.brokerSocket == "/run/test/broker.sock")
        #expect(settings.metrics.host == "::1" && settings.metrics.port == 9999)
        #expect(settings.intervalSeconds == 30 && settings.history.collectionIntervalSeconds == 30)
        #expect(settings.healthIntervalSeconds == 120)
        #expect(settings.history.rawRetentionSeconds == 86_400 && settings.history.maximumBytes == 104_857_600)
        #expect(settings.alerting?.routes[.critical] == ["ops"])
    }

    @Test(arguments: [
        ("listen: 9478", "listen"),
        ("interval: 5x", "interval"),
        ("interval: 2h", "interval"),
        ("state_directory: var/lib", "state_directory"),
        ("history: {raw: 10m}", "history.raw"),
        ("histroy: {}", "histroy"),
        ("alerting: {routes: {critical: [nobody]}}", "alerting.routes.critical"),
        ("web: {bearer_token_file: metrics.token}", "web.bearer_token_file"),
        ("web: {tls_cert_file: /etc/hypervisor/metrics.crt}", "web.tls_key_file"),
        ("web: {tls_key_file: /etc/hypervisor/metrics.key}", "web.tls_cert_file"),
        ("web: {allow_unauthenticated: true, bearer_token_file: /etc/t}", "web.allow_unauthenticated"),
        ("web: {allow_unauthenticated: true, basic_auth_user: prometheus}", "web.allow_unauthenticated"),
        ("web: {allow_unauthenticated: yes please}", "web.allow_unauthenticated"),
        // The exporter toolkit's bcrypt map is not supported; say so rather than ignore it.
        ("web: {basic_auth_users: {prometheus: $2y$10$x}}", "web.basic_auth_users"),
        ("web: /etc/hypervisor/metrics.token", "web"),
    ])
    func mistakesNameTheirField(yaml: String, field: String) {
        do {
            _ = try MonitorConfiguration.parse(yaml: yaml)
            Issue.record("'\(yaml)' was accepted")
        } catch {
            #expect("\(error)".contains(field), "\(error)")
        }
    }

    @Test(arguments: YAMLRuleBreak.all)
    func theYAMLRulesAreKept(_ rule: YAMLRuleBreak) throws {
        let valid = "listen: 127.0.0.1:9478\nalerting:\n  routes: {}\n"
        #expect(throws: Never.self) { try MonitorConfiguration.parse(yaml: valid) }
        let error = try #require(throws: YAMLError.self) { try MonitorConfiguration.parse(yaml: rule.text(breaking: valid)) }
        #expect(error.message.hasPrefix("monitor.yaml: "))
        #expect(rule.unsaid(in: error.message, valid: valid) == [], "\(error)")
        #expect(!error.fix.isEmpty)
    }

    @Test func aMissingFileMeansDefaultsWithTheDefaultRules() throws {
        let settings = try MonitorConfiguration.load(path: "/nonexistent/monitor.yaml", missingIsDefault: true)
        #expect(settings.metrics.port == 9478 && settings.metrics.host == "127.0.0.1")
        #expect(settings.alerting?.rules.isEmpty == false)
        #expect(throws: (any Error).self) { try MonitorConfiguration.load(path: "/nonexistent/x.yaml", missingIsDefault: false) }
    }
}
