import Foundation
import HVProtocol

/// The human wording of a notification, shared by every channel.
enum NotificationText {
    static func status(_ notification: AlertNotification) -> String {
        switch notification.kind {
        case "firing": "FIRING"
        case "resolved": "RESOLVED"
        case "test": "TEST"
        default: notification.kind.uppercased()
        }
    }

    /// `[FIRING] critical: VM web1 stopped unexpectedly`
    static func title(_ notification: AlertNotification) -> String {
        "[\(status(notification))] \(notification.severity.rawValue): \(summary(notification))"
    }

    /// The summary, and why it resolved when the notification says:
    /// `VM web1 stopped unexpectedly (resolved: vm web1 no longer exists)`.
    static func summary(_ notification: AlertNotification) -> String {
        guard let reason = notification.reason else { return notification.summary }
        return "\(notification.summary) (\(status(notification).lowercased()): \(reason))"
    }

    static func time(_ notification: AlertNotification) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: notification.time))
    }

    /// Name/value pairs shown under the title.
    static func facts(_ notification: AlertNotification) -> [(String, String)] {
        var facts = [
            ("Alert", notification.key), ("Rule", notification.rule), ("Severity", notification.severity.rawValue),
            ("Status", status(notification).lowercased()), ("Time", time(notification)),
            ("Host", ProcessInfo.processInfo.hostName),
        ]
        facts += notification.labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return facts
    }

    /// The plain-text body: the summary, then one `Name: value` line per fact.
    static func body(_ notification: AlertNotification) -> String {
        ([summary(notification), ""] + facts(notification).map { "\($0.0): \($0.1)" }).joined(separator: "\n") + "\n"
    }
}
