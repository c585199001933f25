import Foundation
import Glibc
import HVPolkit
import HVSystem

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
    private let process: ChildProcess

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
        let arguments = ["--reuid=\(uid)", "--regid=\(entry.pointee.pw_gid)", "--clear-groups", "--", "/bin/sleep", "3600"]
        // In this process's group, so a Ctrl-C ends the sleep too.
        let command = Command(
            "/usr/bin/setpriv", arguments, environment: Command.currentEnvironment, standardOutput: .inherit,
            standardError: .inherit, ownProcessGroup: false
        )
        do {
            process = try ChildProcess(command)
        } catch {
            throw BenchError(.measurementFailed, "\(error) (setpriv is part of util-linux)")
        }
        let pid = process.pid
        // Until setpriv has dropped privileges and exec'd sleep, the pid still belongs to root.
        let deadline = Stopwatch.now() + 5_000_000_000
        while Stopwatch.now() < deadline {
            if Self.isSleeping(pid), let startTime = processStartTime(pid) {
                subject = PolkitSubject(pid: pid, uid: uid, startTime: startTime)
                return
            }
            usleep(5_000)
        }
        process.kill()
        throw BenchError(.measurementFailed, "setpriv did not start sleep as '\(user)' within 5 s")
    }

    func stop() {
        process.signal(SIGTERM)
        _ = try? process.wait()
    }

    private static func isSleeping(_ pid: Int32) -> Bool {
        let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
        return name.trimmingCharacters(in: .whitespacesAndNewlines) == "sleep"
    }
}
