import Foundation
import Glibc
import HVProtocol

/// Backup ids: the start time in UTC and 8 random hex digits, `2026-12-06T09-10-00Z-1f0c9a3e`,
/// so ids sort by time and name no machine.
enum BackupID {
    static func make(time: Date) -> String {
        var seconds = time_t(time.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let stamp =
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
            + "T\(two(parts.tm_hour))-\(two(parts.tm_min))-\(two(parts.tm_sec))Z"
        let random = UInt32.random(in: .min ... .max)
        let suffix = String(random, radix: 16)
        return stamp + "-" + String(repeating: "0", count: 8 - suffix.count) + suffix
    }

    /// Whether `text` has the form of an id (`BackupIdText`, the broker's check of ids callers
    /// send). Ids are file names in `backups/`; this keeps a caller's id from naming anything else.
    static func isValid(_ text: String) -> Bool {
        BackupIdText.isValid(text)
    }
}
