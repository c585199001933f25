/// Whether a metric only ever grows (a counter, named `…_total`) or goes up and down (a gauge).
public enum MetricKind: String, Sendable, Hashable {
    case counter
    case gauge
}

/// An exported metric's name, kind and `# HELP` text.
public struct MetricDescription: Sendable, Hashable {
    public var name: String
    public var kind: MetricKind
    public var help: String

    public init(_ name: String, _ kind: MetricKind, _ help: String) {
        self.name = name
        self.kind = kind
        self.help = help
    }
}

/// Every metric Hyper-NixOS exports, the single list the exporter, alert rules and tests use;
/// docs/monitoring/METRICS.md describes the same list.
public enum MetricCatalog {
    public static let all: [MetricDescription] = [
        .init("hv_host_cpus", .gauge, "Online CPUs of the host."),
        .init(
            "hv_host_cpu_seconds_total", .counter,
            "CPU time the host spent in each mode, summed over all CPUs, in seconds."),
        .init(
            "hv_host_cpu_usage_ratio", .gauge,
            "Share of host CPU time that was busy (not idle or iowait) over the last collection interval, 0 to 1."),
        .init("hv_host_memory_total_bytes", .gauge, "Physical memory of the host in bytes."),
        .init(
            "hv_host_memory_available_bytes", .gauge,
            "Memory available for new work without swapping (MemAvailable) in bytes."),
        .init("hv_host_memory_used_ratio", .gauge, "Share of host memory in use: 1 - available / total."),
        .init("hv_host_load1", .gauge, "Host load average over 1 minute."),
        .init("hv_host_load5", .gauge, "Host load average over 5 minutes."),
        .init("hv_host_load15", .gauge, "Host load average over 15 minutes."),
        .init("hv_host_filesystem_size_bytes", .gauge, "Size of a host filesystem in bytes."),
        .init(
            "hv_host_filesystem_available_bytes", .gauge,
            "Space of a host filesystem available to unprivileged users in bytes."),
        .init(
            "hv_host_filesystem_used_ratio", .gauge,
            "Share of a host filesystem in use, as df computes it: used / (used + available)."),
        .init("hv_host_network_receive_bytes_total", .counter, "Bytes received by a host network device."),
        .init("hv_host_network_transmit_bytes_total", .counter, "Bytes transmitted by a host network device."),
        .init("hv_host_network_receive_errors_total", .counter, "Receive errors of a host network device."),
        .init("hv_host_network_transmit_errors_total", .counter, "Transmit errors of a host network device."),
        .init("hv_pool_active", .gauge, "1 when the storage pool is active, 0 otherwise."),
        .init("hv_pool_capacity_bytes", .gauge, "Capacity of the storage pool in bytes."),
        .init("hv_pool_allocation_bytes", .gauge, "Bytes allocated in the storage pool."),
        .init("hv_pool_available_bytes", .gauge, "Bytes still available in the storage pool."),
        .init("hv_pool_used_ratio", .gauge, "Share of the storage pool allocated: allocation / capacity."),
        .init("hv_network_active", .gauge, "1 when the virtual network is active, 0 otherwise."),
        .init("hv_network_autostart", .gauge, "1 when the virtual network starts with the host, 0 otherwise."),
        .init("hv_vm_state", .gauge, "Always 1; the state label carries the VM's libvirt state."),
        .init("hv_vm_up", .gauge, "1 when the VM is running, 0 otherwise."),
        .init("hv_vm_autostart", .gauge, "1 when the VM starts with the host, 0 otherwise."),
        .init("hv_vm_vcpus", .gauge, "Virtual CPUs of the VM."),
        .init("hv_vm_cpu_seconds_total", .counter, "CPU time the VM used since it started, in seconds."),
        .init(
            "hv_vm_cpu_usage_ratio", .gauge,
            "CPU time the VM used over the last collection interval as a share of its vCPUs, 0 to 1."),
        .init("hv_vm_memory_max_bytes", .gauge, "Configured maximum memory of the VM in bytes."),
        .init("hv_vm_memory_current_bytes", .gauge, "Current balloon size of the VM in bytes."),
        .init("hv_vm_memory_rss_bytes", .gauge, "Resident memory of the VM's QEMU process in bytes."),
        .init("hv_vm_memory_usable_bytes", .gauge, "Memory the guest reports as usable in bytes."),
        .init("hv_vm_disk_capacity_bytes", .gauge, "Virtual size of a VM disk in bytes."),
        .init("hv_vm_disk_allocation_bytes", .gauge, "Bytes a VM disk image occupies on the host."),
        .init("hv_vm_disk_read_bytes_total", .counter, "Bytes read from a VM disk since the VM started."),
        .init("hv_vm_disk_written_bytes_total", .counter, "Bytes written to a VM disk since the VM started."),
        .init("hv_vm_disk_reads_total", .counter, "Read requests to a VM disk since the VM started."),
        .init("hv_vm_disk_writes_total", .counter, "Write requests to a VM disk since the VM started."),
        .init("hv_vm_network_receive_bytes_total", .counter, "Bytes received by a VM network interface."),
        .init("hv_vm_network_transmit_bytes_total", .counter, "Bytes transmitted by a VM network interface."),
        .init("hv_vm_network_receive_errors_total", .counter, "Receive errors of a VM network interface."),
        .init("hv_vm_network_transmit_errors_total", .counter, "Transmit errors of a VM network interface."),
        .init(
            "hv_backup_last_success_timestamp_seconds", .gauge,
            "Unix time the VM's newest backup in the repository began."),
        .init(
            "hv_backup_last_attempt_success", .gauge,
            "1 when the broker's newest backup attempt of the VM into the repository succeeded, 0 when it failed."),
        .init(
            "hv_backup_last_success_age_seconds", .gauge,
            "Seconds since the VM's newest backup in the repository began, at the monitor's last collection."),
        .init("hv_backup_size_bytes", .gauge, "Virtual size of the disks in the VM's newest backup in bytes."),
        .init(
            "hv_backup_changed_bytes", .gauge,
            "Bytes the VM's newest backup read: the changed chunks for an incremental backup, every non-zero one for a full."),
        .init("hv_backup_duration_seconds", .gauge, "Time the VM's newest successful backup into the repository took in seconds."),
        .init(
            "hv_backup_verify_ok", .gauge,
            "1 when the newest verification of any of the VM's backups in the repository passed, 0 when it failed."),
        .init(
            "hv_backup_boot_test_ok", .gauge,
            "1 when the newest boot test of any of the VM's backups in the repository passed, 0 when it failed."),
        .init("hv_health_check_status", .gauge, "Outcome of a health check: 0 ok, 1 warning, 2 critical, 3 unknown."),
        .init(
            "hv_monitor_broker_up", .gauge,
            "1 when the monitor's last Host.Stats call to the broker succeeded, 0 otherwise."),
        .init(
            "hv_monitor_collection_duration_seconds", .gauge,
            "Time the monitor's last collection cycle took in seconds."),
        .init("hv_monitor_collections_total", .counter, "Collection cycles the monitor ran."),
        .init("hv_monitor_collection_errors_total", .counter, "Collection cycles in which a source failed."),
        .init("hv_monitor_last_collection_timestamp_seconds", .gauge, "Unix time of the monitor's last collection."),
        .init("hv_alerts_firing", .gauge, "Alerts firing now per rule and severity."),
    ]

    /// The exported names: the only names alert rules, dashboards and the Prometheus rules may use.
    public static let names = Set(all.map(\.name))

    static let byName = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    /// The description of a metric; names outside the catalog are counters when they end in
    /// `_total` and gauges otherwise, with no help text.
    public static func description(of name: String) -> MetricDescription {
        byName[name] ?? MetricDescription(name, name.hasSuffix("_total") ? .counter : .gauge, "")
    }
}
