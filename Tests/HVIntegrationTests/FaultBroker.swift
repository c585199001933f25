import Foundation
import Glibc
import HVTestSupport

/// A broker of the fault-injection suite on the host's real libvirt, with its own pool, state and
/// logs, that can be killed with SIGKILL and started again on the same state.
final class FaultBroker: @unchecked Sendable {
    static let pool = "hv-it-faults"

    let stack: Stack
    let base: String
    var socket: String { base + "/broker.sock" }
    var uploadSocket: String { base + "/upload.sock" }
    var state: String { base + "/state" }
    var log: String { base + "/broker.log" }
    private var child: Child?

    init(stack: Stack) throws {
        self.stack = stack
        base = stack.base + "/faults"
        try? run(["/usr/bin/pkill", "-KILL", "-f", base + "/"])
        removeMachinesAndPool()
        try? FileManager.default.removeItem(atPath: base)
        for directory in [base + "/log", state, base + "/console"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try "limits: {vcpus: 1, memory: 1GiB, disk: 8GiB}\niso: {max_size: 1GiB}\n".write(toFile: base + "/policy.yaml", atomically: true, encoding: .utf8)
        try run(["/bin/chmod", "-R", "a+rX", base])
    }

    /// Starts the broker (again) on the same state and waits until both sockets answer.
    func start(_ extra: [String] = []) throws {
        unlink(socket)
        unlink(uploadSocket)
        child = try Child([
            stack.bin + "/hv-broker", "--socket", socket, "--upload-socket", uploadSocket, "--libvirt-uri", "qemu:///system",
            "--audit-log", base + "/log/audit.jsonl", "--state-dir", state, "--console-dir", base + "/console",
            "--pool", Self.pool, "--policy", base + "/policy.yaml", "--backup-config", base + "/backup.yaml",
        ] + extra, output: log)
        guard waitUntil(20, every: 0.05, { FileManager.default.fileExists(atPath: self.socket) && FileManager.default.fileExists(atPath: self.uploadSocket) })
        else { throw SetupError("the fault broker did not bind \(socket): \(logText)") }
        chmod(socket, 0o666)
        chmod(uploadSocket, 0o666)
    }

    /// The broker's process id, while it runs.
    var pid: pid_t? { child.map(\.pid) }

    /// Whether the same broker process still runs (it was not restarted behind the test's back).
    var isRunning: Bool { child.map { kill($0.pid, 0) == 0 } ?? false }

    /// SIGKILL, as a crash or the OOM killer would: nothing is flushed or cleaned up.
    func killHard() {
        guard let child else { return }
        kill(child.pid, SIGKILL)
        _ = child.wait(timeout: 10)
        self.child = nil
    }

    func stop() {
        child?.stop()
        child = nil
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Runs `hv` as a user against this broker.
    func hv(_ arguments: [String], as user: String, timeout: TimeInterval = 180) throws -> Output {
        try run([stack.bin + "/hv"] + arguments, as: user, environment: ["HV_SOCKET": socket], timeout: timeout)
    }

    /// The broker's journal of half-done work.
    var pendingRecords: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: state + "/pending")) ?? []).sorted()
    }

    func imageExists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: state + "/images/" + name)
    }

    func isDefined(_ machine: String) throws -> Bool {
        try run(["/usr/bin/virsh", "-c", "qemu:///system", "dominfo", machine]).status == 0
    }

    func removeMachinesAndPool() {
        let listed = (try? run(["/usr/bin/virsh", "-c", "qemu:///system", "list", "--all", "--name"]).stdout) ?? ""
        for name in listed.split(separator: "\n") where name.hasPrefix("hv-it-f-") {
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "destroy", String(name)])
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "undefine", String(name), "--snapshots-metadata"])
        }
        _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "pool-destroy", Self.pool])
        _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system", "pool-undefine", Self.pool])
    }

    deinit {
        stop()
        removeMachinesAndPool()
    }
}

/// The host's daemons, stopped and started the hard way.
enum HostDaemons {
    static let polkitActivation = "/usr/share/dbus-1/system-services/org.freedesktop.PolicyKit1.service"

    /// Kills libvirtd (SIGKILL: no clean shutdown) and starts it again; waits until it answers.
    static func restartLibvirtd() throws {
        _ = try run(["/usr/bin/pkill", "-KILL", "-x", "libvirtd"])
        _ = waitUntil(10, { (try? run(["/usr/bin/pgrep", "-x", "libvirtd"]).status) != 0 })
        try startServices()
        guard waitUntil(30, every: 0.2, { (try? run(["/usr/bin/virsh", "-c", "qemu:///system", "version"]).status) == 0 }) else {
            throw SetupError("libvirtd did not come back")
        }
    }

    /// The process id of the daemon `name` (the oldest, should there be several).
    static func pid(_ name: String) throws -> pid_t {
        let found = try run(["/usr/bin/pgrep", "-o", "-x", name])
        guard let pid = pid_t(found.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw SetupError("\(name) is not running") }
        return pid
    }

    static func signal(_ name: String, _ signal: Int32) throws {
        _ = try run(["/usr/bin/pkill", "-\(signal)", "-x", name])
    }

    /// Stops polkitd so that D-Bus can't start it again: its activation file is moved aside.
    static func stopPolkitd() throws {
        try? FileManager.default.moveItem(atPath: polkitActivation, toPath: polkitActivation + ".hv-it")
        try reloadBus()
        _ = try run(["/usr/bin/pkill", "-KILL", "-x", "polkitd"])
        _ = waitUntil(10, { (try? run(["/usr/bin/pgrep", "-x", "polkitd"]).status) != 0 })
    }

    static func startPolkitd() throws {
        if FileManager.default.fileExists(atPath: polkitActivation + ".hv-it") {
            try? FileManager.default.removeItem(atPath: polkitActivation)
            try FileManager.default.moveItem(atPath: polkitActivation + ".hv-it", toPath: polkitActivation)
        }
        try reloadBus()
        try startServices()
    }

    private static func reloadBus() throws {
        _ = try run([
            "/usr/bin/dbus-send", "--system", "--type=method_call", "--dest=org.freedesktop.DBus", "/", "org.freedesktop.DBus.ReloadConfig",
        ])
    }

    private static func startServices() throws {
        let started = try run([Environment.root + "/scripts/start-services.sh"], timeout: 120)
        guard started.status == 0 else { throw SetupError("scripts/start-services.sh failed: \(started)") }
    }
}

/// Polls `path` as fast as it can (every 0.5 ms) until it exists; for catching a change between
/// two of its steps.
func waitForFile(_ seconds: TimeInterval, _ matches: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if matches() { return true }
        usleep(500)
    }
    return matches()
}

/// Runs `body` on a thread of its own and returns a way to wait for its result.
final class Background<Value: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, any Error>?

    init(_ body: @escaping @Sendable () throws -> Value) {
        Thread.detachNewThread { [self] in
            result = Result { try body() }
            done.signal()
        }
    }

    func value(timeout: TimeInterval = 300) throws -> Value {
        guard done.wait(timeout: .now() + timeout) == .success, let result else { throw SetupError("the background call did not return") }
        return try result.get()
    }
}
