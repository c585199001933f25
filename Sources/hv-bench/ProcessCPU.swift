import Foundation
import Glibc

/// CPU time (user + system) that named processes have used, read from /proc/PID/stat.
struct ProcessCPU {
    /// Process name (as the report shows it) and pid.
    var processes: [(name: String, pid: Int32)]

    /// The broker, this process (the clients) and the daemons every request passes through.
    static func requestPath(brokerPid: Int32) -> ProcessCPU {
        var processes = [("hv-broker", brokerPid), ("hv-bench clients", getpid())]
        for daemon in ["polkitd", "dbus-daemon"] {
            if let pid = Self.pid(named: daemon) { processes.append((daemon, pid)) }
        }
        return ProcessCPU(processes: processes)
    }

    /// Microseconds of CPU each process has used so far.
    func sample() -> [String: Double] {
        var result: [String: Double] = [:]
        for (name, pid) in processes {
            if let seconds = Self.seconds(of: pid) { result[name] = seconds * 1e6 }
        }
        return result
    }

    /// Seconds of CPU (user + system) process `pid` has used so far; nil when it is gone.
    static func seconds(of pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // utime and stime are fields 14 and 15; fields[0] after the ')' is field 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The oldest process whose command name is `name`: the system instance of a daemon.
    static func pid(named name: String) -> Int32? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).sorted().first { pid in
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
            return comm.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }
    }
}
