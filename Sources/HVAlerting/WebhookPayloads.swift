import Foundation
import HVProtocol

/// JSON bodies for each webhook flavour, built as Codable values and encoded with JSONEncoder.
enum WebhookPayloads {
    static func body(for flavor: WebhookSettings.Flavor, _ notification: AlertNotification) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        switch flavor {
        case .slack: return try encoder.encode(slack(notification))
        case .discord: return try encoder.encode(discord(notification))
        case .teams: return try encoder.encode(teams(notification))
        case .webhook: return try encoder.encode(notification)
        }
    }

    /// The colour of a notification: red critical, amber warning, blue info, green resolved.
    static func color(_ notification: AlertNotification) -> Int {
        if notification.kind == "resolved" { return 0x2E_B8_86 }
        switch notification.severity {
        case .critical: return 0xD0_36_36
        case .warning: return 0xE0_A0_00
        case .info: return 0x36_7F_D0
        }
    }

    // MARK: Slack: text (used for notifications) plus Block Kit blocks.

    struct Slack: Codable, Hashable {
        struct Text: Codable, Hashable {
            var type: String
            var text: String
        }

        struct Block: Codable, Hashable {
            var type: String
            var text: Text?
            var fields: [Text]?
        }

        var text: String
        var blocks: [Block]
    }

    static func slack(_ notification: AlertNotification) -> Slack {
        let title = NotificationText.title(notification)
        let fields = NotificationText.facts(notification).prefix(10).map { Slack.Text(type: "mrkdwn", text: "*\($0.0)*\n\($0.1)") }
        return Slack(
            text: title,
            blocks: [
                Slack.Block(type: "header", text: Slack.Text(type: "plain_text", text: String(title.prefix(150)))),
                Slack.Block(
                    type: "section", text: Slack.Text(type: "mrkdwn", text: NotificationText.summary(notification))),
                Slack.Block(type: "section", fields: Array(fields)),
            ])
    }

    // MARK: Discord: content plus one embed.

    struct Discord: Codable, Hashable {
        struct Field: Codable, Hashable {
            var name: String
            var value: String
            var inline: Bool
        }

        struct Embed: Codable, Hashable {
            var title: String
            var description: String
            var color: Int
            var timestamp: String
            var fields: [Field]
        }

        var content: String
        var embeds: [Embed]
    }

    static func discord(_ notification: AlertNotification) -> Discord {
        Discord(
            content: String(NotificationText.title(notification).prefix(2_000)),
            embeds: [
                Discord.Embed(
                    title: String("\(NotificationText.status(notification)): \(notification.rule)".prefix(256)),
                    description: String(NotificationText.summary(notification).prefix(4_096)),
                    color: color(notification),
                    timestamp: NotificationText.time(notification),
                    fields: NotificationText.facts(notification).prefix(25).map {
                        Discord.Field(name: $0.0, value: String($0.1.prefix(1_024)), inline: true)
                    })
            ])
    }

    // MARK: Microsoft Teams (Workflows webhook): a message with one Adaptive Card attachment.

    struct Teams: Codable, Hashable {
        struct Attachment: Codable, Hashable {
            var contentType: String
            var content: Card
        }

        struct Card: Codable, Hashable {
            var type: String
            var schema: String
            var version: String
            var body: [Element]

            enum CodingKeys: String, CodingKey {
                case type
                case schema = "$schema"
                case version
                case body
            }
        }

        struct Fact: Codable, Hashable {
            var title: String
            var value: String
        }

        struct Element: Codable, Hashable {
            var type: String
            var text: String?
            var weight: String?
            var size: String?
            var color: String?
            var wrap: Bool?
            var facts: [Fact]?
        }

        var type: String
        var attachments: [Attachment]
    }

    static func teams(_ notification: AlertNotification) -> Teams {
        let accent = notification.kind == "resolved" ? "Good" : notification.severity == .critical ? "Attention" : "Warning"
        let card = Teams.Card(
            type: "AdaptiveCard", schema: "http://adaptivecards.io/schemas/adaptive-card.json", version: "1.4",
            body: [
                Teams.Element(
                    type: "TextBlock", text: NotificationText.title(notification), weight: "Bolder", size: "Medium",
                    color: accent, wrap: true),
                Teams.Element(
                    type: "FactSet",
                    facts: NotificationText.facts(notification).map { Teams.Fact(title: $0.0, value: $0.1) }),
            ])
        return Teams(
            type: "message",
            attachments: [Teams.Attachment(contentType: "application/vnd.microsoft.card.adaptive", content: card)])
    }
}
