import HVHistory
import HVMetrics
import HVProtocol
import Testing

@Suite struct SnapshotHistoryTests {
    func value(_ values: [HistoryValue], _ target: String, _ metric: String) -> Double? {
        let matches = values.filter { $0.target == target && $0.metric == metric }
        return matches.count == 1 ? matches[0].value : nil
    }

    @Test func firstSnapshotHasLevelsButNoRates() {
        let stats = Fixtures.stats([Fixtures.domain()])
        let values = Snapshot(time: 100, host: Fixtures.host(), stats: stats, health: []).historyValues(previous: nil)
        #expect(value(values, "host", "memory_used_bytes") == Double(6 << 30))
        #expect(value(values, "host", "memory_used_ratio") == 0.75)
        #expect(value(values, "host", "load1") == 0.5)
        #expect(value(values, "web1", "up") == 1)
        #expect(value(values, "web1", "memory_current_bytes") == Double(1 << 30))
        #expect(value(values, "web1", "memory_rss_bytes") == Double(512 << 20))
        #expect(!values.contains { $0.metric.hasSuffix("_per_second") || $0.metric == "cpu_usage_ratio" })
    }

    @Test func ratesFromCounterDeltas() {
        let before = Snapshot(
            time: 100, host: Fixtures.host(user: 10, idle: 80, receive: 1000, transmit: 2000),
            stats: Fixtures.stats([Fixtures.domain(cpuTimeNs: 10_000_000_000, readBytes: 4096, receivedBytes: 1000)]),
            health: []
        )
        let after = Snapshot(
            time: 110, host: Fixtures.host(user: 40, idle: 90, receive: 6000, transmit: 2500),
            stats: Fixtures.stats([Fixtures.domain(cpuTimeNs: 15_000_000_000, readBytes: 14336, receivedBytes: 3000)]),
            health: []
        )
        let values = after.historyValues(previous: before)
        #expect(value(values, "host", "cpu_usage_ratio") == 0.75)
        // Only eth0: virbr0 is the libvirt network's bridge and would count guest traffic twice.
        #expect(value(values, "host", "network_receive_bytes_per_second") == 500)
        #expect(value(values, "host", "network_transmit_bytes_per_second") == 50)
        #expect(value(values, "web1", "cpu_usage_ratio") == 0.25)
        #expect(value(values, "web1", "disk_read_bytes_per_second") == 1024)
        #expect(value(values, "web1", "disk_written_bytes_per_second") == 0)
        #expect(value(values, "web1", "network_receive_bytes_per_second") == 200)
        #expect(value(values, "web1", "network_transmit_bytes_per_second") == 0)
    }

    @Test func restartedVMHasNoRates() {
        let before = Snapshot(
            time: 100, host: Fixtures.host(),
            stats: Fixtures.stats([Fixtures.domain(cpuTimeNs: 50_000_000_000, readBytes: 1 << 20)]), health: [])
        let after = Snapshot(
            time: 110, host: Fixtures.host(),
            stats: Fixtures.stats([Fixtures.domain(cpuTimeNs: 1_000_000_000, readBytes: 10)]), health: [])
        let values = after.historyValues(previous: before)
        #expect(value(values, "web1", "cpu_usage_ratio") == nil)
        #expect(value(values, "web1", "disk_read_bytes_per_second") == nil)
        #expect(value(values, "web1", "up") == 1)
    }

    @Test func stoppedVMRecordsDown() {
        let stats = Fixtures.stats([Fixtures.domain(state: "shutoff")])
        let before = Snapshot(time: 100, host: Fixtures.host(), stats: stats, health: [])
        let values = Snapshot(time: 110, host: Fixtures.host(), stats: stats, health: []).historyValues(
            previous: before)
        #expect(value(values, "web1", "up") == 0)
        #expect(values.filter { $0.target == "web1" }.map(\.metric) == ["up"])
    }
}
