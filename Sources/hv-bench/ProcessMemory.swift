import Foundation

/// A process's memory as /proc/PID/status gives it: resident now (VmRSS) and at most so far (VmHWM).
struct ProcessMemory: Codable, Sendable, Hashable {
    var residentKiB: Int
    var peakResidentKiB: Int

    /// Nil when the process is gone or its status can't be read.
    static func read(pid: Int32) -> ProcessMemory? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        var fields: [String: Int] = [:]
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") || line.hasPrefix("VmHWM:") {
            let parts = line.split { $0 == " " || $0 == "\t" }
            if parts.count >= 2, let kib = Int(parts[1]) { fields[String(parts[0].dropLast())] = kib }
        }
        guard let resident = fields["VmRSS"], let peak = fields["VmHWM"] else { return nil }
        return ProcessMemory(residentKiB: resident, peakResidentKiB: peak)
    }

    /// "41.2 / 43.0 MiB": resident now and at most.
    var text: String {
        String(format: "%.1f / %.1f MiB", Double(residentKiB) / 1024, Double(peakResidentKiB) / 1024)
    }
}
