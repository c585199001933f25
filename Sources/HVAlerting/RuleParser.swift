import HVProtocol
import Yams

/// Reads one entry of `rules:`.
enum RuleParser {
    static let keys = [
        "name", "severity", "summary", "metric", "labels", "above", "below", "resolve_below", "resolve_above",
        "health", "status", "event", "resolve_after", "for", "cooldown", "channels",
    ]

    static func parse(_ node: Node, path: String) throws -> AlertRule {
        let fields = try YAMLFields(node, path: path, allowed: keys)
        let name = try fields.requiredString("name")
        guard name.count <= 64, name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }) else {
            throw AlertingError.invalid(
                fields.field("name"), "\"\(name)\" may use only a-z, 0-9 and -, at most 64 characters")
        }
        let severityText = try fields.requiredString("severity")
        guard let severity = AlertSeverity(rawValue: severityText) else {
            throw AlertingError.invalid(fields.field("severity"), "\"\(severityText)\" is not critical, warning or info")
        }
        let summary = try fields.requiredString("summary")
        guard summary.count <= 500, !summary.contains(where: \.isNewline) else {
            throw AlertingError.invalid(fields.field("summary"), "must be one line of at most 500 characters")
        }

        let kinds = ["metric", "health", "event"].filter(fields.has)
        guard kinds.count == 1 else {
            let found = kinds.isEmpty ? "none" : kinds.joined(separator: " and ")
            throw AlertingError.invalid(path, "needs exactly one condition: metric, health or event (found \(found))")
        }
        let condition: AlertCondition
        switch kinds[0] {
        case "metric": condition = .threshold(try threshold(fields))
        case "health": condition = .health(try health(fields))
        default: condition = .event(try event(fields))
        }

        let forSeconds = try fields.duration("for") ?? 0
        if case .event = condition, forSeconds > 0 {
            throw AlertingError.invalid(fields.field("for"), "does not apply to an event; events fire when they happen")
        }
        return AlertRule(
            name: name, severity: severity, summary: summary, condition: condition, forSeconds: forSeconds,
            cooldownSeconds: try fields.duration("cooldown") ?? AlertRule.defaultCooldownSeconds,
            channels: try fields.strings("channels"))
    }

    private static func refuse(_ fields: YAMLFields, _ keys: [String], with condition: String) throws {
        for key in keys where fields.has(key) {
            throw AlertingError.invalid(fields.field(key), "does not apply to a \(condition) condition")
        }
    }

    private static func threshold(_ fields: YAMLFields) throws -> ThresholdCondition {
        try refuse(fields, ["status", "resolve_after"], with: "metric")
        let metric = try fields.requiredString("metric")
        guard MetricCatalog.names.contains(metric) else {
            throw AlertingError.invalid(
                fields.field("metric"), "\"\(metric)\" is not an exported metric",
                fix: "use a name from docs/monitoring/METRICS.md, e.g. hv_host_cpu_usage_ratio")
        }
        let labels = try fields.stringMap("labels") ?? [:]
        let above = try fields.number("above")
        let below = try fields.number("below")
        switch (above, below) {
        case (let threshold?, nil):
            if fields.has("resolve_above") {
                throw AlertingError.invalid(fields.field("resolve_above"), "goes with below; use resolve_below with above")
            }
            let resolve = try fields.number("resolve_below") ?? threshold
            guard resolve <= threshold else {
                throw AlertingError.invalid(fields.field("resolve_below"), "must be at or below above (\(threshold))")
            }
            return ThresholdCondition(
                metric: metric, labels: labels, comparison: .above, threshold: threshold, resolve: resolve)
        case (nil, let threshold?):
            if fields.has("resolve_below") {
                throw AlertingError.invalid(fields.field("resolve_below"), "goes with above; use resolve_above with below")
            }
            let resolve = try fields.number("resolve_above") ?? threshold
            guard resolve >= threshold else {
                throw AlertingError.invalid(fields.field("resolve_above"), "must be at or above below (\(threshold))")
            }
            return ThresholdCondition(
                metric: metric, labels: labels, comparison: .below, threshold: threshold, resolve: resolve)
        default:
            throw AlertingError.invalid(fields.path, "a metric condition needs exactly one of above or below")
        }
    }

    private static func health(_ fields: YAMLFields) throws -> HealthCondition {
        try refuse(fields, ["labels", "above", "below", "resolve_below", "resolve_above", "resolve_after"], with: "health")
        let check = try fields.requiredString("health")
        guard check.count <= 128, check.allSatisfy({ $0.isASCII && !$0.isWhitespace }),
            !check.dropLast().contains("*")
        else {
            throw AlertingError.invalid(
                fields.field("health"), "\"\(check)\" is not a check id, a prefix like pool: or pool:*, or *")
        }
        guard let texts = try fields.strings("status"), !texts.isEmpty else {
            throw AlertingError.invalid(fields.field("status"), "is required: a list such as [warning, critical]")
        }
        var statuses: Set<HealthStatus> = []
        for (index, text) in texts.enumerated() {
            guard let status = HealthStatus(rawValue: text) else {
                throw AlertingError.invalid(
                    "\(fields.field("status"))[\(index)]", "\"\(text)\" is not ok, warning, critical or unknown")
            }
            statuses.insert(status)
        }
        return HealthCondition(check: check, statuses: statuses)
    }

    private static func event(_ fields: YAMLFields) throws -> EventCondition {
        try refuse(fields, ["labels", "above", "below", "resolve_below", "resolve_above", "status"], with: "event")
        let text = try fields.requiredString("event")
        guard let event = VMEvent(rawValue: text) else {
            let known = VMEvent.allCases.map(\.rawValue).joined(separator: ", ")
            throw AlertingError.invalid(fields.field("event"), "\"\(text)\" is not a known event (\(known))")
        }
        return EventCondition(event: event, resolveAfterSeconds: try fields.duration("resolve_after", minimum: 1))
    }
}
