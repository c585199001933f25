import Foundation
import HVClient
import HVPresentation

/// Everything one run measured, with what it means.
struct Report: Codable, Sendable {
    struct Machine: Codable, Sendable {
        var cpus: Int
        var kernel: String
        var libvirtVersion: String
        /// /proc/loadavg when the run started: other work on the machine skews every row.
        var loadAverage: String
    }

    var machine: Machine
    var libvirtUri: String
    var warmup: Int
    var latencies: [LatencySummary]
    var throughput: [ThroughputSummary]
    var observations: [String] = []

    var text: String {
        var table = Table("measurement", "n", "median µs", "p99 µs")
        for row in latencies {
            let median = Self.format(row.medianMicroseconds)
            table.add(row.name, "\(row.iterations)", median, Self.format(row.p99Microseconds))
        }
        var lines = [
            "hv-bench: hv-broker on \(libvirtUri); \(machine.cpus) CPUs, Linux \(machine.kernel), libvirt "
                + "\(machine.libvirtVersion); load average \(machine.loadAverage) at start; "
                + "\(warmup) warm-up calls before each row",
            "",
            table.render(),
            "",
        ]
        for run in throughput {
            let clients = run.clients == 1 ? " 1 client: " : "\(run.clients) clients:"
            lines.append(
                "throughput, Vm.Info, \(clients) \(Self.format(run.requestsPerSecond)) requests/s "
                    + "(\(run.requests) requests in \(String(format: "%.2f", run.seconds)) s); CPU µs per request: "
                    + run.cpuMicrosecondsPerRequest.sorted { $0.key < $1.key }
                    .map { "\($0.key) \(Self.format($0.value))" }.joined(separator: ", ")
            )
        }
        lines.append("")
        lines.append(contentsOf: observations.map { "- " + $0 })
        return lines.joined(separator: "\n")
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func format(_ value: Double) -> String {
        String(format: value < 100 ? "%.1f" : "%.0f", value)
    }
}
