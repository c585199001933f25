/// The metric names the monitor exports (docs/monitoring/METRICS.md); rules may compare only these,
/// so a typo in a rule is an error instead of an alert that never fires.
public enum ExportedMetrics {
    public static let names: Set<String> = [
        "hv_host_cpus", "hv_host_cpu_seconds_total", "hv_host_cpu_usage_ratio",
        "hv_host_memory_total_bytes", "hv_host_memory_available_bytes", "hv_host_memory_used_ratio",
        "hv_host_load1", "hv_host_load5", "hv_host_load15",
        "hv_host_filesystem_size_bytes", "hv_host_filesystem_available_bytes", "hv_host_filesystem_used_ratio",
        "hv_host_network_receive_bytes_total", "hv_host_network_transmit_bytes_total",
        "hv_host_network_receive_errors_total", "hv_host_network_transmit_errors_total",
        "hv_pool_active", "hv_pool_capacity_bytes", "hv_pool_allocation_bytes", "hv_pool_available_bytes",
        "hv_pool_used_ratio",
        "hv_network_active", "hv_network_autostart",
        "hv_vm_state", "hv_vm_up", "hv_vm_autostart", "hv_vm_vcpus",
        "hv_vm_cpu_seconds_total", "hv_vm_cpu_usage_ratio",
        "hv_vm_memory_max_bytes", "hv_vm_memory_current_bytes", "hv_vm_memory_rss_bytes", "hv_vm_memory_usable_bytes",
        "hv_vm_disk_capacity_bytes", "hv_vm_disk_allocation_bytes", "hv_vm_disk_read_bytes_total",
        "hv_vm_disk_written_bytes_total", "hv_vm_disk_reads_total", "hv_vm_disk_writes_total",
        "hv_vm_network_receive_bytes_total", "hv_vm_network_transmit_bytes_total",
        "hv_vm_network_receive_errors_total", "hv_vm_network_transmit_errors_total",
        "hv_health_check_status",
        "hv_monitor_broker_up", "hv_monitor_collection_duration_seconds", "hv_monitor_collections_total",
        "hv_monitor_collection_errors_total", "hv_monitor_last_collection_timestamp_seconds",
        "hv_alerts_firing",
    ]
}
