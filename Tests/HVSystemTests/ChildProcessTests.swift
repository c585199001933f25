import Foundation
import Glibc
import HVSystem
import Synchronization
import Testing

@Suite struct ChildProcessTests {
    static let environment = ["PATH=/usr/bin:/bin", "LC_ALL=C"]

    func run(
        _ executable: String, _ arguments: [String], input: Command.Input = .null, timeout: Duration? = nil,
        outputLimit: Int = 1 << 20
    ) throws(SystemError) -> ChildProcess.Outcome {
        let command = Command(
            executable, arguments, environment: Self.environment, standardInput: input, standardOutput: .capture,
            standardError: .capture
        )
        return try ChildProcess.run(command, timeout: timeout, outputLimit: outputLimit)
    }

    @Test func reportsTheExitStatusAndTheOutput() throws {
        let echo = try run("/bin/echo", ["a b", "c"])
        #expect(echo.termination == .exited(0))
        #expect(echo.standardOutput.bytes == Array("a b c\n".utf8))
        let failing = try run("/bin/ls", ["/nonexistent-hv-system-test"])
        #expect(failing.termination == .exited(2))
        #expect(failing.termination.status == 2)
        #expect(String(decoding: failing.standardError.bytes, as: UTF8.self).contains("No such file or directory"))
        #expect(!failing.timedOut)
    }

    @Test func aSignalIsReported() throws {
        // perl-base is essential on Debian: a program that kills itself with SIGKILL.
        let outcome = try run("/usr/bin/perl", ["-e", "kill 9, $$"])
        #expect(outcome.termination == .signaled(SIGKILL))
        #expect(outcome.termination.status == 137)
    }

    @Test func argumentsAreNeverInterpretedByAShell() throws {
        let outcome = try run("/bin/echo", ["$(id)", ";", "`id`", "*"])
        #expect(outcome.standardOutput.bytes == Array("$(id) ; `id` *\n".utf8))
    }

    @Test func theEnvironmentIsExactlyTheOneGiven() throws {
        let outcome = try run("/usr/bin/env", [])
        let lines = String(decoding: outcome.standardOutput.bytes, as: UTF8.self).split(separator: "\n")
        #expect(lines.sorted() == ["LC_ALL=C", "PATH=/usr/bin:/bin"])
    }

    /// Output beyond the limit is read and dropped: the program never blocks on a full pipe.
    @Test func capturedOutputIsBounded() throws {
        let outcome = try run("/usr/bin/dd", ["if=/dev/zero", "bs=1M", "count=2"], outputLimit: 4096)
        #expect(outcome.termination == .exited(0))
        #expect(outcome.standardOutput.bytes.count == 4096)
        #expect(outcome.standardOutput.truncated)
        #expect(String(decoding: outcome.standardError.bytes, as: UTF8.self).contains("2097152 bytes"))
        #expect(!outcome.standardError.truncated)
    }

    @Test func standardInputIsDevNullOrTheBytesGiven() throws {
        let null = try run("/usr/bin/readlink", ["/proc/self/fd/0"])
        #expect(null.standardOutput.bytes == Array("/dev/null\n".utf8))
        // More than a pipe holds, so nothing could have written it ahead of the program.
        let input = (0..<300_000).map { UInt8(truncatingIfNeeded: $0) }
        let copied = try run("/bin/cat", [], input: .bytes(input), outputLimit: 1 << 20)
        #expect(copied.standardOutput.bytes == input)
    }

    /// A descriptor this process holds without close-on-exec does not reach the program.
    @Test func noDescriptorLeaksIntoTheChild() throws {
        let leaked = open("/dev/null", O_RDONLY)
        #expect(leaked >= 0)
        defer { close(leaked) }
        let outcome = try run("/bin/ls", ["/proc/self/fd"])
        // 0, 1 and 2, plus the descriptor ls itself opened to read the directory.
        let names = String(decoding: outcome.standardOutput.bytes, as: UTF8.self).split(separator: "\n")
        #expect(names.sorted() == ["0", "1", "2", "3"])
    }

    @Test func aMissingProgramFailsWithItsPathAndErrno() throws {
        let error = #expect(throws: SystemError.self) { try run("/nonexistent/program", []) }
        #expect(error?.code == ENOENT)
        #expect(error?.description == "cannot run /nonexistent/program: No such file or directory")
        let relative = #expect(throws: SystemError.self) { try run("ls", []) }
        #expect(relative?.code == EINVAL)
    }

    /// At its time limit the program is killed with everything in its process group.
    @Test func aProgramPastItsTimeLimitIsKilledWithItsGroup() throws {
        let started = ContinuousClock.now
        let outcome = try run("/bin/sh", ["-c", "/bin/sleep 30 & /bin/sleep 30"], timeout: .milliseconds(200))
        #expect(outcome.timedOut)
        #expect(outcome.termination == .signaled(SIGKILL))
        // The background sleep held the pipes too; killed with the group, it let go of them.
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    /// Signals that interrupt the waiting thread do not end the wait early or lose the status.
    @Test func waitingSurvivesInterruptingSignals() throws {
        let child = try ChildProcess(Command("/bin/sleep", ["0.5"], environment: Self.environment))
        let interrupter = Interrupter(target: pthread_self())
        let termination = try child.wait()
        let interruptions = interrupter.stop()
        #expect(termination == .exited(0))
        #expect(interruptions > 1, "the waiting thread was interrupted while it waited")
        #expect(try child.wait() == .exited(0), "waiting again returns the same status")
    }

    /// Signalling a program that has been reaped does nothing: its pid may be someone else's now.
    @Test func aReapedProgramIsNotSignalled() throws {
        let child = try ChildProcess(Command("/bin/true", [], environment: Self.environment))
        #expect(try child.wait() == .exited(0))
        child.signal(SIGKILL)
        #expect(child.kill() == .exited(0))
    }
}

/// Sends SIGUSR1 to a thread every 20 ms until stopped. The signal's handler does nothing and is
/// installed without SA_RESTART, so a blocking call in that thread fails with EINTR each time.
final class Interrupter: Sendable {
    private let sent = Atomic(0)
    private let stopped = Atomic(false)
    private let finished = Atomic(false)

    init(target: pthread_t) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        action.sa_flags = 0
        sigemptyset(&action.sa_mask)
        sigaction(SIGUSR1, &action, nil)
        Thread.detachNewThread { [self] in
            while !stopped.load(ordering: .acquiring) {
                if pthread_kill(target, SIGUSR1) == 0 { sent.add(1, ordering: .relaxed) }
                usleep(20_000)
            }
            finished.store(true, ordering: .releasing)
        }
    }

    /// Stops sending, once no further signal can arrive; returns how many were sent.
    func stop() -> Int {
        stopped.store(true, ordering: .releasing)
        while !finished.load(ordering: .acquiring) { usleep(1_000) }
        return sent.load(ordering: .relaxed)
    }
}
