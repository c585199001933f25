import Foundation
import HVProtocol
import HVYAML
import Yams

/// Alert rules, channels, routes and delivery policy, read from YAML.
///
/// ```yaml
/// rules: [...]            # omitted: AlertRules.defaults; [] turns every rule off
/// channels: [...]
/// routes: {critical: [a, b], warning: [a], info: []}
/// delivery: {attempts: 3, base_delay: 2s}
/// ```
public struct AlertConfiguration: Sendable, Hashable {
    public var rules: [AlertRule]
    public var channels: [ChannelConfiguration]
    /// Channel names per severity.
    public var routes: [AlertSeverity: [String]]
    public var delivery: DeliveryPolicy

    public init(
        rules: [AlertRule] = AlertRules.defaults, channels: [ChannelConfiguration] = [],
        routes: [AlertSeverity: [String]] = [:], delivery: DeliveryPolicy = DeliveryPolicy()
    ) {
        self.rules = rules
        self.channels = channels
        self.routes = routes
        self.delivery = delivery
    }

    /// The channels a rule's notifications go to: its own list, or its severity's route.
    public func channelNames(for rule: AlertRule) -> [String] {
        rule.channels ?? routes[rule.severity] ?? []
    }

    /// Parses and validates a whole document, read by `YAMLReader` under its rules (its refusals
    /// are `YAMLError`s naming `file`). Errors name the field, e.g. `rules[2].for: "5x" is not a
    /// duration; use e.g. 30s, 5m, 1h`.
    public static func parse(yaml text: String, file: String = "alerting configuration") throws -> AlertConfiguration {
        try YAMLReader.root(text, name: file).map { try parse(node: $0, path: "") } ?? AlertConfiguration()
    }

    /// Reads the file at `path` and parses it.
    public static func load(path: String) throws -> AlertConfiguration {
        try YAMLReader.root(contentsOfFile: path).map { try parse(node: $0, path: "") } ?? AlertConfiguration()
    }

    /// Parses a mapping embedded in a larger document; `path` prefixes error messages (e.g. `alerting`).
    public static func parse(node: Node, path: String) throws -> AlertConfiguration {
        let fields = try YAMLFields(node, path: path, allowed: ["rules", "channels", "routes", "delivery"])
        var channels: [ChannelConfiguration] = []
        var channelPaths: [String: String] = [:]
        for (itemPath, item) in try fields.items("channels") ?? [] {
            let channel = try ChannelParser.parse(item, path: itemPath)
            if let earlier = channelPaths[channel.name] {
                throw AlertingError.invalid("\(itemPath).name", "\"\(channel.name)\" is already used by \(earlier)")
            }
            channelPaths[channel.name] = itemPath
            channels.append(channel)
        }
        let known = Set(channels.map(\.name))

        var routes: [AlertSeverity: [String]] = [:]
        if let node = fields.node("routes") {
            let routeFields = try YAMLFields(
                node, path: fields.field("routes"), allowed: AlertSeverity.allCases.map(\.rawValue))
            for severity in AlertSeverity.allCases {
                guard let names = try routeFields.strings(severity.rawValue) else { continue }
                try checkChannels(names, known: known, path: routeFields.field(severity.rawValue))
                routes[severity] = names
            }
        }

        var rules = AlertRules.defaults
        if let items = try fields.items("rules") {
            rules = []
            var rulePaths: [String: String] = [:]
            for (itemPath, item) in items {
                let rule = try RuleParser.parse(item, path: itemPath)
                if let earlier = rulePaths[rule.name] {
                    throw AlertingError.invalid("\(itemPath).name", "\"\(rule.name)\" is already used by \(earlier)")
                }
                if let names = rule.channels { try checkChannels(names, known: known, path: "\(itemPath).channels") }
                rulePaths[rule.name] = itemPath
                rules.append(rule)
            }
        }

        var delivery = DeliveryPolicy()
        if let node = fields.node("delivery") {
            let deliveryFields = try YAMLFields(node, path: fields.field("delivery"), allowed: ["attempts", "base_delay"])
            delivery.attempts = try deliveryFields.integer("attempts", in: 1...10) ?? delivery.attempts
            delivery.baseDelaySeconds = try deliveryFields.duration("base_delay") ?? delivery.baseDelaySeconds
            if delivery.baseDelaySeconds > 600 {
                throw AlertingError.invalid(deliveryFields.field("base_delay"), "is too long; the longest allowed is 10m")
            }
        }
        return AlertConfiguration(rules: rules, channels: channels, routes: routes, delivery: delivery)
    }

    private static func checkChannels(_ names: [String], known: Set<String>, path: String) throws {
        for (index, name) in names.enumerated() where !known.contains(name) {
            let choices = known.isEmpty ? "none are defined under channels" : "defined: \(known.sorted().joined(separator: ", "))"
            throw AlertingError.invalid("\(path)[\(index)]", "no channel named \"\(name)\" (\(choices))")
        }
    }
}
