import Foundation
import HVSystem

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
/// and returns its exit status (128 plus the signal that ended it) and output. A relative program
/// name is looked up on PATH.
///
/// `input` becomes the program's standard input (otherwise /dev/null). The program is killed after
/// `timeout` seconds.
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
    let command = Command(
        argv[0], Array(argv.dropFirst()), environment: variables.map { "\($0)=\($1)" },
        standardInput: input.map { .bytes(Array($0.utf8)) } ?? .null, standardOutput: .capture, standardError: .capture,
        ownProcessGroup: false
    )
    let outcome = try ChildProcess.run(command, timeout: .seconds(timeout), outputLimit: 256 << 20)
    return Output(
        status: outcome.termination.status, stdout: String(decoding: outcome.standardOutput.bytes, as: UTF8.self),
        stderr: String(decoding: outcome.standardError.bytes, as: UTF8.self)
    )
}

/// Starts a long-lived process (a server) with stdin closed, stdout discarded and stderr appended
/// to `log`; it is not waited for.
public func spawn(_ arguments: [String], log: String) throws {
    _ = try ChildProcess(Command(
        arguments[0], Array(arguments.dropFirst()), environment: Command.currentEnvironment,
        standardError: .file(log), ownProcessGroup: false
    ))
}

/// A long-lived child process (a test server) with stdout and stderr appended to `output`, killed
/// and reaped by `stop()` or when it is released. A relative program name is looked up on PATH.
public final class Child {
    private let process: ChildProcess
    public var pid: pid_t { process.pid }

    public init(_ arguments: [String], output: String) throws {
        let argv = arguments[0].hasPrefix("/") ? arguments : ["/usr/bin/env"] + arguments
        process = try ChildProcess(Command(
            argv[0], Array(argv.dropFirst()), environment: Command.currentEnvironment,
            standardOutput: .file(output, mode: 0o600), standardError: .standardOutput, ownProcessGroup: false
        ))
    }

    /// Waits for exit (at most `timeout` seconds, then kills); returns the exit status.
    public func wait(timeout: TimeInterval = 60) -> Int32 {
        let outcome = try? process.finish(timeout: .seconds(timeout))
        return outcome?.termination.status ?? -1
    }

    /// Kills and reaps the child.
    public func stop() {
        process.kill()
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
