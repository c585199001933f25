import HVProtocol

extension Snapshot {
    /// The metric samples of this snapshot, named and labelled as in docs/monitoring/METRICS.md.
    ///
    /// Ratios derived from counters (`hv_host_cpu_usage_ratio`, `hv_vm_cpu_usage_ratio`) need the
    /// previous snapshot; they are left out without one, and when a counter went backwards (a
    /// restarted VM). Without a broker reply there are no pool, network or VM samples.
    public func samples(previous: Snapshot?) -> [MetricSample] {
        var samples = hostSamples(previous: previous)
        if let stats {
            samples += poolSamples(stats.pools)
            samples += networkSamples(stats.networks)
            let interval = interval(since: previous)
            let before = previousDomains(previous)
            for domain in stats.domains {
                samples += vmSamples(domain, previous: before.of(domain), interval: interval)
            }
        }
        samples += healthSamples()
        samples += backupSamples(backups?.machines ?? [])
        return samples
    }

    func hostSamples(previous: Snapshot?) -> [MetricSample] {
        var samples = [MetricSample(name: "hv_host_cpus", value: Double(host.cpus))]
        for (mode, seconds) in host.cpu.modes {
            samples.append(MetricSample(name: "hv_host_cpu_seconds_total", labels: ["mode": mode], value: seconds))
        }
        if let previous, let usage = Delta.cpuUsage(host.cpu, previous.host.cpu) {
            samples.append(MetricSample(name: "hv_host_cpu_usage_ratio", value: usage))
        }
        samples.append(MetricSample(name: "hv_host_memory_total_bytes", value: host.memoryTotalBytes))
        samples.append(MetricSample(name: "hv_host_memory_available_bytes", value: host.memoryAvailableBytes))
        if let ratio = host.memoryUsedRatio {
            samples.append(MetricSample(name: "hv_host_memory_used_ratio", value: ratio))
        }
        samples.append(MetricSample(name: "hv_host_load1", value: host.load1))
        samples.append(MetricSample(name: "hv_host_load5", value: host.load5))
        samples.append(MetricSample(name: "hv_host_load15", value: host.load15))
        for filesystem in host.filesystems {
            let labels = [
                "mountpoint": filesystem.mountpoint, "device": filesystem.device, "fstype": filesystem.fstype,
            ]
            samples.append(
                MetricSample(name: "hv_host_filesystem_size_bytes", labels: labels, value: filesystem.sizeBytes))
            samples.append(
                MetricSample(
                    name: "hv_host_filesystem_available_bytes", labels: labels, value: filesystem.availableBytes)
            )
            if let ratio = filesystem.usedRatio {
                samples.append(MetricSample(name: "hv_host_filesystem_used_ratio", labels: labels, value: ratio))
            }
        }
        for device in host.networkDevices {
            let labels = ["device": device.device]
            samples += [
                MetricSample(name: "hv_host_network_receive_bytes_total", labels: labels, value: device.receiveBytes),
                MetricSample(name: "hv_host_network_transmit_bytes_total", labels: labels, value: device.transmitBytes),
                MetricSample(name: "hv_host_network_receive_errors_total", labels: labels, value: device.receiveErrors),
                MetricSample(
                    name: "hv_host_network_transmit_errors_total", labels: labels, value: device.transmitErrors),
            ]
        }
        return samples
    }

    func poolSamples(_ pools: [PoolStats]) -> [MetricSample] {
        pools.flatMap { pool -> [MetricSample] in
            let labels = ["pool": pool.name]
            var samples = [
                MetricSample(name: "hv_pool_active", labels: labels, value: pool.active ? 1 : 0),
                MetricSample(name: "hv_pool_capacity_bytes", labels: labels, value: Double(pool.capacityBytes)),
                MetricSample(name: "hv_pool_allocation_bytes", labels: labels, value: Double(pool.allocationBytes)),
                MetricSample(name: "hv_pool_available_bytes", labels: labels, value: Double(pool.availableBytes)),
            ]
            if pool.capacityBytes > 0 {
                let ratio = Double(pool.allocationBytes) / Double(pool.capacityBytes)
                samples.append(MetricSample(name: "hv_pool_used_ratio", labels: labels, value: ratio))
            }
            return samples
        }
    }

