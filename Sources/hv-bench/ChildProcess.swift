import Foundation
import Glibc

/// Runs a short-lived program to completion with posix_spawn and waitpid (never through a shell),
/// feeding it `input` on stdin.
///
/// When `capture` is false, stdout and stderr go to /dev/null, so a timed run measures the program
/// and not this process reading its output.
struct ChildProcess {
    var arguments: [String]

    struct Outcome {
        var status: Int32
        /// stdout and stderr together; empty unless captured.
        var output: String
    }

    func run(input: [UInt8] = [], capture: Bool = false) throws(BenchError) -> Outcome {
        precondition(arguments.first?.hasPrefix("/") == true, "give the program's absolute path")
        // The whole input is written before the child starts, so it must fit in the pipe.
        precondition(input.count < 60_000, "stdin input too large for one pipe buffer")
        var stdin: [Int32] = [-1, -1]
        var stdout: [Int32] = [-1, -1]
        guard pipe(&stdin) == 0, !capture || pipe(&stdout) == 0 else {
            throw Self.failure("pipe", errno)
        }
        for descriptor in stdin + stdout where descriptor >= 0 { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        input.withUnsafeBytes { bytes in _ = write(stdin[1], bytes.baseAddress, bytes.count) }
        close(stdin[1])

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin[0], 0)
        if capture {
            posix_spawn_file_actions_adddup2(&actions, stdout[1], 1)
            posix_spawn_file_actions_adddup2(&actions, stdout[1], 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        close(stdin[0])
        if capture { close(stdout[1]) }
        guard spawned == 0 else {
            if capture { close(stdout[0]) }
            throw Self.failure("cannot run \(arguments[0])", spawned)
        }

        var output: [UInt8] = []
        if capture {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(stdout[0], $0.baseAddress, $0.count) }
                if count > 0 {
                    output += buffer[0..<count]
                } else if count == 0 || errno != EINTR {
                    break
                }
            }
            close(stdout[0])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: exit, output: String(decoding: output, as: UTF8.self))
    }

    private static func failure(_ what: String, _ code: Int32) -> BenchError {
        BenchError(.measurementFailed, "\(what): \(String(cString: strerror(code)))")
    }
}
