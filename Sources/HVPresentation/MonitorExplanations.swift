import HVProtocol

extension Explanation {
    static let metricsURL = "http://127.0.0.1:9478/metrics"

    public static func alertsList() -> Explanation {
        Explanation(
            commands: ["curl -s \(metricsURL) | grep '^hv_alerts_firing'"],
            why: "The monitor evaluates its alert rules every collection cycle; this lists what fires now, what it sent (and whether each channel accepted it), and the silences in force.",
            operation: nil, monitorOperation: .listAlerts
        )
    }

    public static func alertsTest() -> Explanation {
        Explanation(
            commands: ["(no equivalent: the monitor sends through its own configured channels)"],
            why: "Sends a notification marked as a test through the channels routed for a severity, so you learn that mail and webhooks work before a real alert needs them.",
            operation: nil, monitorOperation: .testAlert
        )
    }

    public static func alertsSilence(_ matcher: String) -> Explanation {
        Explanation(
            commands: ["amtool silence add \(matcher)    # the Alertmanager equivalent, for Prometheus' own rules"],
            why: "A silence keeps evaluating the alert but holds back its notifications until it ends, e.g. during planned maintenance.",
            operation: nil, monitorOperation: .silence
        )
    }

    public static func metricsShow(_ target: String) -> Explanation {
        let selector = target == "host" ? "hv_host_cpu_usage_ratio" : "hv_vm_cpu_usage_ratio{vm=\"\(target)\"}"
        return Explanation(
            commands: [
                "curl -s \(metricsURL) | grep '\(target == "host" ? "^hv_host_" : "vm=\"\(target)\"")'    # the current values",
                "promql: \(selector)[24h]    # the same history, from a Prometheus that scrapes the monitor",
            ],
            why: "The monitor keeps its own history in SQLite (raw for 48 h, 5-minute averages for 30 days, hourly for a year), so you get charts without running Prometheus.",
            operation: nil, monitorOperation: .history
        )
    }
}
