import HVMetrics
import HVProtocol
import Testing

@Suite struct SnapshotSamplesTests {
    let health = [
        HealthCheck(id: "kvm", title: "KVM", status: .ok, value: "", explanation: "", fix: nil),
        HealthCheck(id: "pool:default", title: "pool", status: .warning, value: "", explanation: "", fix: "free space"),
        HealthCheck(
            id: "pool:default", title: "pool", status: .critical, value: "", explanation: "", fix: "free space"),
    ]

    @Test func hostSamplesWithoutPreviousOmitDerivedRatio() {
        let samples = Snapshot(time: 100, host: Fixtures.host(), stats: nil, health: []).samples(previous: nil)
        #expect(samples.values("hv_host_cpus") == [2])
        #expect(samples.values("hv_host_cpu_seconds_total", ["mode": "user"]) == [10])
        #expect(samples.named("hv_host_cpu_seconds_total").count == 8)
        #expect(samples.named("hv_host_cpu_usage_ratio").isEmpty)
        #expect(samples.values("hv_host_memory_total_bytes") == [Double(8 << 30)])
        #expect(samples.values("hv_host_memory_available_bytes") == [Double(2 << 30)])
        #expect(samples.values("hv_host_memory_used_ratio") == [0.75])
        #expect(samples.values("hv_host_load1") == [0.5])
        #expect(samples.values("hv_host_load5") == [0.25])
        #expect(samples.values("hv_host_load15") == [0.125])
        let filesystem = ["mountpoint": "/", "device": "/dev/vda1", "fstype": "ext4"]
        #expect(samples.values("hv_host_filesystem_size_bytes", filesystem) == [100])
        #expect(samples.values("hv_host_filesystem_available_bytes", filesystem) == [20])
        #expect(samples.values("hv_host_filesystem_used_ratio", filesystem) == [70.0 / 90.0])
        #expect(samples.values("hv_host_network_receive_bytes_total", ["device": "eth0"]) == [1000])
        #expect(samples.values("hv_host_network_transmit_bytes_total", ["device": "eth0"]) == [2000])
        #expect(samples.values("hv_host_network_receive_errors_total", ["device": "eth0"]) == [1])
        #expect(samples.values("hv_host_network_transmit_errors_total", ["device": "eth0"]) == [0])
        // No broker reply: nothing about pools, networks or VMs.
        #expect(
            !samples.contains {
                $0.name.hasPrefix("hv_vm_") || $0.name.hasPrefix("hv_pool_") || $0.name.hasPrefix("hv_network_")
            })
    }

    @Test func hostCPUUsageFromTheDelta() {
        let previous = Snapshot(time: 100, host: Fixtures.host(user: 10, idle: 80), stats: nil, health: [])
        // +30 user, +10 idle: 30 of 40 seconds busy.
        let current = Snapshot(time: 115, host: Fixtures.host(user: 40, idle: 90), stats: nil, health: [])
        #expect(current.samples(previous: previous).values("hv_host_cpu_usage_ratio") == [0.75])
        // A counter that went backwards (the host rebooted between the samples) gives no ratio.
        let rebooted = Snapshot(time: 130, host: Fixtures.host(user: 1, idle: 2), stats: nil, health: [])
        #expect(rebooted.samples(previous: current).named("hv_host_cpu_usage_ratio").isEmpty)
    }

    @Test func poolNetworkAndVMSamples() {
        let stats = Fixtures.stats([Fixtures.domain()])
        let samples = Snapshot(time: 100, host: Fixtures.host(), stats: stats, health: []).samples(previous: nil)
        let pool = ["pool": "default"]
        #expect(samples.values("hv_pool_active", pool) == [1])
        #expect(samples.values("hv_pool_capacity_bytes", pool) == [1000])
        #expect(samples.values("hv_pool_allocation_bytes", pool) == [250])
        #expect(samples.values("hv_pool_available_bytes", pool) == [750])
        #expect(samples.values("hv_pool_used_ratio", pool) == [0.25])
        #expect(samples.values("hv_network_active", ["network": "default"]) == [1])
        #expect(samples.values("hv_network_autostart", ["network": "default"]) == [0])
        let vm = ["vm": "web1"]
        #expect(samples.values("hv_vm_state", ["vm": "web1", "state": "running"]) == [1])
        #expect(samples.values("hv_vm_up", vm) == [1])
        #expect(samples.values("hv_vm_autostart", vm) == [1])
        #expect(samples.values("hv_vm_vcpus", vm) == [2])
        #expect(samples.values("hv_vm_cpu_seconds_total", vm) == [10])
        #expect(samples.named("hv_vm_cpu_usage_ratio").isEmpty)
        #expect(samples.values("hv_vm_memory_max_bytes", vm) == [Double(1 << 30)])
        #expect(samples.values("hv_vm_memory_current_bytes", vm) == [Double(1 << 30)])
        #expect(samples.values("hv_vm_memory_rss_bytes", vm) == [Double(512 << 20)])
        #expect(samples.values("hv_vm_memory_usable_bytes", vm) == [900_000 * 1024])
        let disk = ["vm": "web1", "disk": "vda"]
        #expect(samples.values("hv_vm_disk_capacity_bytes", disk) == [Double(10 << 30)])
        #expect(samples.values("hv_vm_disk_allocation_bytes", disk) == [Double(2 << 30)])
        #expect(samples.values("hv_vm_disk_read_bytes_total", disk) == [4096])
        #expect(samples.values("hv_vm_disk_written_bytes_total", disk) == [8192])
        #expect(samples.values("hv_vm_disk_reads_total", disk) == [10])
        #expect(samples.values("hv_vm_disk_writes_total", disk) == [20])
        let interface = ["vm": "web1", "interface": "vnet0"]
        #expect(samples.values("hv_vm_network_receive_bytes_total", interface) == [1000])
        #expect(samples.values("hv_vm_network_transmit_bytes_total", interface) == [700])
        #expect(samples.values("hv_vm_network_receive_errors_total", interface) == [0])
        #expect(samples.values("hv_vm_network_transmit_errors_total", interface) == [0])
    }

    @Test func vmCPUUsageFromTheDeltaAndNotAcrossARestart() {
        let before = Snapshot(
            time: 100, host: Fixtures.host(), stats: Fixtures.stats([Fixtures.domain(cpuTimeNs: 10_000_000_000)]),
            health: [])
        // 5 s of CPU over 10 s on 2 vCPUs: a quarter of the VM's capacity.
        let after = Snapshot(
            time: 110, host: Fixtures.host(), stats: Fixtures.stats([Fixtures.domain(cpuTimeNs: 15_000_000_000)]),
            health: [])
        #expect(after.samples(previous: before).values("hv_vm_cpu_usage_ratio", ["vm": "web1"]) == [0.25])
        let restarted = Snapshot(
            time: 120, host: Fixtures.host(), stats: Fixtures.stats([Fixtures.domain(cpuTimeNs: 1_000_000_000)]),
            health: [])
        #expect(restarted.samples(previous: after).named("hv_vm_cpu_usage_ratio").isEmpty)
        // Same name, new UUID: a different VM, so no ratio against the old one's counters.
        let recreated = Snapshot(
            time: 120, host: Fixtures.host(),
            stats: Fixtures.stats([
                Fixtures.domain(uuid: "99999999-2222-3333-4444-555555555555", cpuTimeNs: 20_000_000_000)
            ]),
            health: []
        )
        #expect(recreated.samples(previous: after).named("hv_vm_cpu_usage_ratio").isEmpty)
    }

    @Test func stoppedVMKeepsStateSizesAndCapacity() {
        let stats = Fixtures.stats([Fixtures.domain("db1", state: "shutoff")])
        let samples = Snapshot(time: 100, host: Fixtures.host(), stats: stats, health: []).samples(previous: nil)
        let vm = ["vm": "db1"]
        #expect(samples.values("hv_vm_state", ["vm": "db1", "state": "shutoff"]) == [1])
        #expect(samples.values("hv_vm_up", vm) == [0])
        #expect(samples.values("hv_vm_vcpus", vm) == [2])
        #expect(samples.values("hv_vm_memory_max_bytes", vm) == [Double(1 << 30)])
        #expect(samples.values("hv_vm_disk_capacity_bytes", ["vm": "db1", "disk": "vda"]) == [Double(10 << 30)])
        #expect(samples.named("hv_vm_cpu_seconds_total").isEmpty)
        #expect(samples.named("hv_vm_memory_rss_bytes").isEmpty)
        #expect(samples.named("hv_vm_disk_read_bytes_total").isEmpty)
        #expect(samples.named("hv_vm_network_receive_bytes_total").isEmpty)
    }

    @Test func healthChecksExportTheWorstStatusPerID() {
        let samples = Snapshot(time: 1, host: Fixtures.host(), stats: nil, health: health).samples(previous: nil)
        #expect(samples.values("hv_health_check_status", ["check": "kvm"]) == [0])
        #expect(samples.values("hv_health_check_status", ["check": "pool:default"]) == [2])
        #expect(samples.named("hv_health_check_status").count == 2)
    }

    @Test func everyExportedNameIsInTheCatalog() {
        let stats = Fixtures.stats([Fixtures.domain(), Fixtures.domain("db1", uuid: "x", state: "shutoff")])
        let previous = Snapshot(time: 1, host: Fixtures.host(), stats: stats, health: health)
        let samples = Snapshot(time: 2, host: Fixtures.host(user: 20), stats: stats, health: health).samples(
            previous: previous)
        let catalog = Set(MetricCatalog.all.map(\.name))
        #expect(Set(samples.map(\.name)).subtracting(catalog).isEmpty)
        // Counters, and only counters, end in _total.
        for description in MetricCatalog.all {
            #expect((description.kind == .counter) == description.name.hasSuffix("_total"), "\(description.name)")
            #expect(!description.help.isEmpty)
        }
    }
}
