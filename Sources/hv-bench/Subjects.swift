import Foundation
import Glibc
import HVPolkit

extension PolkitSubject {
    /// This process, named the way the broker names its peers.
    static func current() throws(BenchError) -> PolkitSubject {
        guard let startTime = processStartTime(getpid()) else {
            throw BenchError(.measurementFailed, "cannot read this process's start time from /proc/self/stat")
        }
        return PolkitSubject(pid: getpid(), uid: getuid(), startTime: startTime)
    }
}

/// Field 22 of /proc/PID/stat, counted after the last ')' since the command name may contain spaces.
func processStartTime(_ pid: Int32) -> UInt64? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 19 ? UInt64(fields[19]) : nil
}

/// A `sleep` running as an unprivileged user: a real process to ask polkit about. polkitd grants
/// uid 0 everything before it reads any rule, so only a non-root subject shows what evaluating
/// the rules costs.
final class UnprivilegedProcess {
    let user: String
    let subject: PolkitSubject
    private let process = Process()

    init(user: String) throws(BenchError) {
        guard let entry = getpwnam(user) else {
            throw BenchError(
                .measurementFailed, "no user named '\(user)'", fix: "pass --rules-subject USER, or '' to skip the row"
            )
        }
        let uid = entry.pointee.pw_uid
        guard uid != 0 else {
            throw BenchError(.measurementFailed, "--rules-subject must not be root: polkitd never runs rules for uid 0")
        }
        self.user = user
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = [
            "--reuid=\(uid)", "--regid=\(entry.pointee.pw_gid)", "--clear-groups", "--", "/bin/sleep", "3600",
        ]
        do {
            try process.run()
        } catch {
            throw BenchError(.measurementFailed, "cannot run /usr/bin/setpriv (util-linux): \(error)")
        }
        let pid = process.processIdentifier
        // Until setpriv has dropped privileges and exec'd sleep, the pid still belongs to root.
        let deadline = Stopwatch.now() + 5_000_000_000
        while Stopwatch.now() < deadline {
            if Self.isSleeping(pid), let startTime = processStartTime(pid) {
                subject = PolkitSubject(pid: pid, uid: uid, startTime: startTime)
                return
            }
            usleep(5_000)
        }
        process.terminate()
        throw BenchError(.measurementFailed, "setpriv did not start sleep as '\(user)' within 5 s")
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    private static func isSleeping(_ pid: Int32) -> Bool {
        let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
        return name.trimmingCharacters(in: .whitespacesAndNewlines) == "sleep"
    }
}
