import CHVShims
import Glibc

/// A spawned program with its standard output and error pipes.
struct ChildProcess {
    let pid: pid_t
    /// The read ends of the program's standard output and error (close-on-exec, owned by the caller).
    let stdout: Int32
    let stderr: Int32

    /// Spawns `executable` in its own process group with default signal handling, an empty signal
    /// mask, stdin from /dev/null, stdout and stderr to new pipes, and no other descriptors.
    static func spawn(_ executable: String, _ arguments: [String], environment: [String]) throws(ImageError) -> ChildProcess {
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard hv_pipe_cloexec(&outPipe) == 0 else { throw ioError("create a pipe") }
        guard hv_pipe_cloexec(&errPipe) == 0 else {
            outPipe.forEach { close($0) }
            throw ioError("create a pipe")
        }
        defer {
            close(outPipe[1])
            close(errPipe[1])
        }
        do throws(ImageError) {
            let pid = try launch(executable, arguments, environment: environment, stdout: outPipe[1], stderr: errPipe[1])
            return ChildProcess(pid: pid, stdout: outPipe[0], stderr: errPipe[0])
        } catch {
            close(outPipe[0])
            close(errPipe[0])
            throw error
        }
    }

    private static func launch(
        _ executable: String, _ arguments: [String], environment: [String], stdout: Int32, stderr: Int32
    ) throws(ImageError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        var failure = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if failure == 0 { failure = posix_spawn_file_actions_adddup2(&actions, stdout, 1) }
        if failure == 0 { failure = posix_spawn_file_actions_adddup2(&actions, stderr, 2) }
        // Whatever else this process has open (sockets, images, other uploads) stays here.
        if failure == 0 { failure = hv_spawn_close_from(&actions, 3) }
        var defaults = sigset_t()
        var mask = sigset_t()
        sigfillset(&defaults)
        sigemptyset(&mask)
        if failure == 0 { failure = posix_spawnattr_setsigdefault(&attributes, &defaults) }
        if failure == 0 { failure = posix_spawnattr_setsigmask(&attributes, &mask) }
        if failure == 0 { failure = posix_spawnattr_setpgroup(&attributes, 0) }
        let flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP
        if failure == 0 { failure = posix_spawnattr_setflags(&attributes, Int16(flags)) }
        guard failure == 0 else { throw ioError("prepare to run \(executable)", failure) }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw ImageError(.toolFailed, "cannot run \(executable): \(errnoText(spawned))")
        }
        return pid
    }

    /// The program's termination if it has ended (waiting for it when `blocking`), else nil.
    func reap(blocking: Bool) throws(ImageError) -> ProcessOutput.Termination? {
        var status: Int32 = 0
        let result = retryingInterrupts { waitpid(pid, &status, blocking ? 0 : WNOHANG) }
        if result == -1 {
            // ECHILD: something else reaped it (SIGCHLD ignored); its status is lost.
            throw ImageError(.toolFailed, "the exit status of process \(pid) was lost: \(errnoText())")
        }
        guard result == pid else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// Kills the program and everything in its process group, then reaps it.
    func kill() {
        _ = Glibc.kill(-pid, SIGKILL)
        _ = Glibc.kill(pid, SIGKILL)
        _ = try? reap(blocking: true)
    }
}
