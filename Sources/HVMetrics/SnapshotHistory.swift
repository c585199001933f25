import HVHistory
import HVProtocol

extension Snapshot {
    /// The values this snapshot adds to the history, per docs/monitoring/METRICS.md ("History").
    ///
    /// Rates (`…_per_second`) and `cpu_usage_ratio` come from counter deltas against `previous` and
    /// are left out without one, or when a counter went backwards. The host's network rate counts
    /// every device except the bridges of libvirt networks and the VMs' own interfaces, so guest
    /// traffic is not counted twice.
    public func historyValues(previous: Snapshot?) -> [HistoryValue] {
        var values: [HistoryValue] = []
        let interval = interval(since: previous)
        func add(_ target: String, _ metric: String, _ value: Double?) {
            if let value, value.isFinite { values.append(HistoryValue(target: target, metric: metric, value: value)) }
        }
        func rate(_ increase: Double?) -> Double? {
            guard let increase, let interval else { return nil }
            return increase / interval
        }

        if let previous { add("host", "cpu_usage_ratio", Delta.cpuUsage(host.cpu, previous.host.cpu)) }
        add("host", "memory_used_bytes", host.memoryUsedBytes)
        add("host", "memory_used_ratio", host.memoryUsedRatio)
        add("host", "load1", host.load1)
        let virtual = Set(
            (stats?.networks.compactMap(\.bridge) ?? []) + (stats?.domains.flatMap { $0.interfaces.map(\.name) } ?? [])
        )
        let devices = host.networkDevices.filter { !virtual.contains($0.device) }
        let previousDevices = previous?.host.networkDevices ?? []
        add(
            "host", "network_receive_bytes_per_second",
            rate(Delta.sum(devices, previousDevices, key: \.device) { $0.receiveBytes }))
        add(
            "host", "network_transmit_bytes_per_second",
            rate(Delta.sum(devices, previousDevices, key: \.device) { $0.transmitBytes }))

        let earlier = previousDomains(previous)
        for domain in stats?.domains ?? [] {
            let vm = domain.name
            let before = earlier.of(domain)
            add(vm, "up", domain.state == "running" ? 1 : 0)
            add(vm, "cpu_usage_ratio", Delta.vmCPUUsage(domain, before, interval: interval))
            add(vm, "memory_current_bytes", domain.memoryCurrentKiB.map { Double($0) * 1024 })
            add(vm, "memory_rss_bytes", domain.memoryRssKiB.map { Double($0) * 1024 })
            guard let before else { continue }
            func diskRate(_ value: @escaping (DiskStats) -> Int64?) -> Double? {
                rate(Delta.sum(domain.disks, before.disks, key: \.target) { value($0).map(Double.init) })
            }
            func interfaceRate(_ value: @escaping (InterfaceStats) -> Int64) -> Double? {
                rate(Delta.sum(domain.interfaces, before.interfaces, key: \.name) { Double(value($0)) })
            }
            add(vm, "disk_read_bytes_per_second", diskRate(\.readBytes))
            add(vm, "disk_written_bytes_per_second", diskRate(\.writtenBytes))
            add(vm, "network_receive_bytes_per_second", interfaceRate(\.receivedBytes))
            add(vm, "network_transmit_bytes_per_second", interfaceRate(\.transmittedBytes))
        }
        return values
    }
}
