/// The monitor's Varlink interface, served by `hv-monitor` on its own socket.
///
/// The monitor holds no privilege: it reads the host through the broker. Its own actions are
/// checked with polkit like the broker's; the actions name the monitor's user as their owner so an
/// unprivileged process may ask polkit about its callers.
public enum MonitorMethod {
    public static let history = "org.hypernixos.Monitor.History"
    public static let listAlerts = "org.hypernixos.Monitor.ListAlerts"
    public static let testAlert = "org.hypernixos.Monitor.TestAlert"
    public static let silence = "org.hypernixos.Monitor.Silence"
    public static let removeSilence = "org.hypernixos.Monitor.RemoveSilence"

    public static let interface = "org.hypernixos.Monitor"
    public static let defaultSocketPath = "/run/hv-monitor/monitor.sock"
}

/// Every operation the monitor performs for a caller, each mapped to one polkit action.
public enum MonitorOperation: String, CaseIterable, Sendable {
    case history
    case listAlerts
    case testAlert
    case silence

    public var action: String {
        switch self {
        case .history: "org.hypernixos.monitor.history"
        case .listAlerts: "org.hypernixos.alerts.list"
        case .testAlert: "org.hypernixos.alerts.test"
        case .silence: "org.hypernixos.alerts.silence"
        }
    }

    /// The least-privileged group the shipped rules grant the action to.
    public var grantingGroup: String {
        switch self {
        case .history, .listAlerts: "hypervisor-viewers"
        case .testAlert, .silence: "hypervisor-operators"
        }
    }
}

public struct ListAlertsParameters: Codable, Sendable, Hashable {
    /// How many past notifications to return, newest first; the monitor caps it.
    public var limit: Int?
    public init(limit: Int? = nil) { self.limit = limit }
}

public struct ListAlertsReply: Codable, Sendable, Hashable {
    public var active: [ActiveAlert]
    public var recent: [AlertNotification]
    public var silences: [AlertSilence]
    public init(active: [ActiveAlert], recent: [AlertNotification], silences: [AlertSilence]) {
        self.active = active
        self.recent = recent
        self.silences = silences
    }
}

public struct TestAlertParameters: Codable, Sendable, Hashable {
    /// Send through this channel only.
    public var channel: String?
    /// Send through the channels routed for this severity; `critical` (the channels that matter
    /// most) when neither is given.
    public var severity: AlertSeverity?
    public init(channel: String? = nil, severity: AlertSeverity? = nil) {
        self.channel = channel
        self.severity = severity
    }
}

public struct TestAlertReply: Codable, Sendable, Hashable {
    public var notification: AlertNotification
    public init(notification: AlertNotification) { self.notification = notification }
}

public struct SilenceParameters: Codable, Sendable, Hashable {
    /// A rule name, or a rule with labels: `vm-stopped-unexpectedly{vm="web1"}`.
    public var matcher: String
    public var durationSeconds: Int
    public var comment: String
    public init(matcher: String, durationSeconds: Int, comment: String) {
        self.matcher = matcher
        self.durationSeconds = durationSeconds
        self.comment = comment
    }
}

public struct SilenceReply: Codable, Sendable, Hashable {
    public var silence: AlertSilence
    public init(silence: AlertSilence) { self.silence = silence }
}

public struct RemoveSilenceParameters: Codable, Sendable, Hashable {
    public var id: Int64
    public init(id: Int64) { self.id = id }
}

extension MonitorMethod {
    /// The interface definition, for `GetInterfaceDescription`.
    public static let description = """
        # The hypervisor monitor: metric history and alerts.
        interface org.hypernixos.Monitor

        type Point (time: float, value: float, min: float, max: float)

        type Series (target: string, metric: string, resolutionSeconds: int, points: []Point)

        type Delivery (channel: string, delivered: bool, attempts: int, error: ?string)

        # kind is firing, resolved or test; reason says why a resolved one resolved, when the
        # condition alone does not ("vm web1 no longer exists").
        type Notification (
          id: int,
          time: float,
          key: string,
          rule: string,
          severity: string,
          kind: string,
          summary: string,
          labels: [string]string,
          deliveries: []Delivery,
          reason: ?string
        )

        type Active (
          key: string,
          rule: string,
          severity: string,
          summary: string,
          labels: [string]string,
          since: float,
          silencedUntil: ?float
        )

        type Silence (id: int, matcher: string, until: float, createdBy: string, comment: string)

        # Stored history of a target ("host" or a VM's name). polkit action: org.hypernixos.monitor.history
        method History(target: string, metrics: ?[]string, sinceSeconds: int) -> (series: []Series)

        # Firing alerts, recent notifications and silences. polkit action: org.hypernixos.alerts.list
        method ListAlerts(limit: ?int) -> (active: []Active, recent: []Notification, silences: []Silence)

        # Sends a test notification through one channel, or the channels routed for a severity
        # (critical when neither is given). polkit action: org.hypernixos.alerts.test
        method TestAlert(channel: ?string, severity: ?string) -> (notification: Notification)

        # Holds back notifications for matching alerts. polkit action: org.hypernixos.alerts.silence
        method Silence(matcher: string, durationSeconds: int, comment: string) -> (silence: Silence)

        # Ends a silence early. polkit action: org.hypernixos.alerts.silence
        method RemoveSilence(id: int) -> ()

        # polkit did not authorize the caller for the action this method maps to.
        error PermissionDenied (action: string, reason: string, fix: string)

        # polkit could not be asked; the monitor refuses rather than guess.
        error AuthorizationUnavailable (reason: string, fix: string)

        error NotFound (name: string, reason: string, fix: string)

        # The operation was authorized and valid but did not succeed.
        error Failed (reason: string, fix: ?string)
        """
}
