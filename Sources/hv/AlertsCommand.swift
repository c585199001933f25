import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

/// Where the monitor listens; shared by `hv alerts` and `hv metrics`.
struct MonitorOptions: ParsableArguments {
    @Option(name: .long, help: "The monitor's socket (default: $HV_MONITOR_SOCKET or /run/hv-monitor/monitor.sock).")
    var monitorSocket: String?

    @Flag(name: .long, help: "Print JSON for scripts instead of tables.")
    var json = false

    @Flag(name: .long, help: "Print the equivalent commands and what they do, and do nothing.")
    var explain = false

    var socketPath: String {
        monitorSocket ?? ProcessInfo.processInfo.environment["HV_MONITOR_SOCKET"] ?? MonitorMethod.defaultSocketPath
    }

    /// Connects to the monitor and runs `body`, turning errors into messages and exit codes; with
    /// `--explain`, explains instead and exits without connecting.
    func run(explain explanation: Explanation, _ body: (MonitorClient) throws(HVError) -> Void) {
        if explain { Runner.explainOnly(explanation) }
        do {
            try body(try MonitorClient(socketPath: socketPath))
        } catch {
            Runner.fail(error)
        }
    }
}

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "The monitor's alerts: what fires, what was sent, silences.",
        subcommands: [List.self, Test.self, Silence.self, Unsilence.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show firing alerts, recent notifications with their deliveries, and active silences."
        )
        @OptionGroup var options: MonitorOptions
        @Option(help: "How many recent notifications to show (1-1000).") var limit = 20

        func run() throws {
            options.run(explain: .alertsList()) { client throws(HVError) in
                let reply = try client.alerts(limit: limit)
                if options.json { return Runner.printJSON(reply) }
                print(Self.render(reply))
            }
        }

        static func render(_ reply: ListAlertsReply) -> String {
            var sections: [String] = []
            if reply.active.isEmpty {
                sections.append("firing: none")
            } else {
                var table = Table("SEVERITY", "ALERT", "SINCE", "SUMMARY")
                for alert in reply.active {
                    let silenced = alert.silencedUntil.map { " (silenced until \(Clock.format($0)))" } ?? ""
                    table.add(alert.severity.rawValue, alert.key, Clock.format(alert.since), alert.summary + silenced)
                }
                sections.append("firing:\n" + table.render())
            }
            if !reply.recent.isEmpty {
                var table = Table("TIME", "KIND", "ALERT", "DELIVERIES")
                for note in reply.recent {
                    let deliveries = note.deliveries.map { delivery in
                        delivery.delivered
                            ? "\(delivery.channel) ok"
                            : "\(delivery.channel) FAILED after \(delivery.attempts): \(delivery.error ?? "unknown")"
                    }
                    table.add(
                        Clock.format(note.time), note.reason.map { "\(note.kind): \($0)" } ?? note.kind, note.key,
                        deliveries.isEmpty ? "(no channel routed)" : deliveries.joined(separator: "; ")
                    )
                }
                sections.append("recent notifications:\n" + table.render())
            }
            if !reply.silences.isEmpty {
                var table = Table("ID", "MATCHER", "UNTIL", "BY", "COMMENT")
                for silence in reply.silences {
                    table.add(String(silence.id), silence.matcher, Clock.format(silence.until), silence.createdBy, silence.comment)
                }
                sections.append("silences:\n" + table.render())
            }
            return sections.joined(separator: "\n\n")
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a test notification through the configured channels and show each delivery.",
            discussion: "Exits 1 when any channel failed to deliver."
        )
        @OptionGroup var options: MonitorOptions
        @Option(help: "Send through this channel only.") var channel: String?
        @Option(help: "Send through the channels routed for this severity: info, warning or critical (default: critical).")
        var severity: AlertSeverity?

        func run() throws {
            options.run(explain: .alertsTest()) { client throws(HVError) in
                let note = try client.testAlert(channel: channel, severity: severity)
                if options.json {
                    Runner.printJSON(note)
                } else if note.deliveries.isEmpty {
                    print("no channel is routed for \(note.severity.rawValue): add one under 'routes' in the monitor's configuration")
                } else {
                    var table = Table("CHANNEL", "RESULT", "ATTEMPTS")
                    for delivery in note.deliveries {
                        table.add(delivery.channel, delivery.delivered ? "delivered" : "FAILED: \(delivery.error ?? "unknown")", String(delivery.attempts))
                    }
                    print(table.render())
                }
                if note.deliveries.contains(where: { !$0.delivered }) { Foundation.exit(1) }
            }
        }
    }

    struct Silence: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hold back notifications for matching alerts for a while.",
            discussion: """
                MATCHER is a rule name, or a rule with labels: vm-stopped-unexpectedly{vm="web1"}.
                Silenced alerts still show in 'hv alerts list'; nothing is sent for them until the silence ends.
                """
        )
        @OptionGroup var options: MonitorOptions
        @Argument(help: "A rule name, or a rule with labels.") var matcher: String
        @Option(name: .customLong("for"), help: "How long: e.g. 30m, 2h, 1d (1 minute to 30 days).") var duration = "1h"
        @Option(help: "Why, for the record.") var comment = ""

        func run() throws {
            guard let seconds = Clock.seconds(duration) else {
                Runner.fail(.invalidParameter("for", "'\(duration)' is not a duration", fix: "write e.g. 30m, 2h or 1d"))
            }
            options.run(explain: .alertsSilence(matcher)) { client throws(HVError) in
                let silence = try client.silence(matcher: matcher, durationSeconds: seconds, comment: comment)
                if options.json { return Runner.printJSON(silence) }
                print("silence \(silence.id): \(silence.matcher) until \(Clock.format(silence.until))")
            }
        }
    }

    struct Unsilence: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a silence early.")
        @OptionGroup var options: MonitorOptions
        @Argument(help: "The silence's id, as 'hv alerts list' shows it.") var id: Int64

        func run() throws {
            options.run(explain: .alertsSilence(String(id))) { client throws(HVError) in
                try client.removeSilence(id: id)
                if !options.json { print("silence \(id) removed") }
            }
        }
    }
}

extension AlertSeverity: ExpressibleByArgument {}

/// Times and durations as people write them.
enum Clock {
    static func format(_ time: Double) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: time))
    }

    /// `90s`, `30m`, `2h`, `7d` → seconds; nil when malformed or longer than 366 days.
    static func seconds(_ text: String) -> Int? {
        let units = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        guard let unit = text.last.flatMap({ units[String($0)] }), let value = Int(text.dropLast()), value > 0,
            value <= 366 * 86_400 / unit
        else { return nil }
        return value * unit
    }
}