    func networkSamples(_ networks: [NetworkStatus]) -> [MetricSample] {
        networks.flatMap { network in
            [
                MetricSample(
                    name: "hv_network_active", labels: ["network": network.name], value: network.active ? 1 : 0),
                MetricSample(
                    name: "hv_network_autostart", labels: ["network": network.name], value: network.autostart ? 1 : 0
                ),
            ]
        }
    }

    func vmSamples(_ domain: DomainStats, previous: DomainStats?, interval: Double?) -> [MetricSample] {
        let vm = ["vm": domain.name]
        var samples = [
            MetricSample(name: "hv_vm_state", labels: ["vm": domain.name, "state": domain.state], value: 1),
            MetricSample(name: "hv_vm_up", labels: vm, value: domain.state == "running" ? 1 : 0),
            MetricSample(name: "hv_vm_autostart", labels: vm, value: domain.autostart ? 1 : 0),
            MetricSample(name: "hv_vm_vcpus", labels: vm, value: Double(domain.vcpus)),
            MetricSample(name: "hv_vm_memory_max_bytes", labels: vm, value: Double(domain.memoryMaxKiB) * 1024),
        ]
        func add(_ name: String, _ labels: [String: String], _ value: Int64?, scale: Double = 1) {
            if let value { samples.append(MetricSample(name: name, labels: labels, value: Double(value) * scale)) }
        }
        add("hv_vm_cpu_seconds_total", vm, domain.cpuTimeNs, scale: 1e-9)
        if let usage = Delta.vmCPUUsage(domain, previous, interval: interval) {
            samples.append(MetricSample(name: "hv_vm_cpu_usage_ratio", labels: vm, value: usage))
        }
        add("hv_vm_memory_current_bytes", vm, domain.memoryCurrentKiB, scale: 1024)
        add("hv_vm_memory_rss_bytes", vm, domain.memoryRssKiB, scale: 1024)
        add("hv_vm_memory_usable_bytes", vm, domain.memoryUsableKiB, scale: 1024)
        for disk in domain.disks {
            let labels = ["vm": domain.name, "disk": disk.target]
            add("hv_vm_disk_capacity_bytes", labels, disk.capacityBytes)
            add("hv_vm_disk_allocation_bytes", labels, disk.allocationBytes)
            add("hv_vm_disk_read_bytes_total", labels, disk.readBytes)
            add("hv_vm_disk_written_bytes_total", labels, disk.writtenBytes)
            add("hv_vm_disk_reads_total", labels, disk.readRequests)
            add("hv_vm_disk_writes_total", labels, disk.writeRequests)
        }
        for interface in domain.interfaces {
            let labels = ["vm": domain.name, "interface": interface.name]
            add("hv_vm_network_receive_bytes_total", labels, interface.receivedBytes)
            add("hv_vm_network_transmit_bytes_total", labels, interface.transmittedBytes)
            add("hv_vm_network_receive_errors_total", labels, interface.receiveErrors)
            add("hv_vm_network_transmit_errors_total", labels, interface.transmitErrors)
        }
        return samples
    }

    /// One sample per check id; when two checks share an id, the worse status is exported.
    func healthSamples() -> [MetricSample] {
        var worst: [String: HealthStatus] = [:]
        var order: [String] = []
        for check in health {
            if let existing = worst[check.id] {
                worst[check.id] = max(existing, check.status)
            } else {
                worst[check.id] = check.status
                order.append(check.id)
            }
        }
        return order.compactMap { id in
            worst[id].map {
                MetricSample(name: "hv_health_check_status", labels: ["check": id], value: Double($0.severity))
            }
        }
    }
}
