import Foundation

/// What `hv-bench pressure` measured.
struct PressureReport: Codable, Sendable, BenchReport {
    var cpus: Int
    /// /proc/loadavg when the run started: other work on the machine skews every figure.
    var loadAverage: String
    var user: String
    var operators: LoadResult
    var attribution: Attribution
    var longJobs: LongJobLatency?
    /// `--audit-records`: the broker over long audit histories, measured first.
    var audit: AuditReport?

    var text: String {
        let run = operators
        var lines = [
            "hv-bench pressure: \(cpus) CPUs; load average \(loadAverage) at start",
            "",
            "\(run.clients) operators (uid of \(user)), Vm.List for \(Int(run.seconds)) s: \(run.requests) requests "
                + "(\(Self.format(run.requestsPerSecond))/s), median \(Self.format(run.medianMilliseconds)) ms, "
                + "p99 \(Self.format(run.p99Milliseconds)) ms, longest \(Self.format(run.maxMilliseconds)) ms; "
                + "\(run.slow.count) slower than 1 s (goal: none)",
        ]
        if run.errors > 0 { lines.append("  \(run.errors) errors, the first: \(run.firstError ?? "")") }
        for stall in Self.stalls(run.slow) {
            lines.append(
                "  stall ending \(Self.clock(stall.end)): \(stall.calls) requests, the longest \(Self.format(stall.longest)) s; "
                    + attribution.cause(ofStallEndingAt: stall.end)
            )
        }
        lines.append("  " + attribution.summary)
        if let longJobs {
            lines.append("")
            lines.append(longJobs.text)
        }
        if let audit { lines = [audit.text, ""] + lines }
        return lines.joined(separator: "\n")
    }

    var json: String { encodedJSON }

    /// Slow requests grouped by when they ended: requests held by the same stall end together.
    static func stalls(_ slow: [LoadResult.SlowCall]) -> [(end: Double, calls: Int, longest: Double)] {
        var groups: [(end: Double, calls: Int, longest: Double)] = []
        for call in slow.sorted(by: { $0.endedAt < $1.endedAt }) {
            if let last = groups.last, call.endedAt - last.end < 2 {
                groups[groups.count - 1] = (call.endedAt, last.calls + 1, max(last.longest, call.seconds))
            } else {
                groups.append((call.endedAt, 1, call.seconds))
            }
        }
        return groups
    }

    static func clock(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(.iso8601.time(includingFractionalSeconds: false))
    }

    static func format(_ value: Double) -> String {
        String(format: value < 100 ? "%.1f" : "%.0f", value)
    }
}

/// Whom a stall is owed to: polkitd's own log line for the duktape lost wake-up, and the broker's
/// warnings about polkit checks slower than 5 s.
struct Attribution: Codable, Sendable {
    /// polkitd's "Terminating runaway script after 15 seconds" lines written during the run; nil
    /// when polkitd's log could not be read.
    var runawayScripts: [String]?
    /// The broker's "polkitd took …" warnings.
    var slowChecks: [SlowCheck]

    var summary: String {
        let runaway = runawayScripts.map { "polkitd logged 'Terminating runaway script' \($0.count) times" }
            ?? "polkitd's log could not be read (pass --syslog FILE)"
        return "\(runaway); the broker logged \(slowChecks.count) polkit checks slower than 5 s"
    }

    /// polkitd's, when the broker logged a slow polkit check that ended with the stall; the
    /// lost wake-up when that check took the 15 s of polkitd's runaway-script timeout.
    func cause(ofStallEndingAt end: Double) -> String {
        let checks = slowChecks.filter { abs($0.endedAt - end) < 3 }
        guard let longest = checks.map(\.seconds).max() else {
            return "not polkitd: no polkit check was slow then (CPU contention? compare the load average)"
        }
        if longest >= 14.5, runawayScripts?.isEmpty != true {
            return "polkitd: its lost wake-up (a \(PressureReport.format(longest)) s check, 'Terminating runaway script' in its log)"
        }
        return "polkitd: a \(PressureReport.format(longest)) s check"
    }
}

/// One of the broker's warnings about a slow polkit check, from its log.
struct SlowCheck: Codable, Sendable {
    /// Seconds since 1970 when the warning was logged, that is when the check ended.
    var endedAt: Double
    var seconds: Double

    /// The warnings in the broker's log: `2026-12-06T01:12:32+0000 warning hv-broker: … seconds=15 …
    /// polkitd took 15.0… seconds …`.
    static func read(brokerLog: String) -> [SlowCheck] {
        let text = (try? String(contentsOfFile: brokerLog, encoding: .utf8)) ?? ""
        let dates = ISO8601DateFormatter()
        return text.split(separator: "\n").filter { $0.contains("polkitd took") }.compactMap { line in
            guard let stamp = line.split(separator: " ").first, let date = dates.date(from: String(stamp)),
                let seconds = line.split(separator: " ").first(where: { $0.hasPrefix("seconds=") }).flatMap({ Double($0.dropFirst(8)) })
            else { return nil }
            return SlowCheck(endedAt: date.timeIntervalSince1970, seconds: seconds)
        }
    }
}

/// A viewer's Vm.List, alone and beside long jobs.
struct LongJobLatency: Codable, Sendable {
    var jobs: Int
    var imageMiB: Int
    var idle: LoadResult
    var loaded: LoadResult
    var jobsCompleted: Int

    /// Median beside the jobs over median alone (goal: at most 2).
    var ratio: Double { loaded.medianMilliseconds / max(idle.medianMilliseconds, 0.001) }

    var text: String {
        let format = PressureReport.format
        return [
            "viewer's Vm.List, idle: median \(format(idle.medianMilliseconds)) ms, p99 \(format(idle.p99Milliseconds)) ms, "
                + "longest \(format(idle.maxMilliseconds)) ms (\(idle.requests) requests)",
            "viewer's Vm.List beside \(jobs) Iso.Verify of \(imageMiB) MiB: median \(format(loaded.medianMilliseconds)) ms, "
                + "p99 \(format(loaded.p99Milliseconds)) ms, longest \(format(loaded.maxMilliseconds)) ms "
                + "(\(loaded.requests) requests; \(jobsCompleted) verifications completed)",
            "ratio of medians \(String(format: "%.2f", ratio)) (goal: at most 2)",
        ].joined(separator: "\n")
    }
}

/// polkitd's messages: a syslog file, or the journal.
struct PolkitMessages {
    let path: String?
    private let startOffset: UInt64?

    /// `path`, or the first of the usual syslog files that exists; nil means the journal. Notes
    /// where the file ends now, so only lines written from here on count.
    init(path: String?) {
        let chosen = path ?? ["/var/log/syslog", "/var/log/messages"].first { FileManager.default.fileExists(atPath: $0) }
        self.path = chosen
        startOffset = chosen.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? UInt64 }
    }

    /// "Terminating runaway script" lines since the start (or since `since`, in the journal).
    func runawayScripts(since: Date) -> [String]? {
        let text: String
        if let path {
            guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
            defer { try? handle.close() }
            try? handle.seek(toOffset: startOffset ?? 0)
            text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        } else {
            let arguments = ["/usr/bin/journalctl", "--no-pager", "-o", "short-iso", "--since", "@\(Int(since.timeIntervalSince1970))"]
            guard let outcome = try? CapturedRun(arguments), outcome.status == 0 else {
                return nil
            }
            text = outcome.output
        }
        return text.split(separator: "\n").filter { $0.contains("Terminating runaway script") }.map(String.init)
    }
}
