import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics", abstract: "The monitor's metric history.", subcommands: [Show.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Chart a VM's or the host's history in the terminal, or export it.",
            discussion: """
                TARGET is 'host' or a VM's name. Host series: cpu_usage_ratio, memory_used_bytes, memory_used_ratio,
                load1, network_receive_bytes_per_second, network_transmit_bytes_per_second. VM series: up,
                cpu_usage_ratio, memory_current_bytes, memory_rss_bytes, disk_read_bytes_per_second,
                disk_written_bytes_per_second, network_receive_bytes_per_second, network_transmit_bytes_per_second.
                """
        )
        @OptionGroup var options: MonitorOptions
        @Argument(help: "'host' or a VM's name.") var target: String
        @Option(help: "How far back: e.g. 1h, 24h, 7d, 365d.") var since = "24h"
        @Option(name: .customLong("metric"), help: "Only this series (repeatable).") var metrics: [String] = []
        @Flag(help: "Print CSV (target,metric,time_iso8601,value,min,max) instead of charts.") var csv = false
        @Option(help: "Chart width in columns.") var width = 60
        @Option(help: "Chart height in rows.") var height = 8

        func validate() throws {
            guard Clock.seconds(since) != nil else { throw ValidationError("--since: '\(since)' is not a duration; write e.g. 1h, 24h or 7d") }
            guard (10...400).contains(width), (3...100).contains(height) else {
                throw ValidationError("--width must be 10-400 and --height 3-100")
            }
        }

        func run() throws {
            let seconds = Clock.seconds(since) ?? 86_400
            options.run(explain: .metricsShow(target)) { client throws(HVError) in
                let series = try client.history(
                    HistoryParameters(target: target, metrics: metrics.isEmpty ? nil : metrics, sinceSeconds: seconds)
                )
                if options.json {
                    print((try? SeriesExport.json(series)) ?? "[]")
                } else if csv {
                    print(SeriesExport.csv(series), terminator: "")
                } else {
                    let chart = Chart(width: width, height: height)
                    print(series.map { chart.render($0) }.joined(separator: "\n\n"))
                }
            }
        }
    }
}
