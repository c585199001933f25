import Foundation
import HVAlerting
import HVHistory
import HVMetrics
import HVMonitor
import HVProtocol
import Testing

/// `docs/monitoring/monitor.example.yaml` parses as a monitor configuration and holds what its
/// comments, the README and ALERTING.md say it holds.
@Suite struct ExampleConfigurationTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/monitoring/monitor.example.yaml").path

    static func parsed() throws -> MonitorConfiguration {
        try MonitorConfiguration.parse(yaml: try String(contentsOfFile: path, encoding: .utf8))
    }

    static func alerting() throws -> AlertConfiguration {
        let alerting = try parsed().alerting
        return try #require(alerting, "the example turns alerting on")
    }

    @Test func monitorSettingsAreTheDocumentedDefaults() throws {
        let settings = try Self.parsed()
        let defaults = MonitorConfiguration()
        #expect(settings.brokerSocket == "/run/hypervisor/broker.sock")
        #expect(settings.brokerSocket == defaults.brokerSocket)
        #expect(settings.controlSocket == "/run/hv-monitor/monitor.sock")
        #expect(settings.controlSocket == defaults.controlSocket)
        #expect(settings.metrics.host == "127.0.0.1")
        #expect(settings.metrics.port == 9478)
        #expect(settings.metrics.port == defaults.metrics.port)
        #expect(settings.intervalSeconds == 15)
        #expect(settings.healthIntervalSeconds == 60)
        #expect(settings.stateDirectory == "/var/lib/hv-monitor")
        #expect(settings.web.bearerTokenFile == "/etc/hypervisor/metrics.token")
        #expect(settings.web == defaults.web)
    }

    @Test func historyRetentionIsRawTwoDaysFiveMinutesAMonthHourlyAYear() throws {
        let history = try Self.parsed().history
        #expect(history.rawRetentionSeconds == 48 * 3_600)
        #expect(history.fiveMinuteRetentionSeconds == 30 * 86_400)
        #expect(history.hourlyRetentionSeconds == 365 * 86_400)
        #expect(history.maximumBytes == 512 << 20)
        #expect(history.maximumSeries == 10_000)
        #expect(history.collectionIntervalSeconds == 15)
    }

    @Test func emailUsesStartTLSWithAPasswordFile() throws {
        let channel = try #require(try Self.alerting().channels.first { $0.name == "ops-mail" })
        guard case .email(let email) = channel.kind else {
            Issue.record("ops-mail is not an email channel: \(channel.kind)")
            return
        }
        #expect(email.host == "smtp.example.com")
        #expect(email.port == 587)
        #expect(email.security == .starttls)
        #expect(email.username == "hv-monitor@example.com")
        #expect(email.passwordFile == "/var/lib/hv-monitor/secrets/smtp-password")
        #expect(email.authentication == nil)
        #expect(email.caFile == nil)
        #expect(email.from == "hv-monitor@example.com")
        #expect(email.to == ["ops@example.com", "oncall@example.com"])
        #expect(email.timeoutSeconds == 30)
    }

    @Test(arguments: [
        ("ops-slack", WebhookSettings.Flavor.slack, "slack-webhook-url", 10.0),
        ("ops-discord", .discord, "discord-webhook-url", 10),
        ("ops-teams", .teams, "teams-webhook-url", 10),
        ("pager", .webhook, "pager-webhook-url", 5),
    ])
    func webhooksReadTheirURLFromAFile(name: String, flavor: WebhookSettings.Flavor, file: String, timeout: Double) throws {
        let channel = try #require(try Self.alerting().channels.first { $0.name == name })
        #expect(
            channel.kind
                == .webhook(
                    WebhookSettings(
                        flavor: flavor, address: .file("/var/lib/hv-monitor/secrets/" + file), timeoutSeconds: timeout)
                )
        )
    }

    @Test func everyChannelTypeAppearsOnceAndNoSecretIsInline() throws {
        let channels = try Self.alerting().channels
        #expect(channels.map(\.name) == ["ops-mail", "ops-slack", "ops-discord", "ops-teams", "pager"])
        for channel in channels {
            if case .webhook(let webhook) = channel.kind, case .url = webhook.address {
                Issue.record("\(channel.name) has its URL inline; the example keeps secrets in files")
            }
        }
    }

    @Test func routesSendEachSeverityToItsChannels() throws {
        let alerting = try Self.alerting()
        #expect(alerting.routes[.critical] == ["ops-mail", "ops-slack", "ops-teams", "pager"])
        #expect(alerting.routes[.warning] == ["ops-slack", "ops-discord"])
        #expect(alerting.routes[.info] == ["ops-discord"])
        #expect(alerting.delivery == DeliveryPolicy(attempts: 4, baseDelaySeconds: 5))
    }

    @Test func rulesKeepEveryShippedRuleAndChangeOnlyTheTwoTheCommentsName() throws {
        let rules = try Self.alerting().rules
        let byName = Dictionary(uniqueKeysWithValues: rules.map { ($0.name, $0) })
        let changed: Set = ["host-cpu-high", "pool-space-low"]
        for shipped in AlertRules.defaults {
            let rule = try #require(byName[shipped.name], "the example drops the shipped rule \(shipped.name)")
            if changed.contains(shipped.name) {
                #expect(rule != shipped, "\(shipped.name) is meant to differ from the shipped rule")
            } else {
                #expect(rule == shipped, "\(shipped.name) is meant to be the shipped rule unchanged")
            }
        }
        #expect(Set(rules.map(\.name)).subtracting(AlertRules.defaults.map(\.name)) == ["image-pool-nearly-full"])
    }

    @Test func changedRulesHaveTheirDocumentedThresholds() throws {
        let rules = try Self.alerting().rules
        let cpu = try #require(rules.first { $0.name == "host-cpu-high" })
        #expect(
            cpu.condition
                == .threshold(
                    ThresholdCondition(metric: "hv_host_cpu_usage_ratio", comparison: .above, threshold: 0.95, resolve: 0.85))
        )
        #expect(cpu.forSeconds == 600)
        #expect(cpu.cooldownSeconds == AlertRule.defaultCooldownSeconds)
        #expect(cpu.severity == .warning)

        let pool = try #require(rules.first { $0.name == "pool-space-low" })
        #expect(
            pool.condition
                == .threshold(ThresholdCondition(metric: "hv_pool_used_ratio", comparison: .above, threshold: 0.8, resolve: 0.75))
        )
        #expect(pool.cooldownSeconds == 7_200)
        #expect(pool.forSeconds == 0)
    }

    @Test func addedRuleWatchesTheImagePoolAndUsesItsOwnChannels() throws {
        let alerting = try Self.alerting()
        let rule = try #require(alerting.rules.first { $0.name == "image-pool-nearly-full" })
        #expect(rule.severity == .critical)
        #expect(
            rule.condition
                == .threshold(
                    ThresholdCondition(
                        metric: "hv_pool_used_ratio", labels: ["pool": "hypervisor-images"], comparison: .above,
                        threshold: 0.95, resolve: 0.9))
        )
        #expect(alerting.channelNames(for: rule) == ["ops-mail", "pager"])
    }

    /// The example's own claim: a `password:` key is refused, so the file cannot be "fixed" by
    /// inlining the secret.
    @Test func inliningThePasswordIsRefused() throws {
        let text = try String(contentsOfFile: Self.path, encoding: .utf8).replacingOccurrences(
            of: "password_file: /var/lib/hv-monitor/secrets/smtp-password", with: "password: hunter2")
        #expect(text.contains("password: hunter2"))
        let error = try #require(throws: AlertingError.self) { try MonitorConfiguration.parse(yaml: text) }
        #expect(error.code == .invalidConfiguration)
        #expect(error.reason.hasPrefix("alerting.channels[0].password:"))
    }
}
