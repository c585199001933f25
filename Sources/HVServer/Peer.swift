import Foundation

/// Who is on the other end of a connection, as the kernel vouches for it (SO_PEERCRED), plus the
/// process start time that pins the pid to one process.
public struct Peer: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    public var startTime: UInt64
    public var executable: String

    public init(uid: UInt32, gid: UInt32, pid: Int32, startTime: UInt64, executable: String) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.startTime = startTime
        self.executable = executable
    }

    /// Completes kernel credentials with what /proc says about the process.
    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.init(
            uid: uid, gid: gid, pid: pid, startTime: Self.startTime(of: pid) ?? 0,
            executable: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? "?"
        )
    }

    /// Field 22 of /proc/PID/stat: the start time in clock ticks since boot.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return parseStartTime(stat: stat)
    }

    /// The command name (field 2) may contain spaces and parentheses, so fields are counted after
    /// its last ')'.
    public static func parseStartTime(stat: String) -> UInt64? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }
}
