import HVProtocol

/// A decoded and validated call to the monitor's control socket.
public enum ControlRequest: Sendable, Hashable {
    case getInfo
    case getInterfaceDescription(String)
    case history(HistoryParameters)
    case listAlerts(limit: Int)
    case testAlert(channel: String?, severity: AlertSeverity)
    case silence(matcher: String, duration: Int, comment: String)
    case removeSilence(id: Int64)

    /// History reaches back at most a year, the longest retention.
    public static let sinceRange = 60...(366 * 86_400)
    public static let limitRange = 1...1_000
    /// A silence lasts from a minute to 30 days.
    public static let silenceRange = 60...(30 * 86_400)
    public static let maximumCommentLength = 500

    /// The polkit operation; nil for the public introspection methods.
    public var operation: MonitorOperation? {
        switch self {
        case .getInfo, .getInterfaceDescription: nil
        case .history: .history
        case .listAlerts: .listAlerts
        case .testAlert: .testAlert
        case .silence, .removeSilence: .silence
        }
    }

    public init(_ call: VarlinkCall) throws(HVError) {
        let parameters = call.parameters
        switch call.method {
        case Method.getInfo:
            _ = try StrictDecoding.decode(NoParameters.self, from: parameters)
            self = .getInfo
        case Method.getInterfaceDescription:
            self = .getInterfaceDescription(
                try StrictDecoding.decode(InterfaceDescriptionParameters.self, from: parameters).interface
            )
        case MonitorMethod.history:
            let decoded = try StrictDecoding.decode(HistoryParameters.self, from: parameters)
            if decoded.target != "host" {
                do {
                    try VmName.validate(decoded.target, field: "target")
                } catch {
                    throw .invalidParameter("target", error.reason, fix: "use 'host' or a VM's name")
                }
            }
            for metric in decoded.metrics ?? [] where !Self.isMetricName(metric) {
                throw .invalidParameter(
                    "metrics", "'\(metric)' is not a metric name: use lower-case letters, digits and '_'",
                    fix: "see docs/monitoring/METRICS.md for the stored series, e.g. cpu_usage_ratio"
                )
            }
            try Self.check(decoded.sinceSeconds, in: Self.sinceRange, parameter: "sinceSeconds")
            self = .history(decoded)
        case MonitorMethod.listAlerts:
            let limit = try StrictDecoding.decode(ListAlertsParameters.self, from: parameters).limit ?? 50
            try Self.check(limit, in: Self.limitRange, parameter: "limit")
            self = .listAlerts(limit: limit)
        case MonitorMethod.testAlert:
            let decoded = try StrictDecoding.decode(TestAlertParameters.self, from: parameters)
            if let channel = decoded.channel, !Self.isChannelName(channel) {
                throw .invalidParameter(
                    "channel", "'\(channel)' is not a channel name: use letters, digits, '-' and '_'",
                    fix: "run 'hv alerts list' to see the configured channels"
                )
            }
            self = .testAlert(channel: decoded.channel, severity: decoded.severity ?? .critical)
        case MonitorMethod.silence:
            let decoded = try StrictDecoding.decode(SilenceParameters.self, from: parameters)
            if let problem = AlertMatcherSyntax.problem(with: decoded.matcher) {
                throw .invalidParameter(
                    "matcher", problem, fix: "use a rule name, or a rule with labels: vm-stopped-unexpectedly{vm=\"web1\"}"
                )
            }
            try Self.check(decoded.durationSeconds, in: Self.silenceRange, parameter: "durationSeconds")
            guard decoded.comment.count <= Self.maximumCommentLength,
                !decoded.comment.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else {
                throw .invalidParameter(
                    "comment", "the comment must be one line of at most \(Self.maximumCommentLength) characters"
                )
            }
            self = .silence(matcher: decoded.matcher, duration: decoded.durationSeconds, comment: decoded.comment)
        case MonitorMethod.removeSilence:
            let id = try StrictDecoding.decode(RemoveSilenceParameters.self, from: parameters).id
            guard id > 0 else { throw .invalidParameter("id", "silence ids are positive, got \(id)") }
            self = .removeSilence(id: id)
        default:
            if ![Interfaces.service, MonitorMethod.interface].contains(call.interface) {
                throw .unknownInterface(call.interface)
            }
            throw HVError(
                .methodNotFound, "unknown method '\(call.method)'",
                fix: "call org.varlink.service.GetInterfaceDescription for \(call.interface)",
                details: ["method": call.method]
            )
        }
    }

    private static func check(_ value: Int, in range: ClosedRange<Int>, parameter: String) throws(HVError) {
        guard range.contains(value) else {
            throw .invalidParameter(
                parameter, "\(parameter) must be between \(range.lowerBound) and \(range.upperBound), got \(value)"
            )
        }
    }

    static func isMetricName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5f }
    }

    static func isChannelName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }
    }
}

/// The syntax of a silence matcher: `rule` or `rule{label="value",…}`.
public enum AlertMatcherSyntax {
    /// Why the matcher is malformed, or nil when it is well formed.
    public static func problem(with matcher: String) -> String? {
        guard matcher.count <= 256 else { return "the matcher is longer than 256 characters" }
        let rule: Substring
        var labels: Substring = ""
        if let open = matcher.firstIndex(of: "{") {
            guard matcher.hasSuffix("}") else { return "the matcher's labels must end with '}'" }
            rule = matcher[..<open]
            labels = matcher[matcher.index(after: open)..<matcher.index(before: matcher.endIndex)]
        } else {
            rule = matcher[...]
        }
        guard !rule.isEmpty, rule.utf8.allSatisfy({ (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d })
        else { return "'\(rule)' is not a rule name: use lower-case letters, digits and '-'" }
        for pair in labels.split(separator: ",", omittingEmptySubsequences: false) where !labels.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, ControlRequest.isMetricName(String(parts[0])),
                parts[1].count >= 2, parts[1].first == "\"", parts[1].last == "\"",
                !parts[1].dropFirst().dropLast().contains("\"")
            else { return "'\(pair)' is not a label matcher: write name=\"value\"" }
        }
        return nil
    }
}
