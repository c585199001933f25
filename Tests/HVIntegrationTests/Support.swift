import Foundation
import Testing

/// Integration tests need root, polkitd, libvirtd and the binaries built by `swift build`;
/// scripts/test.sh provides all of that and sets HV_INTEGRATION=1.
enum Environment {
    static let enabled: Bool = {
        if ProcessInfo.processInfo.environment["HV_INTEGRATION"] != "1" {
            print("skipping integration tests: set HV_INTEGRATION=1 (scripts/test.sh does) to run them as root")
            return false
        }
        if getuid() != 0 {
            print("skipping integration tests: they must run as root (they create users and start the broker)")
            return false
        }
        return true
    }()

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Where `swift build` put the executables.
    static var buildDirectory: String {
        ProcessInfo.processInfo.environment["HV_BIN_DIR"] ?? root + "/.build/debug"
    }
}

struct Output: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// Runs a program with arguments (never through a shell), optionally as another user.
///
/// Spawned with posix_spawn and reaped with waitpid here, not with Foundation.Process: its single
/// reaping thread misses children in a process that also has long-lived ones (the broker).
@discardableResult
func run(_ arguments: [String], as user: String? = nil, environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> Output {
    var argv = arguments
    if let user {
        argv = ["/usr/sbin/runuser", "-u", user, "--", "/usr/bin/env"] + environment.map { "\($0)=\($1)" } + arguments
    } else if !arguments[0].hasPrefix("/") {
        argv = ["/usr/bin/env"] + arguments
    }
    var variables = ProcessInfo.processInfo.environment
    if user == nil { variables.merge(environment) { $1 } }

    var outPipe: [Int32] = [0, 0]
    var errPipe: [Int32] = [0, 0]
    guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
        throw SetupError("pipe: \(String(cString: strerror(errno)))")
    }
    // Only the child's dup2'd copies may survive exec; tests spawn one process at a time.
    for descriptor in outPipe + errPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

    let cArguments = argv.map { strdup($0) } + [nil]
    let cEnvironment = variables.map { strdup("\($0)=\($1)") } + [nil]
    defer {
        cArguments.forEach { free($0) }
        cEnvironment.forEach { free($0) }
    }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, cEnvironment)
    close(outPipe[1])
    close(errPipe[1])
    guard spawned == 0 else {
        close(outPipe[0])
        close(errPipe[0])
        throw SetupError("cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
    }

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
    readers.wait()
    readers.wait()
    let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return Output(
        status: exitStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
        stderr: String(decoding: errData.get(), as: UTF8.self)
    )
}

final class Locked<Value: Sendable>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}

/// Starts a long-lived process (a server) with stdin closed, stdout discarded and stderr appended
/// to `log`; it is not waited for. Spawned directly rather than with Foundation.Process, whose
/// single reaping thread would block waiting on a long-lived child.
func spawn(_ arguments: [String], log: String) throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    var argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
    guard status == 0 else { throw SetupError("cannot start \(arguments[0]): \(String(cString: strerror(status)))") }
}

/// Polls until `condition` holds or the time is up.
func waitUntil(_ seconds: TimeInterval, every interval: TimeInterval = 1, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}

/// Runs a test body with the shared stack, set up on first use.
func withStack(_ body: (Stack) throws -> Void) throws {
    try body(try Stack.shared.get())
}
