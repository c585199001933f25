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
@discardableResult
func run(_ arguments: [String], as user: String? = nil, environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> Output {
    let process = Foundation.Process()
    var argv = arguments
    if let user {
        argv = ["/usr/sbin/runuser", "-u", user, "--", "/usr/bin/env"] + environment.map { "\($0)=\($1)" } + arguments
    }
    process.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
    process.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
    if user == nil {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    // Drain both pipes while waiting, so a chatty child can't block on a full pipe.
    let outData = Locked(Data())
    let errData = Locked(Data())
    // Dedicated threads: Dispatch's global queues are the same small pool Swift concurrency
    // runs on, and the test itself is blocking one of its threads.
    let readers = DispatchSemaphore(value: 0)
    for (pipe, sink) in [(stdout, outData), (stderr, errData)] {
        Thread.detachNewThread {
            sink.set(pipe.fileHandleForReading.readDataToEndOfFile())
            readers.signal()
        }
    }
    while process.isRunning {
        if Date() > deadline {
            process.terminate()
            break
        }
        Thread.sleep(forTimeInterval: 0.02)
    }
    process.waitUntilExit()
    readers.wait()
    readers.wait()
    return Output(
        status: process.terminationStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
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

/// Polls until `condition` holds or the time is up.
func waitUntil(_ seconds: TimeInterval, every interval: TimeInterval = 1, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}

/// Runs a test body on its own thread with the shared stack. The bodies block (processes, sleeps),
/// and on Linux Dispatch's global queues, which Foundation.Process uses to reap children, share
/// the small pool Swift concurrency runs on; blocking that pool would starve them.
func onThread(_ body: @escaping @Sendable (Stack) throws -> Void) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body(try Stack.shared.get()) })
        }
    }
}
