/// How a health check came out. Ordered: a report's overall status is its worst check.
public enum HealthStatus: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case ok
    case warning
    case critical
    /// The check could not be run (e.g. the broker was unreachable, so libvirt can't be asked).
    case unknown

    /// The value exported as `hv_health_check_status`: 0 ok, 1 warning, 2 critical, 3 unknown.
    public var severity: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .critical: 2
        case .unknown: 3
        }
    }

    public static func < (lhs: HealthStatus, rhs: HealthStatus) -> Bool { lhs.severity < rhs.severity }
}

/// One health check's outcome: what was measured, what it means and how to fix it.
public struct HealthCheck: Codable, Sendable, Hashable {
    /// A stable identifier, e.g. `libvirtd`, `kvm`, `pool:default`, `autostart`, `audit`.
    public var id: String
    /// A short human title, e.g. "libvirtd reachable".
    public var title: String
    public var status: HealthStatus
    /// What was measured, e.g. "answered in 0.4 ms (libvirt 9.0.0)" or "12% free (3.1 GiB of 25 GiB)".
    public var value: String
    /// One sentence on what the result means.
    public var explanation: String
    /// What to do about it; nil when the check passed.
    public var fix: String?

    public init(id: String, title: String, status: HealthStatus, value: String, explanation: String, fix: String?) {
        self.id = id
        self.title = title
        self.status = status
        self.value = value
        self.explanation = explanation
        self.fix = fix
    }
}

/// `org.hypernixos.Host.Health`'s reply: the checks only the broker can run.
public struct HealthReply: Codable, Sendable, Hashable {
    public var checks: [HealthCheck]
    public init(checks: [HealthCheck]) { self.checks = checks }
}
