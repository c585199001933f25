import HVProtocol

/// One alert rule: when its condition holds for `forSeconds`, its alert fires; notifications go to
/// the channels routed for its severity, or to its own `channels` when set.
public struct AlertRule: Sendable, Hashable {
    /// Unique, lowercase letters, digits and `-`.
    public var name: String
    public var severity: AlertSeverity
    /// The notification text; `{label}` placeholders are replaced by the alert's label values.
    public var summary: String
    public var condition: AlertCondition
    /// How long the condition must hold before the alert fires, in seconds.
    public var forSeconds: Double
    /// After a firing notification, how long a re-fire of the same key stays quiet, in seconds.
    public var cooldownSeconds: Double
    /// Channel names that replace the severity's route; nil uses the route.
    public var channels: [String]?

    /// The default `cooldown`: 30 minutes.
    public static let defaultCooldownSeconds: Double = 1_800

    public init(
        name: String, severity: AlertSeverity, summary: String, condition: AlertCondition, forSeconds: Double = 0,
        cooldownSeconds: Double = AlertRule.defaultCooldownSeconds, channels: [String]? = nil
    ) {
        self.name = name
        self.severity = severity
        self.summary = summary
        self.condition = condition
        self.forSeconds = forSeconds
        self.cooldownSeconds = cooldownSeconds
        self.channels = channels
    }
}

/// What a rule watches.
public enum AlertCondition: Sendable, Hashable {
    case threshold(ThresholdCondition)
    case health(HealthCondition)
    case event(EventCondition)
}

/// A metric compared with a threshold, with hysteresis.
public struct ThresholdCondition: Sendable, Hashable {
    public enum Comparison: Sendable, Hashable {
        /// Fires when the value is above `threshold`; resolves when it is at or below `resolve`.
        case above
        /// Fires when the value is below `threshold`; resolves when it is at or above `resolve`.
        case below
    }

    /// An exported metric name, e.g. `hv_host_cpu_usage_ratio`.
    public var metric: String
    /// Samples must carry these labels with these values; other labels are free.
    public var labels: [String: String]
    public var comparison: Comparison
    public var threshold: Double
    /// Where a firing alert resolves; equal to `threshold` unless `resolve_below`/`resolve_above` is set.
    public var resolve: Double

    public init(
        metric: String, labels: [String: String] = [:], comparison: Comparison, threshold: Double,
        resolve: Double? = nil
    ) {
        self.metric = metric
        self.labels = labels
        self.comparison = comparison
        self.threshold = threshold
        self.resolve = resolve ?? threshold
    }

    func fires(_ value: Double) -> Bool {
        switch comparison {
        case .above: value > threshold
        case .below: value < threshold
        }
    }

    func resolves(_ value: Double) -> Bool {
        switch comparison {
        case .above: value <= resolve
        case .below: value >= resolve
        }
    }
}

/// Health checks in a given status. One alert per matching check, labelled `check`.
public struct HealthCondition: Sendable, Hashable {
    /// A check id (`autostart`), a prefix ending in `:` or `*` (`pool:` , `pool:*`), or `*` for all.
    public var check: String
    /// The statuses that fire; any other status resolves.
    public var statuses: Set<HealthStatus>

    public init(check: String, statuses: Set<HealthStatus>) {
        self.check = check
        self.statuses = statuses
    }

    func matches(_ id: String) -> Bool {
        if check == "*" { return true }
        if check.hasSuffix("*") { return id.hasPrefix(check.dropLast()) }
        if check.hasSuffix(":") { return id.hasPrefix(check) }
        return id == check
    }
}

/// A VM event derived from two consecutive domain snapshots. One alert per VM, labelled `vm`.
public struct EventCondition: Sendable, Hashable {
    public var event: VMEvent
    /// Resolve this long after firing even if the VM is not running again; nil waits for the VM.
    public var resolveAfterSeconds: Double?

    public init(event: VMEvent, resolveAfterSeconds: Double? = nil) {
        self.event = event
        self.resolveAfterSeconds = resolveAfterSeconds
    }
}
