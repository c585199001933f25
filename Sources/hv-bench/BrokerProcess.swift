import Foundation
import Glibc
import HVClient
import HVSystem
import Synchronization

/// The hv-broker under test, on the libvirt test driver (`test:///default` unless told otherwise)
/// in a scratch directory of its own: both its sockets, its audit log (unless one is given), state
/// and console directories are there, never the installed broker's.
/// `stop()` may be called from the interrupt handler's queue as well as from the main thread.
final class BrokerProcess: @unchecked Sendable {
    let directory: String
    let socketPath: String
    /// Nanoseconds from just before the broker was started until its socket accepted a connection.
    private(set) var startupNanoseconds: UInt64 = 0
    private let process: ChildProcess
    private let stopped = Mutex(false)

    /// Starts the broker, with `arguments` after the usual ones, and returns once its socket
    /// accepts connections. `auditLog` is the log to open (it outlives the broker); by default a
    /// new one in the scratch directory.
    init(
        executable: String, libvirtUri: String = "test:///default", auditLog: String? = nil, arguments: [String] = [],
        timeoutSeconds: Double = 15
    ) throws(BenchError) {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError(
                .brokerFailed, "no hv-broker executable at \(executable)",
                fix: "build it (swift build -c release --product hv-broker) or pass --broker PATH"
            )
        }
        directory = try ScratchDirectory("/tmp/hv-bench").path
        socketPath = directory + "/b.sock"
        let arguments = [
            "--libvirt-uri", libvirtUri, "--socket", socketPath, "--upload-socket", directory + "/upload.sock",
            "--audit-log", auditLog ?? directory + "/audit.jsonl", "--state-dir", directory + "/state",
            "--console-dir", directory + "/console", "--backup-config", directory + "/backup.yaml",
        ] + arguments
        // In this process's group, so a Ctrl-C reaches the broker too.
        let command = Command(
            executable, arguments, environment: Command.currentEnvironment, standardOutput: .file(directory + "/broker.log"),
            standardError: .standardOutput, ownProcessGroup: false
        )
        let started = Stopwatch.now()
        do {
            process = try ChildProcess(command)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw BenchError(.brokerFailed, error.description)
        }
        do throws(BenchError) {
            try waitForSocket(timeoutSeconds: timeoutSeconds)
            startupNanoseconds = Stopwatch.now() - started
        } catch {
            stop()
            throw error
        }
    }

    /// The limits for `clients` connections of one user: on a host they would be as many users,
    /// each with a share of its own, so one user playing them all needs the per-user limits raised.
    static func limits(forClientsOfOneUser clients: Int) -> [String] {
        [
            "--max-clients", "\(clients + 16)", "--max-clients-per-user", "\(clients + 8)",
            "--max-calls-per-user", "\(clients + 8)", "--max-queued-per-user", "\(clients + 8)",
        ]
    }

    var logPath: String { directory + "/broker.log" }
    var processIdentifier: Int32 { process.pid }

    /// Stops the broker (SIGTERM, then SIGKILL after 5 s) and removes its directory. A second
    /// caller waits until the first one is done.
    func stop() {
        stopped.withLock { stopped in
            guard !stopped else { return }
            stopped = true
            process.signal(SIGTERM)
            _ = try? process.finish(timeout: .seconds(5))
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    private func waitForSocket(timeoutSeconds: Double) throws(BenchError) {
        let deadline = Stopwatch.now() + UInt64(timeoutSeconds * 1e9)
        while Stopwatch.now() < deadline {
            if let ended = try? process.poll() {
                throw BenchError(.brokerFailed, "hv-broker ended with \(ended):\n\(logExcerpt())")
            }
            if (try? VarlinkClient(socketPath: socketPath)) != nil { return }
            usleep(5_000)
        }
        throw BenchError(
            .brokerFailed, "hv-broker did not listen on \(socketPath) within \(Int(timeoutSeconds)) s:\n\(logExcerpt())"
        )
    }

    /// The broker's output: all of it when short, else its start (where a crash says why) and its end.
    private func logExcerpt() -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").map(String.init)
        let shown = lines.count <= 20 ? lines : lines.prefix(10) + ["..."] + lines.suffix(8)
        return shown.map { "  broker: " + $0 }.joined(separator: "\n")
    }
}

/// On SIGINT or SIGTERM, stops the broker and removes its directory (or cleans up as told) before exiting.
final class InterruptHandler {
    private let sources: [any DispatchSourceSignal]

    convenience init(_ broker: BrokerProcess) {
        self.init(cleanUp: { broker.stop() })
    }

    init(cleanUp: @escaping @Sendable () -> Void) {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                cleanUp()
                _exit(128 + number)
            }
            source.resume()
            return source
        }
    }

    func cancel() {
        sources.forEach { $0.cancel() }
    }
}
