/// One value of one exported metric, named as on `/metrics` (e.g. `hv_vm_cpu_seconds_total`).
/// Alert rules match these names and labels, so an alert and a Grafana panel mean the same thing.
public struct MetricSample: Codable, Sendable, Hashable {
    public var name: String
    public var labels: [String: String]
    public var value: Double

    public init(name: String, labels: [String: String] = [:], value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }
}

/// One point of a stored history series. Raw points have `min == max == value`; downsampled ones
/// carry the bucket's average, minimum and maximum.
public struct MetricPoint: Codable, Sendable, Hashable {
    /// Seconds since 1970, UTC: the sample's time, or the start of its bucket.
    public var time: Double
    public var value: Double
    public var min: Double
    public var max: Double

    public init(time: Double, value: Double, min: Double, max: Double) {
        self.time = time
        self.value = value
        self.min = min
        self.max = max
    }
}

/// A stored series: one metric of one target (`host` or a VM's name).
public struct MetricSeries: Codable, Sendable, Hashable {
    public var target: String
    /// e.g. `cpu_usage_ratio`, `memory_used_bytes`; see docs/monitoring/METRICS.md.
    public var metric: String
    /// The width of each point in seconds: the collection interval for raw points, 300 or 3600 when
    /// downsampled.
    public var resolutionSeconds: Int
    public var points: [MetricPoint]

    public init(target: String, metric: String, resolutionSeconds: Int, points: [MetricPoint]) {
        self.target = target
        self.metric = metric
        self.resolutionSeconds = resolutionSeconds
        self.points = points
    }
}

/// `org.hypernixos.Monitor.History`'s parameters.
public struct HistoryParameters: Codable, Sendable, Hashable {
    /// `host` or a VM's name.
    public var target: String
    /// Which metrics; all of the target's when nil.
    public var metrics: [String]?
    /// How far back, in seconds.
    public var sinceSeconds: Int

    public init(target: String, metrics: [String]? = nil, sinceSeconds: Int) {
        self.target = target
        self.metrics = metrics
        self.sinceSeconds = sinceSeconds
    }
}

public struct HistoryReply: Codable, Sendable, Hashable {
    public var series: [MetricSeries]
    public init(series: [MetricSeries]) { self.series = series }
}

public enum AlertSeverity: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case info
    case warning
    case critical

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .critical: 2
        }
    }

    public static func < (lhs: AlertSeverity, rhs: AlertSeverity) -> Bool { lhs.rank < rhs.rank }
}

/// One attempt to deliver one notification through one channel.
public struct AlertDelivery: Codable, Sendable, Hashable {
    public var channel: String
    public var delivered: Bool
    public var attempts: Int
    /// Why the last attempt failed.
    public var error: String?

    public init(channel: String, delivered: Bool, attempts: Int, error: String?) {
        self.channel = channel
        self.delivered = delivered
        self.attempts = attempts
        self.error = error
    }
}

/// A notification the monitor sent, or decided not to send, for one alert key.
public struct AlertNotification: Codable, Sendable, Hashable {
    public var id: Int64
    /// Seconds since 1970, UTC.
    public var time: Double
    /// The rule's name plus its labels, e.g. `vm-stopped-unexpectedly{vm="web1"}`.
    public var key: String
    public var rule: String
    public var severity: AlertSeverity
    /// `firing`, `resolved` or `test`.
    public var kind: String
    public var summary: String
    public var labels: [String: String]
    public var deliveries: [AlertDelivery]
    /// Why a `resolved` notification resolved, when the condition alone does not say: e.g.
    /// `vm web1 no longer exists`.
    public var reason: String?

    public init(
        id: Int64, time: Double, key: String, rule: String, severity: AlertSeverity, kind: String, summary: String,
        labels: [String: String], deliveries: [AlertDelivery], reason: String? = nil
    ) {
        self.id = id
        self.time = time
        self.key = key
        self.rule = rule
        self.severity = severity
        self.kind = kind
        self.summary = summary
        self.labels = labels
        self.deliveries = deliveries
        self.reason = reason
    }
}

/// An alert that is firing now.
public struct ActiveAlert: Codable, Sendable, Hashable {
    public var key: String
    public var rule: String
    public var severity: AlertSeverity
    public var summary: String
    public var labels: [String: String]
    /// When the condition first held, seconds since 1970.
    public var since: Double
    /// Silenced until this time, if a silence matches.
    public var silencedUntil: Double?

    public init(
        key: String, rule: String, severity: AlertSeverity, summary: String, labels: [String: String], since: Double,
        silencedUntil: Double?
    ) {
        self.key = key
        self.rule = rule
        self.severity = severity
        self.summary = summary
        self.labels = labels
        self.since = since
        self.silencedUntil = silencedUntil
    }
}

/// A silence: notifications for matching alert keys are held back until it ends.
public struct AlertSilence: Codable, Sendable, Hashable {
    public var id: Int64
    /// A rule name, optionally with labels: `vm-stopped-unexpectedly` or `vm-stopped-unexpectedly{vm="web1"}`.
    public var matcher: String
    public var until: Double
    /// The user who set it.
    public var createdBy: String
    public var comment: String

    public init(id: Int64, matcher: String, until: Double, createdBy: String, comment: String) {
        self.id = id
        self.matcher = matcher
        self.until = until
        self.createdBy = createdBy
        self.comment = comment
    }
}
