import Foundation
import HVAlerting
import HVClient
import HVHistory
import HVMetrics
import HVProtocol
import HVYAML
import Yams

/// The monitor's settings, read from YAML (`/etc/hypervisor/monitor.yaml`):
///
/// ```yaml
/// broker_socket: /run/hypervisor/broker.sock
/// control_socket: /run/hv-monitor/monitor.sock
/// listen: 127.0.0.1:9478
/// web: {bearer_token_file: /etc/hypervisor/metrics.token, basic_auth_user: prometheus,
///       tls_cert_file: /etc/hypervisor/metrics.crt, tls_key_file: /etc/hypervisor/metrics.key}
/// interval: 15s
/// health_interval: 60s
/// state_directory: /var/lib/hv-monitor
/// history: {raw: 48h, five_minute: 30d, hourly: 365d, max_bytes: 536870912, max_series: 10000}
/// alerting: {rules: [...], channels: [...], routes: {...}}   # omit to turn alerting off
/// ```
///
/// The file is read by `YAMLReader`, under its rules. Unknown keys are refused, and every error
/// names its field.
public struct MonitorConfiguration: Sendable {
    public var brokerSocket = VarlinkClient.defaultSocketPath
    public var controlSocket = MonitorMethod.defaultSocketPath
    /// Where `/metrics` listens; its credentials and TLS come from `web` (``metricsServer()``).
    public var metrics = MetricsServerConfiguration()
    /// Who may read `/metrics`; a token is required unless `web.allow_unauthenticated` is true.
    public var web = MetricsWebConfiguration()
    public var intervalSeconds = 15
    public var healthIntervalSeconds: Double = 60
    public var stateDirectory = "/var/lib/hv-monitor"
    public var history = HistoryConfiguration()
    /// Nil turns alerting off.
    public var alerting: AlertConfiguration?

    public static let intervalRange = 1...3_600

    public init() {}

    /// Reads `path`; when it does not exist and `missingIsDefault` is set, the defaults apply
    /// (alerting with the default rules and no channels, so alerts are listed but not sent).
    public static func load(path: String, missingIsDefault: Bool) throws -> MonitorConfiguration {
        guard FileManager.default.fileExists(atPath: path) || !missingIsDefault else {
            var defaults = MonitorConfiguration()
            defaults.alerting = AlertConfiguration()
            return defaults
        }
        return try settings(YAMLReader.root(contentsOfFile: path))
    }

    /// Parses the settings; `file` is what messages about the YAML itself call the text.
    public static func parse(yaml text: String, file: String = "monitor.yaml") throws -> MonitorConfiguration {
        try settings(YAMLReader.root(text, name: file))
    }

    private static func settings(_ root: Node?) throws -> MonitorConfiguration {
        var settings = MonitorConfiguration()
        guard let root else { return settings }
        let fields = try YAMLFields(
            root, path: "",
            allowed: [
                "broker_socket", "control_socket", "listen", "web", "interval", "health_interval", "state_directory",
                "history", "alerting",
            ]
        )
        if let socket = try fields.string("broker_socket") { settings.brokerSocket = try absolute(socket, fields.field("broker_socket")) }
        if let socket = try fields.string("control_socket") { settings.controlSocket = try absolute(socket, fields.field("control_socket")) }
        if let directory = try fields.string("state_directory") {
            settings.stateDirectory = try absolute(directory, fields.field("state_directory"))
        }
        if let listen = try fields.string("listen") {
            guard let address = listenAddress(listen) else {
                throw AlertingError.invalid("listen", "\"\(listen)\" is not HOST:PORT; use e.g. 127.0.0.1:9478")
            }
            (settings.metrics.host, settings.metrics.port) = address
        }
        if let node = fields.node("web") { settings.web = try web(node) }
        if let interval = try fields.duration("interval", minimum: 1) {
            guard interval <= Double(intervalRange.upperBound) else {
                throw AlertingError.invalid("interval", "use at most 1h between collections")
            }
            settings.intervalSeconds = Int(interval)
        }
        settings.history.collectionIntervalSeconds = settings.intervalSeconds
        if let interval = try fields.duration("health_interval", minimum: 1) { settings.healthIntervalSeconds = interval }
        if let node = fields.node("history") {
            let history = try YAMLFields(
                node, path: "history", allowed: ["raw", "five_minute", "hourly", "max_bytes", "max_series"]
            )
            if let raw = try history.duration("raw", minimum: 3_600) { settings.history.rawRetentionSeconds = raw }
            if let five = try history.duration("five_minute", minimum: 86_400) { settings.history.fiveMinuteRetentionSeconds = five }
            if let hourly = try history.duration("hourly", minimum: 86_400) { settings.history.hourlyRetentionSeconds = hourly }
            if let bytes = try history.integer("max_bytes", in: (1 << 20)...(1 << 40)) { settings.history.maximumBytes = bytes }
            if let series = try history.integer("max_series", in: 10...10_000_000) { settings.history.maximumSeries = series }
        }
        if let node = fields.node("alerting") {
            settings.alerting = try AlertConfiguration.parse(node: node, path: "alerting")
        }
        return settings
    }

    /// The `/metrics` server's settings with the credentials and certificate `web` names, read now,
    /// so a missing or insecure file stops the start with a message naming its setting.
    public func metricsServer() throws -> MetricsServerConfiguration {
        var server = metrics
        try web.apply(to: &server)
        return server
    }

    private static func web(_ node: Node) throws -> MetricsWebConfiguration {
        let fields = try YAMLFields(
            node, path: "web",
            allowed: ["bearer_token_file", "basic_auth_user", "tls_cert_file", "tls_key_file", "allow_unauthenticated"]
        )
        var web = MetricsWebConfiguration()
        if let file = try fields.string("bearer_token_file") {
            web.bearerTokenFile = try absolute(file, fields.field("bearer_token_file"))
        }
        web.basicAuthUser = try fields.string("basic_auth_user")
        web.tlsCertificateFile = try fields.string("tls_cert_file").map {
            try absolute($0, fields.field("tls_cert_file"))
        }
        web.tlsKeyFile = try fields.string("tls_key_file").map { try absolute($0, fields.field("tls_key_file")) }
        guard (web.tlsCertificateFile == nil) == (web.tlsKeyFile == nil) else {
            let missing = web.tlsKeyFile == nil ? "tls_key_file" : "tls_cert_file"
            throw AlertingError.invalid(
                fields.field(missing), "is required with the other: HTTPS needs a certificate and its key")
        }
        web.allowUnauthenticated = try fields.bool("allow_unauthenticated") ?? false
        if web.allowUnauthenticated {
            for key in ["bearer_token_file", "basic_auth_user"] where fields.has(key) {
                throw AlertingError.invalid(
                    fields.field("allow_unauthenticated"),
                    "true turns off the credentials that web.\(key) sets; remove one")
            }
        }
        return web
    }

    /// `HOST:PORT` or `[IPv6]:PORT`.
    public static func listenAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65_535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    private static func absolute(_ path: String, _ field: String) throws -> String {
        guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
            throw AlertingError.invalid(field, "\"\(path)\" must be an absolute path without '..'")
        }
        return path
    }
}
