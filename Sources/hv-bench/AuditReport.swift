import Foundation
import Glibc
import HVPresentation

/// What `hv-bench audit` measured, one column per history size.
struct AuditReport: Codable, Sendable, BenchReport {
    var cpus: Int
    /// /proc/loadavg when the run started: other work on the machine skews every figure.
    var loadAverage: String
    var starts: Int
    var healthCalls: Int
    var histories: [AuditScale]

    var text: String {
        var table = Table("")
        table.headers = ["hv-bench audit"] + histories.map { "\($0.records.formatted()) records" }
        func row(_ name: String, _ cell: (AuditScale) -> String) {
            table.rows.append([name] + histories.map(cell))
        }
        row("history written: wall / CPU") { "\(Self.seconds($0.generation.wallSeconds)) / \(Self.seconds($0.generation.cpuSeconds))" }
        row("  records written per second (wall)") { "\(Int(Double($0.records) / $0.generation.wallSeconds).formatted())/s" }
        row("chain records; sealed segments") { "\($0.chainRecords.formatted()); \($0.sealedSegments)" }
        row("segment files on disk; plain text") { "\(Self.megabytes($0.diskBytes)); \(Self.megabytes($0.plainBytes))" }
        row("broker start-up, wall: median (min-max)") {
            let walls = $0.startups.map(\.wallMilliseconds).sorted()
            return "\(Self.milliseconds(Self.median(walls))) (\(Self.milliseconds(walls.first ?? 0))-\(Self.milliseconds(walls.last ?? 0)))"
        }
        row("broker start-up, CPU: median") { Self.milliseconds(Self.median($0.startups.map(\.cpuMilliseconds).sorted())) }
        row("RSS after start: VmRSS / VmHWM") { $0.memoryAfterStart.text }
        row("Host.Health as root, wall: median / p99") {
            "\(Self.milliseconds($0.health.medianMicroseconds / 1e3)) / \(Self.milliseconds($0.health.p99Microseconds / 1e3))"
        }
        row("RSS after Host.Health: VmRSS / VmHWM") { $0.memoryAfterHealth.text }
        row("Audit.Verify streamed: wall / broker CPU") { "\(Self.seconds($0.verify.wallSeconds)) / \(Self.seconds($0.verify.cpuSeconds))" }
        row("  plain text per second; records per second") {
            "\(Self.megabytes(Double($0.plainBytes) / $0.verify.wallSeconds))/s; \(Int(Double($0.verify.records) / $0.verify.wallSeconds).formatted())/s"
        }
        row("gzip -dcf | sha256sum: wall / CPU") { "\(Self.seconds($0.sha256sum.wallSeconds)) / \(Self.seconds($0.sha256sum.cpuSeconds))" }
        row("  plain text per second") { "\(Self.megabytes(Double($0.plainBytes) / $0.sha256sum.wallSeconds))/s" }
        row("Audit.Verify wall / sha256sum wall") { String(format: "%.1f", $0.verify.wallSeconds / $0.sha256sum.wallSeconds) }
        var lines = [
            "hv-bench audit: \(cpus) CPUs; load average \(loadAverage) at start; \(starts) broker starts per size, "
                + "Host.Health timed \(healthCalls) times after \(AuditBench.healthWarmup) untimed",
            "",
            table.render(),
        ]
        lines += comparison
        return lines.joined(separator: "\n")
    }

    /// The largest history against the smallest, for the figures that should not depend on it.
    var comparison: [String] {
        guard histories.count > 1, let small = histories.first, let large = histories.last else { return [] }
        func change(_ name: String, _ value: (AuditScale) -> Double) -> String {
            let ratio = value(large) / max(value(small), 1e-9)
            return "\(name) \(String(format: "%+.0f%%", (ratio - 1) * 100))"
        }
        return [
            "",
            "\(large.records.formatted()) records against \(small.records.formatted()) (goal: equal within noise): "
                + [
                    change("start-up wall median") { Self.median($0.startups.map(\.wallMilliseconds).sorted()) },
                    change("VmRSS after start") { Double($0.memoryAfterStart.residentKiB) },
                    change("Host.Health median") { $0.health.medianMicroseconds },
                    change("VmHWM after Host.Health") { Double($0.memoryAfterHealth.peakResidentKiB) },
                ].joined(separator: ", "),
        ]
    }

    var json: String { encodedJSON }

    static func median(_ sorted: [Double]) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 0 ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
    }

    static func seconds(_ value: Double) -> String { String(format: value < 10 ? "%.2f s" : "%.1f s", value) }
    static func milliseconds(_ value: Double) -> String {
        String(format: value < 10 ? "%.2f ms" : value < 100 ? "%.1f ms" : "%.0f ms", value)
    }
    /// Decimal megabytes (10^6 bytes), as throughput is usually given.
    static func megabytes(_ bytes: Double) -> String { String(format: bytes < 1e7 ? "%.2f MB" : "%.0f MB", bytes / 1e6) }
    static func megabytes(_ bytes: Int) -> String { megabytes(Double(bytes)) }
}

/// One history size and what the broker did with it.
struct AuditScale: Codable, Sendable {
    /// Records of traffic written.
    var records: Int
    /// Records in the chain: those, and the record that opens each segment after the first.
    var chainRecords: Int
    var sealedSegments: Int
    /// The segment files' size on disk (sealed ones gzip-compressed).
    var diskBytes: Int
    /// Their plain text: the bytes `Audit.Verify` and `sha256sum` go through.
    var plainBytes: Int
    var generation: Timing
    var startups: [BrokerStart]
    var memoryAfterStart: ProcessMemory
    var health: LatencySummary
    var memoryAfterHealth: ProcessMemory
    var verify: VerifyRun
    var sha256sum: PlainTextDigest
}

/// One start of the broker: from just before it was started until its socket accepted a
/// connection (wall time), and the CPU time it had used by then.
struct BrokerStart: Codable, Sendable {
    var wallMilliseconds: Double
    var cpuMilliseconds: Double
}

/// A streamed `Audit.Verify`: the records it verified, its wall time at the client and the broker's
/// CPU time meanwhile (every thread; 10 ms resolution).
struct VerifyRun: Codable, Sendable {
    var records: Int
    var wallSeconds: Double
    var cpuSeconds: Double
}

/// Wall time and this process's CPU time (user + system) of one piece of work.
struct Timing: Codable, Sendable {
    var wallSeconds: Double
    var cpuSeconds: Double

    /// User and system seconds this process has used so far, or (`children`) the children it has
    /// waited for.
    static func cpuSeconds(children: Bool = false) -> Double {
        var usage = rusage()
        getrusage((children ? RUSAGE_CHILDREN : RUSAGE_SELF).rawValue, &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private static func seconds(_ time: timeval) -> Double {
        Double(time.tv_sec) + Double(time.tv_usec) / 1e6
    }
}
