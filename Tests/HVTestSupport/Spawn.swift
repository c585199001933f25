import CHVShims
import Foundation

/// What a program that ran to completion left behind.
public struct Output: CustomStringConvertible, Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// A test could not set up what it needs (a program would not start, a server did not come up).
public struct SetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Runs a program with arguments (never through a shell) to completion, optionally as another user,
/// and returns its exit status and output. A relative program name is looked up on PATH.
///
/// `input` becomes the program's standard input (otherwise /dev/null). The program is killed after
/// `timeout` seconds. Spawned with posix_spawn and reaped with waitpid here, not with
/// Foundation.Process: its single reaping thread misses children in a process that also has
/// long-lived ones.
@discardableResult
public func run(
    _ arguments: [String], as user: String? = nil, environment: [String: String] = [:], input: String? = nil,
    timeout: TimeInterval = 120
) throws -> Output {
    var argv = arguments
    if let user {
        argv = ["/usr/sbin/runuser", "-u", user, "--", "/usr/bin/env"] + environment.map { "\($0)=\($1)" } + arguments
    } else if !arguments[0].hasPrefix("/") {
        argv = ["/usr/bin/env"] + arguments
    }
    var variables = ProcessInfo.processInfo.environment
    if user == nil { variables.merge(environment) { $1 } }

    var stdin = "/dev/null"
    if let input {
        stdin = NSTemporaryDirectory() + "hv-input-\(UUID().uuidString)"
        try input.write(toFile: stdin, atomically: true, encoding: .utf8)
    }
    defer { if input != nil { try? FileManager.default.removeItem(atPath: stdin) } }

    var outPipe: [Int32] = [0, 0]
    var errPipe: [Int32] = [0, 0]
    // Close-on-exec from creation: a child another thread spawns meanwhile must not inherit them.
    guard hv_pipe_cloexec(&outPipe) == 0, hv_pipe_cloexec(&errPipe) == 0 else {
        throw SetupError("pipe: \(String(cString: strerror(errno)))")
    }
    let pid: pid_t
    do {
        pid = try launch(argv, environment: variables) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
            posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        }
    } catch {
        (outPipe + errPipe).forEach { close($0) }
        throw error
    }
    close(outPipe[1])
    close(errPipe[1])

    // Drain both pipes on their own threads, so a chatty child can't block on a full pipe.
    let outData = Locked(Data())
    let errData = Locked(Data())
    let readers = DispatchSemaphore(value: 0)
    for (descriptor, sink) in [(outPipe[0], outData), (errPipe[0], errData)] {
        Thread.detachNewThread {
            sink.set(FileHandle(fileDescriptor: descriptor, closeOnDealloc: true).readDataToEndOfFile())
            readers.signal()
        }
    }
    let status = reap(pid, timeout: timeout)
    readers.wait()
    readers.wait()
    return Output(
        status: status, stdout: String(decoding: outData.get(), as: UTF8.self),
        stderr: String(decoding: errData.get(), as: UTF8.self)
    )
}

/// Starts a long-lived process (a server) with stdin closed, stdout discarded and stderr appended
/// to `log`; it is not waited for. Spawned directly rather than with Foundation.Process, whose
/// single reaping thread would block waiting on a long-lived child.
public func spawn(_ arguments: [String], log: String) throws {
    _ = try launch(arguments, environment: ProcessInfo.processInfo.environment) { actions in
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    }
}

/// A long-lived child process (a test server) with stdout and stderr appended to `output`, killed
/// and reaped by `stop()` or when it is released. A relative program name is looked up on PATH.
public final class Child {
    public let pid: pid_t
    private var reaped = false

    public init(_ arguments: [String], output: String) throws {
        let argv = arguments[0].hasPrefix("/") ? arguments : ["/usr/bin/env"] + arguments
        pid = try launch(argv, environment: ProcessInfo.processInfo.environment) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
    }

    /// Waits for exit (at most `timeout` seconds, then kills); returns the exit status.
    public func wait(timeout: TimeInterval = 60) -> Int32 {
        defer { reaped = true }
        return reap(pid, timeout: timeout)
    }

    /// Kills and reaps the child.
    public func stop() {
        guard !reaped else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        reaped = true
    }

    deinit { stop() }
}

/// Copies a file with `install(1)` in a child process, so no descriptor open for writing on
/// `destination` exists in this process for a concurrently spawned child to inherit (which would
/// make executing the copy fail with "Text file busy").
public func installFile(_ source: String, _ destination: String, mode: Int = 0o644) throws {
    let output = try run(["/usr/bin/install", "-m", String(mode, radix: 8), source, destination])
    guard output.status == 0 else { throw SetupError("cannot install \(destination): \(output.stderr)") }
}

/// Polls until `condition` holds or the time is up.
public func waitUntil(
    _ seconds: TimeInterval, every interval: TimeInterval = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}

/// A value shared between threads.
public final class Locked<Value: Sendable>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    public init(_ value: Value) { self.value = value }
    public func get() -> Value { lock.withLock { value } }
    public func set(_ newValue: Value) { lock.withLock { value = newValue } }
}

/// posix_spawn with the file actions `configure` adds; returns the child's pid.
private func launch(
    _ argv: [String], environment: [String: String], configure: (inout posix_spawn_file_actions_t) -> Void
) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    configure(&actions)
    // Tests run in parallel: whatever another thread has open at this moment (a pipe, a binary being
    // copied) must not leak into the child, or a pipe never reaches EOF and an exec gets ETXTBSY.
    _ = hv_spawn_close_from(&actions, 3)
    let cArguments = argv.map { strdup($0) } + [nil]
    let cEnvironment = environment.map { strdup("\($0)=\($1)") } + [nil]
    defer {
        cArguments.forEach { free($0) }
        cEnvironment.forEach { free($0) }
    }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, cEnvironment)
    guard spawned == 0 else { throw SetupError("cannot run \(argv[0]): \(String(cString: strerror(spawned)))") }
    return pid
}

/// Waits for `pid` to exit, killing it after `timeout` seconds; returns its exit status, or 128 plus
/// the signal that ended it.
private func reap(_ pid: pid_t, timeout: TimeInterval) -> Int32 {
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(timeout)
    while waitpid(pid, &status, WNOHANG) == 0 {
        if Date() > deadline {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
            break
        }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// `waitUntil` for async code: polls with `Task.sleep`, so it never holds one of the few
/// cooperative threads the code under test needs to make the condition come true.
public func eventually(_ seconds: TimeInterval, every interval: Duration = .milliseconds(50), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return condition()
}
