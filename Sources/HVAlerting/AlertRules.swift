import HVProtocol

/// The rules shipped with the monitor; docs/monitoring/alert-rules.example.yaml holds the same rules.
public enum AlertRules {
    public static let defaults: [AlertRule] = [
        AlertRule(
            name: "vm-stopped-unexpectedly", severity: .critical, summary: "VM {vm} stopped unexpectedly",
            condition: .event(EventCondition(event: .vmStoppedUnexpectedly, resolveAfterSeconds: 86_400))),
        AlertRule(
            name: "host-cpu-high", severity: .warning, summary: "Host CPU usage is {value} (above 0.9 for 5m)",
            condition: .threshold(
                ThresholdCondition(metric: "hv_host_cpu_usage_ratio", comparison: .above, threshold: 0.9, resolve: 0.8)),
            forSeconds: 300),
        AlertRule(
            name: "host-memory-high", severity: .warning, summary: "Host memory use is {value} (above 0.9 for 5m)",
            condition: .threshold(
                ThresholdCondition(metric: "hv_host_memory_used_ratio", comparison: .above, threshold: 0.9, resolve: 0.85)),
            forSeconds: 300),
        AlertRule(
            name: "pool-space-low", severity: .warning, summary: "Storage pool {pool} is {value} full (above 0.85)",
            condition: .threshold(
                ThresholdCondition(metric: "hv_pool_used_ratio", comparison: .above, threshold: 0.85, resolve: 0.8))),
        AlertRule(
            name: "filesystem-space-low", severity: .warning,
            summary: "Filesystem {mountpoint} is {value} full (above 0.9)",
            condition: .threshold(
                ThresholdCondition(
                    metric: "hv_host_filesystem_used_ratio", comparison: .above, threshold: 0.9, resolve: 0.85))),
        AlertRule(
            name: "autostart-vm-not-running", severity: .warning, summary: "Autostart VMs not running: {value}",
            condition: .health(HealthCondition(check: "autostart", statuses: [.warning, .critical]))),
        AlertRule(
            name: "health-check-critical", severity: .critical, summary: "Health check {title} is critical: {value}",
            condition: .health(HealthCondition(check: "*", statuses: [.critical]))),
        AlertRule(
            name: "broker-unreachable", severity: .critical, summary: "The monitor cannot reach hv-broker",
            condition: .threshold(ThresholdCondition(metric: "hv_monitor_broker_up", comparison: .below, threshold: 1)),
            forSeconds: 60),
        AlertRule(
            name: "backup-failed", severity: .critical, summary: "The newest backup of VM {vm} into {repository} failed",
            condition: .threshold(ThresholdCondition(metric: "hv_backup_last_attempt_success", comparison: .below, threshold: 1))),
        AlertRule(
            name: "backup-too-old", severity: .warning,
            summary: "VM {vm} has had no successful backup into {repository} for 26h (newest {value} s old)",
            condition: .threshold(
                ThresholdCondition(metric: "hv_backup_last_success_age_seconds", comparison: .above, threshold: 93_600))),
        AlertRule(
            name: "backup-verification-failed", severity: .critical,
            summary: "The newest verification of a backup of VM {vm} in {repository} failed",
            condition: .threshold(ThresholdCondition(metric: "hv_backup_verify_ok", comparison: .below, threshold: 1))),
        AlertRule(
            name: "backup-boot-test-failed", severity: .critical,
            summary: "The newest boot test of a backup of VM {vm} in {repository} failed",
            condition: .threshold(ThresholdCondition(metric: "hv_backup_boot_test_ok", comparison: .below, threshold: 1))),
    ]
}
