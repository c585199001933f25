import Foundation
import HVAlerting
import HVProtocol
import HVTestSupport
import HVYAML
import Testing

@Suite struct ConfigurationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func exampleFileParsesToTheDefaults() throws {
        let configuration = try AlertConfiguration.load(path: Self.root + "/docs/monitoring/alert-rules.example.yaml")
        #expect(configuration.rules == AlertRules.defaults)
        #expect(configuration.channels.map(\.name) == ["ops-mail", "ops-slack"])
        #expect(configuration.routes[.critical] == ["ops-mail", "ops-slack"])
        #expect(configuration.delivery == DeliveryPolicy(attempts: 3, baseDelaySeconds: 2))
    }

    @Test func defaultsCoverTheShippedConditions() {
        let names = AlertRules.defaults.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.contains("vm-stopped-unexpectedly"))
        let cpu = AlertRules.defaults.first { $0.name == "host-cpu-high" }
        #expect(cpu?.forSeconds == 300)
        #expect(
            cpu?.condition
                == .threshold(.init(metric: "hv_host_cpu_usage_ratio", comparison: .above, threshold: 0.9, resolve: 0.8)))
    }

    @Test(arguments: YAMLRuleBreak.all)
    func theYAMLRulesAreKept(_ rule: YAMLRuleBreak) throws {
        let valid = "delivery: {attempts: 3}\nroutes: {}\n"
        #expect(try AlertConfiguration.parse(yaml: valid).delivery.attempts == 3)
        let error = try #require(throws: YAMLError.self) { try AlertConfiguration.parse(yaml: rule.text(breaking: valid)) }
        #expect(error.message.hasPrefix("alerting configuration: "))
        #expect(rule.unsaid(in: error.message, valid: valid) == [], "\(error)")
        #expect(!error.fix.isEmpty)
    }

    @Test func noRulesKeyMeansDefaultsAndEmptyListMeansNone() throws {
        #expect(try AlertConfiguration.parse(yaml: "routes: {}").rules == AlertRules.defaults)
        #expect(try AlertConfiguration.parse(yaml: "rules: []").rules.isEmpty)
    }

    @Test func parsesEveryConditionKind() throws {
        let yaml = """
            channels:
              - {name: hook, type: webhook, url: "http://127.0.0.1:9/x"}
            rules:
              - name: web1-cpu
                severity: info
                summary: "{vm} busy"
                metric: hv_vm_cpu_usage_ratio
                labels: {vm: web1}
                above: 0.5
                resolve_below: 0.4
                for: 30s
                cooldown: 1h
                channels: [hook]
              - name: pools
                severity: warning
                summary: pool
                health: "pool:"
                status: [warning, critical]
              - name: crash
                severity: critical
                summary: crash
                event: vm_crashed
            """
        let rules = try AlertConfiguration.parse(yaml: yaml).rules
        #expect(rules.count == 3)
        #expect(
            rules[0]
                == AlertRule(
                    name: "web1-cpu", severity: .info, summary: "{vm} busy",
                    condition: .threshold(
                        .init(
                            metric: "hv_vm_cpu_usage_ratio", labels: ["vm": "web1"], comparison: .above, threshold: 0.5,
                            resolve: 0.4)), forSeconds: 30, cooldownSeconds: 3_600, channels: ["hook"]))
        #expect(rules[1].condition == .health(.init(check: "pool:", statuses: [.warning, .critical])))
        #expect(rules[2].condition == .event(.init(event: .vmCrashed)))
        #expect(rules[2].cooldownSeconds == 1_800)
    }

    static let badRules: [(String, String)] = [
        (
            "- {name: a, severity: warning, summary: s, metric: hv_host_load1, above: 1, for: 5x}",
            #"rules[0].for: "5x" is not a duration; use e.g. 30s, 5m, 1h"#
        ),
        (
            "- {name: a, severity: warning, summary: s, metric: hv_host_load1, above: 1, for: -5m}",
            #"rules[0].for: "-5m" is not a duration; use e.g. 30s, 5m, 1h"#
        ),
        (
            "- {name: a, severity: warning, summary: s, metric: hv_host_load1, above: 1, cooldown: 9999d}",
            #"rules[0].cooldown: "9999d" is too long; the longest allowed is 365d"#
        ),
        (
            "- {name: a, severity: warning, summary: s, metric: hv_host_load1, above: 1, colour: red}",
            "rules[0].colour: unknown key; allowed keys here: name, severity, summary, metric, labels, above, below, resolve_below, resolve_above, health, status, event, resolve_after, for, cooldown, channels"
        ),
        (
            "- {name: a, severity: warning, summary: s, metric: hv_host_load1, above: 1}\n- {name: a, severity: info, summary: t, health: kvm, status: [critical]}",
            #"rules[1].name: "a" is already used by rules[0]"#
        ),
        (
            "- {name: Bad_Name, severity: warning, summary: s, metric: hv_host_load1, above: 1}",
            #"rules[0].name: "Bad_Name" may use only a-z, 0-9 and -, at most 64 characters"#
        ),
        (
            "- {name: a, severity: urgent, summary: s, metric: hv_host_load1, above: 1}",
            #"rules[0].severity: "urgent" is not critical, warning or info"#
        ),
        (
            "- {name: a, severity: warning, summary: s, metric: hv_host_load1, above: 1, channels: [pager]}",
            #"rules[0].channels[0]: no channel named "pager" (none are defined under channels)"#
        ),
        (
            "- {name: a, severity: warning, summary: s, metric: hv_host_cpu_usage, above: 1}",
            #"rules[0].metric: "hv_host_cpu_usage" is not an exported metric"#
        ),
        (
            "- {name: a, severity: warning, summary: s, metric: hv_host_load1, above: 1, below: 0}",
            "rules[0]: a metric condition needs exactly one of above or below"
        ),
        (
            "- {name: a, severity: warning, summary: s, metric: hv_host_load1, above: 0.9, resolve_below: 0.95}",
            "rules[0].resolve_below: must be at or below above (0.9)"
        ),
        (
            "- {name: a, severity: warning, summary: s, metric: hv_host_load1, above: high}",
            #"rules[0].above: "high" is not a number"#
        ),
        (
            "- {name: a, severity: warning, summary: s}",
            "rules[0]: needs exactly one condition: metric, health or event (found none)"
        ),
        (
            "- {name: a, severity: warning, summary: s, metric: hv_host_load1, above: 1, event: vm_crashed}",
            "rules[0]: needs exactly one condition: metric, health or event (found metric and event)"
        ),
        (
            "- {name: a, severity: warning, summary: s, event: vm_stopped_unexpectedly, for: 5m}",
            "rules[0].for: does not apply to an event; events fire when they happen"
        ),
        (
            "- {name: a, severity: warning, summary: s, event: vm_exploded}",
            #"rules[0].event: "vm_exploded" is not a known event (vm_stopped_unexpectedly, vm_crashed)"#
        ),
        (
            "- {name: a, severity: warning, summary: s, health: autostart}",
            "rules[0].status: is required: a list such as [warning, critical]"
        ),
        (
            "- {name: a, severity: warning, summary: s, health: autostart, status: [bad]}",
            #"rules[0].status[0]: "bad" is not ok, warning, critical or unknown"#
        ),
        (
            "- {name: a, severity: warning, summary: s, health: autostart, status: [critical], above: 1}",
            "rules[0].above: does not apply to a health condition"
        ),
    ]

    @Test(arguments: badRules)
    func badRulesAreRefusedNamingTheField(yaml: String, message: String) {
        let error = #expect(throws: AlertingError.self) {
            try AlertConfiguration.parse(yaml: "rules:\n" + yaml.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.reason == message)
    }

    static let badChannels: [(String, String)] = [
        (
            "channels:\n  - {name: m, type: email, host: smtp.example.com, from: a@b.c, to: [d@e.f], password: hunter2}",
            "channels[0].password: passwords do not belong in this file"
        ),
        (
            "channels:\n  - {name: m, type: email, host: smtp.example.com, from: a@b.c, to: [d@e.f], tls: none}",
            "channels[0].tls: none is allowed only for a relay on localhost; smtp.example.com would see the password and alerts in clear"
        ),
        (
            "channels:\n  - {name: m, type: email, host: smtp.example.com, from: a@b.c, to: [\"x\\r\\nBcc: evil@x.y\"]}",
            "channels[0].to[0]: \"x\r\nBcc: evil@x.y\" is not a plain email address like ops@example.com"
        ),
        (
            "channels:\n  - {name: m, type: pager, url: https://x.y}",
            #"channels[0].type: "pager" is not one of email, slack, discord, teams, webhook"#
        ),
        (
            "channels:\n  - {name: s, type: slack, url: http://hooks.example.com/x}",
            "channels[0].url: must use https (plain http is allowed only to localhost)"
        ),
        (
            "channels:\n  - {name: s, type: slack}",
            "channels[0]: needs exactly one of url or url_file"
        ),
        (
            "channels:\n  - {name: s, type: slack, url: https://a.b/c, host: x}",
            "channels[0].host: unknown key; allowed keys here: name, type, url, url_file, timeout"
        ),
        (
            "channels:\n  - {name: s, type: slack, url: https://a.b/c}\n  - {name: s, type: discord, url: https://a.b/d}",
            #"channels[1].name: "s" is already used by channels[0]"#
        ),
        (
            "channels:\n  - {name: s, type: slack, url: https://a.b/c}\nroutes: {critical: [s, pager]}",
            #"routes.critical[1]: no channel named "pager" (defined: s)"#
        ),
        (
            "channels:\n  - {name: s, type: discord, url: https://a.b/c, colour: red}",
            "channels[0].colour: unknown key; allowed keys here: name, type, url, url_file, timeout"
        ),
        (
            "channels:\n  - {name: s, url: https://a.b/c}",
            "channels[0].type: is required: one of email, slack, discord, teams, webhook"
        ),
        (
            "routes: {urgent: []}",
            "routes.urgent: unknown key; allowed keys here: info, warning, critical"
        ),
        ("delivery: {attempts: 0}", #"delivery.attempts: "0" is not a whole number from 1 to 10"#),
        ("alerts: []", "alerts: unknown key; allowed keys here: rules, channels, routes, delivery"),
    ]

    @Test(arguments: badChannels)
    func badChannelsAreRefusedNamingTheField(yaml: String, message: String) {
        let error = #expect(throws: AlertingError.self) { try AlertConfiguration.parse(yaml: yaml) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.reason == message)
    }

    @Test func emailDefaultsFollowTheTLSMode() throws {
        let configuration = try AlertConfiguration.parse(
            yaml: """
                channels:
                  - {name: relay, type: email, host: localhost, tls: none, from: a@b.c, to: [d@e.f]}
                  - {name: smtps, type: email, host: mail.example.com, tls: tls, from: a@b.c, to: [d@e.f], timeout: 5s}
                """)
        guard case .email(let relay) = configuration.channels[0].kind, case .email(let smtps) = configuration.channels[1].kind
        else {
            Issue.record("expected email channels")
            return
        }
        #expect(relay.port == 25)
        #expect(relay.security == EmailSettings.Security.none)
        #expect(smtps.port == 465)
        #expect(smtps.timeoutSeconds == 5)
    }

    @Test func durations() {
        #expect(DurationText.seconds("30s") == 30)
        #expect(DurationText.seconds("5m") == 300)
        #expect(DurationText.seconds("2h") == 7_200)
        #expect(DurationText.seconds("1d") == 86_400)
        #expect(DurationText.seconds("0") == 0)
        for bad in ["", "m", "5", "1.5m", "-1s", "5 m", "1h30m", "９s"] { #expect(DurationText.seconds(bad) == nil) }
        #expect(DurationText.format(300) == "5m")
        #expect(DurationText.format(86_400) == "1d")
        #expect(DurationText.format(45) == "45s")
    }
}
