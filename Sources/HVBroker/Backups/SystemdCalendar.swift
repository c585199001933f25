import Foundation
import HVImages
import HVProtocol

/// Backup jobs' schedules in systemd's calendar syntax (`*-*-* 02:00`, `Mon..Fri 22:30`), read by
/// systemd itself: `systemd-analyze calendar` checks a schedule and tells its next time, so a
/// schedule means here exactly what it means to the job's timer.
public struct SystemdCalendar: Sendable {
    public var runner: ProcessRunner

    public init(runner: ProcessRunner = ProcessRunner()) {
        self.runner = runner
    }

    /// When the schedule next elapses after `base`; nil when it never does again. An invalid
    /// schedule, or no `systemd-analyze`, is an error saying which.
    public func nextElapse(_ schedule: String, after base: Date) throws(HVError) -> Date? {
        let output: ProcessOutput
        do {
            output = try runner.run(
                .systemdAnalyze, ["calendar", "--iterations=1", "--base-time=@\(Int64(base.timeIntervalSince1970))", "--", schedule],
                timeout: .seconds(10), outputLimit: 64 << 10
            )
        } catch {
            throw error.hvError
        }
        guard output.succeeded else {
            let message = output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw .invalidParameter(
                "schedule", "'\(schedule)' is not a systemd calendar schedule: \(message)",
                fix: "write it as systemd.time(7) describes, e.g. '*-*-* 02:00' or 'Sun 03:00'; check it with systemd-analyze calendar"
            )
        }
        return Self.nextElapse(in: output.stdoutText)
    }

    /// Checks the schedule; the error says why it is refused.
    public func check(_ schedule: String) throws(HVError) {
        _ = try nextElapse(schedule, after: Date())
    }

    /// The first time `systemd-analyze calendar` prints: the `(in UTC)` line when the host's time
    /// zone is another, else the `Next elapse` line, which is then in UTC.
    public static func nextElapse(in output: String) -> Date? {
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let line = lines.first { $0.hasPrefix("(in UTC):") } ?? lines.first { $0.hasPrefix("Next elapse:") }
        guard let line, let colon = line.firstIndex(of: ":") else { return nil }
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard value.hasSuffix(" UTC") else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.date(from: value)
    }
}
