import CHVShims
import Glibc
import Synchronization

/// A program started with `posix_spawn`, the one way the project starts programs.
///
/// The program gets exactly what its `Command` says: its absolute path and argument array, no
/// shell; its whole environment; standard input, output and error as asked, and no other
/// descriptor of this process (everything from 3 up is closed in the child, whatever another
/// thread has open); default signal handling and an empty signal mask; and, unless asked
/// otherwise, a process group of its own, which `signal` and `kill` reach as a whole.
///
/// It is reaped only by `wait`, `poll`, `finish` or `kill`, and only once; until then its pid
/// cannot belong to another process, so a signal sent through this object always reaches it.
/// Letting go of the object neither stops nor reaps the program.
public final class ChildProcess: Sendable {
    /// How a program ended.
    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        /// It exited with this status.
        case exited(Int32)
        /// A signal of this number ended it.
        case signaled(Int32)

        /// From a `waitpid` status.
        init(waitStatus status: Int32) {
            let signal = status & 0x7f
            self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
        }

        /// The number a shell reports: the exit status, or 128 plus the signal.
        public var status: Int32 {
            switch self {
            case .exited(let status): status
            case .signaled(let signal): 128 + signal
            }
        }

        public var description: String {
            switch self {
            case .exited(let status): "exit status \(status)"
            case .signaled(let signal): "signal \(signal)"
            }
        }
    }

    public let pid: pid_t
    /// The program's absolute path.
    public let executable: String
    let ownProcessGroup: Bool
    /// The read ends of the pipes of a captured standard output and error.
    let standardOutput: Descriptor?
    let standardError: Descriptor?
    /// Readable once the program has ended (a pidfd); nil on a kernel without pidfd_open.
    let exitNotice: Descriptor?
    /// How the program ended, once it has been reaped.
    private let termination = Mutex<Termination?>(nil)

    /// Starts `command`.
    public init(_ command: Command) throws(SystemError) {
        let started = try Spawn.start(command)
        pid = started.pid
        executable = command.executable
        ownProcessGroup = command.ownProcessGroup
        standardOutput = started.standardOutput
        standardError = started.standardError
        let notice = hv_pidfd_open(started.pid)
        exitNotice = notice >= 0 ? Descriptor(notice, name: "the exit of \(command.executable)") : nil
    }

    /// How the program ended if it has, reaping it; nil while it runs. Never waits.
    public func poll() throws(SystemError) -> Termination? {
        try termination.withLock { (termination) throws(SystemError) -> Termination? in
            if let termination { return termination }
            var status: Int32 = 0
            let reaped = try systemCall("wait for process \(pid)") { waitpid(pid, &status, WNOHANG) }
            guard reaped == pid else { return nil }
            termination = Termination(waitStatus: status)
            return termination
        }
    }

    /// Waits until the program ends and reaps it; returns how it ended.
    public func wait() throws(SystemError) -> Termination {
        if let ended = try poll() { return ended }
        // Wait without reaping (WNOWAIT), so the pid stays this program's until `poll` reaps it
        // under the lock that `signal` takes.
        var info = siginfo_t()
        do throws(SystemError) {
            try systemCall("wait for process \(pid)") { waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) }
        } catch where error.code == ECHILD {
            // Another thread reaped it meanwhile.
        }
        guard let ended = try poll() else {
            throw SystemError("learn how process \(pid) ended", code: ECHILD)
        }
        return ended
    }

    /// Sends `signal` to the program (and to its process group when it leads one), unless it has
    /// been reaped already.
    public func signal(_ signal: Int32) {
        termination.withLock { termination in
            guard termination == nil else { return }
            if ownProcessGroup { _ = Glibc.kill(-pid, signal) }
            _ = Glibc.kill(pid, signal)
        }
    }

    /// Kills the program (and its process group when it leads one) with SIGKILL and reaps it.
    @discardableResult
    public func kill() -> Termination? {
        signal(SIGKILL)
        return try? wait()
    }
}
