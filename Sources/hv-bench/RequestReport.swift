import Foundation
import HVPresentation

/// What `hv-bench request` measured, each figure beside its floor and goal.
struct RequestReport: Codable, Sendable, BenchReport {
    /// The goals of issue 14.
    static let ownCostGoalMicroseconds = 300.0
    static let throughputGoal = 0.9
    static let memoryGoalMiB = 30.0

    /// One throughput comparison: polkitd's answers and the broker's requests, same number of callers.
    struct Run: Codable, Sendable {
        var polkit: Throughput
        var broker: Throughput
        var ratio: Double { polkit.perSecond > 0 ? broker.perSecond / polkit.perSecond : 0 }
    }

    var cpus: Int
    var kernel: String
    var libvirtVersion: String
    /// /proc/loadavg when the run started: other work on the machine skews every figure.
    var loadAverage: String
    var user: String
    var uid: UInt32
    var warmup: Int
    var roundTrip: LatencySummary
    var polkit: LatencySummary
    var libvirt: LatencySummary
    var throughput: [Run]
    var memory: [ResidentMemory]

    /// The broker's own share of the median round trip: what is left after the polkit check and
    /// the libvirt calls, both measured beside it.
    var ownMicroseconds: Double {
        roundTrip.medianMicroseconds - polkit.medianMicroseconds - libvirt.medianMicroseconds
    }

    var text: String {
        var table = Table("operator Vm.Info, µs (wall)", "n", "median", "p99")
        for row in [roundTrip, polkit, libvirt] {
            table.add(row.name, "\(row.iterations)", Self.format(row.medianMicroseconds), Self.format(row.p99Microseconds))
        }
        table.add("the broker's own: round trip − polkit − libvirt", "", Self.format(ownMicroseconds), "")
        var lines = [
            "hv-bench request: hv-broker on the test driver, one managed machine; operator \(user) (uid \(uid)); "
                + "\(cpus) CPUs, Linux \(kernel), libvirt \(libvirtVersion); load average \(loadAverage) at start; "
                + "\(warmup) untimed of each first",
            "",
            table.render(),
            "the broker's own cost: \(Self.format(ownMicroseconds)) µs median (goal ≤ \(Int(Self.ownCostGoalMicroseconds)) µs)",
            "",
        ]
        for run in throughput {
            lines.append(
                "\(run.broker.clients) callers, wall clock: broker \(Self.format(run.broker.perSecond)) Vm.Info/s "
                    + "(median \(Self.format(run.broker.medianMilliseconds ?? 0)) ms, p99 \(Self.format(run.broker.p99Milliseconds ?? 0)) ms), "
                    + "polkitd \(Self.format(run.polkit.perSecond)) answers/s: \(Int((run.ratio * 100).rounded())) % "
                    + "(goal ≥ \(Int(Self.throughputGoal * 100)) %)"
            )
            lines.append("  CPU µs per Vm.Info: " + Self.cpu(run.broker.cpu))
            lines.append("  CPU µs per polkit answer: " + Self.cpu(run.polkit.cpu))
        }
        if !memory.isEmpty {
            lines.append("")
            lines.append("broker memory, MiB resident (anonymous + files), threads:")
            for reading in memory {
                lines.append(
                    "  after \(reading.requests) requests: \(Self.mebibytes(reading.residentKiB)) "
                        + "(\(Self.mebibytes(reading.anonymousKiB)) + \(Self.mebibytes(reading.fileKiB))), \(reading.threads) threads"
                )
            }
            if let growth = memoryGrowth {
                lines.append(
                    "  from \(growth.from) to \(growth.to) requests: \(growth.kib >= 0 ? "+" : "")\(Self.mebibytes(growth.kib)) MiB "
                        + "(goal: none); largest \(Self.mebibytes(memory.map(\.residentKiB).max() ?? 0)) MiB (goal ≤ \(Int(Self.memoryGoalMiB)))"
                )
            }
        }
        return lines.joined(separator: "\n")
    }

    var json: String { encodedJSON }

    /// From the first reading at or past 10,000 requests to the last one.
    var memoryGrowth: (from: Int, to: Int, kib: Int)? {
        guard let first = memory.first(where: { $0.requests >= 10_000 }), let last = memory.last, last.requests > first.requests else {
            return nil
        }
        return (first.requests, last.requests, last.residentKiB - first.residentKiB)
    }

    static func cpu(_ values: [String: Double]) -> String {
        values.sorted { $0.key < $1.key }.map { "\($0.key) \(format($0.value))" }.joined(separator: ", ")
            + "; all \(format(values.values.reduce(0, +)))"
    }

    static func mebibytes(_ kib: Int) -> String {
        String(format: "%.1f", Double(kib) / 1024)
    }

    static func format(_ value: Double) -> String {
        String(format: abs(value) < 100 ? "%.1f" : "%.0f", value)
    }
}
