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
        if run.errors > 0 { lines.append("  \(run.errors) clients failed: \(run.firstError ?? "")") }
        for stall in Self.stalls(run.slow) {
            lines.append("  stall ending \(Self.clock(stall.end)): \(stall.calls) requests, the longest \(Self.format(stall.longest)) s")
        }
        lines.append("  " + attribution.verdict(stalls: !run.slow.isEmpty))
        if let longJobs {
            lines.append("")
            lines.append(longJobs.text)
        }
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
    var slowChecks: [String]

    func verdict(stalls: Bool) -> String {
        let runaway = runawayScripts.map { "polkitd logged 'Terminating runaway script' \($0.count) times" }
            ?? "polkitd's log could not be read (pass --syslog FILE)"
        let summary = "\(runaway); the broker logged \(slowChecks.count) polkit checks slower than 5 s"
        guard stalls else { return "no stall; " + summary }
        if (runawayScripts?.isEmpty == false) || !slowChecks.isEmpty {
            return "attributed to polkitd: " + summary
                + " (polkit 121/122 with duktape loses the rules thread's wake-up and waits out its 15 s timeout; "
                + "fixed in polkit 123)"
        }
        return "not attributed to polkitd: " + summary + "; look at the broker's log and the audit durations"
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
            guard let outcome = try? ChildProcess(arguments: arguments).run(capture: true), outcome.status == 0 else {
                return nil
            }
            text = outcome.output
        }
        return text.split(separator: "\n").filter { $0.contains("Terminating runaway script") }.map(String.init)
    }
}
