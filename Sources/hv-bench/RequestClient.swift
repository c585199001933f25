import ArgumentParser
import Foundation
import Glibc
import HVClient
import HVProtocol
import Synchronization

/// The operator side of `hv-bench request`, run as the unprivileged user the measurement names
/// (polkitd runs its rules only for non-root callers). Two modes:
///
/// - with `--control` (a Unix socket the benchmark listens on): one connection to the broker, and
///   for every line `N` read from the control socket, N Vm.Info round trips, each timed, written
///   back as one line of nanoseconds; a line `0` or the end of the control connection ends it.
///   The benchmark asks polkit about this very process between the blocks.
/// - otherwise: `--clients` threads, each with its own connection, calling Vm.Info for `--seconds`
///   or until `--requests` are answered in all; prints one `RequestLoad` as JSON.
struct RequestClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request-client", abstract: "The operator clients hv-bench request runs as another user.",
        shouldDisplay: false
    )

    @Option var socket: String
    @Option var machine: String
    @Option var control: String?
    @Option var clients = 1
    @Option var seconds = 0.0
    @Option var requests = 0

    func run() throws {
        if let control {
            try serve(control: control)
        } else {
            print(RequestLoad.measure(socket: socket, machine: machine, clients: clients, seconds: seconds, requests: requests).json)
        }
    }

    private func serve(control: String) throws {
        guard let (input, output) = ControlChannel.connect(control) else {
            throw ValidationError("cannot connect to \(control): \(String(cString: strerror(errno)))")
        }
        defer {
            fclose(input)
            fclose(output)
        }
        let client: BrokerClient
        do throws(HVError) {
            client = try BrokerClient(socketPath: socket)
        } catch {
            fputs("error: \(error.reason)\n", output)
            return
        }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, input) > 0, let text = line.map({ String(cString: $0) }),
            let count = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), count > 0
        {
            var samples: [String] = []
            samples.reserveCapacity(count)
            do throws(HVError) {
                for _ in 0..<count {
                    let start = Stopwatch.now()
                    _ = try client.info(machine)
                    samples.append(String(Stopwatch.now() - start))
                }
            } catch {
                fputs("error: \(error.reason)\n", output)
                fflush(output)
                return
            }
            fputs(samples.joined(separator: " ") + "\n", output)
            fflush(output)
        }
    }
}

/// What a set of operator clients saw: requests answered, wall time, latencies.
struct RequestLoad: Codable, Sendable {
    var clients: Int
    /// Wall-clock seconds from the first request to the last reply.
    var seconds = 0.0
    var requests = 0
    var medianMilliseconds = 0.0
    var p99Milliseconds = 0.0
    /// CPU microseconds (user + system) this process spent from the first request to the last reply.
    var cpuMicroseconds = 0.0
    /// Requests answered with an error, and clients that could not connect.
    var errors = 0
    var firstError: String?

    var requestsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }

    /// `clients` threads, each with its own connection, calling Vm.Info on `machine` for
    /// `seconds` (when positive), or until `requests` calls were made in all. `onStart` runs once
    /// every connection is open, just before the clock starts.
    static func measure(
        socket: String, machine: String, clients: Int, seconds: Double, requests: Int, onStart: () -> Void = {}
    ) -> RequestLoad {
        let samples = Mutex<[UInt64]>([])
        let errors = Mutex<[String]>([])
        let remaining = Atomic<Int>(requests)
        let connected = DispatchGroup()
        let finished = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        let startedAt = Atomic<UInt64>(0)
        for _ in 0..<clients {
            connected.enter()
            finished.enter()
            Thread {
                defer { finished.leave() }
                let client: BrokerClient
                do throws(HVError) {
                    client = try BrokerClient(socketPath: socket)
                    connected.leave()
                } catch {
                    errors.withLock { $0.append(error.reason) }
                    connected.leave()
                    return
                }
                start.wait()
                let deadline = startedAt.load(ordering: .acquiring) + UInt64(seconds * 1e9)
                var mine: [UInt64] = []
                while seconds > 0 ? Stopwatch.now() < deadline : remaining.subtract(1, ordering: .relaxed).oldValue > 0 {
                    let before = Stopwatch.now()
                    do throws(HVError) {
                        _ = try client.info(machine)
                    } catch {
                        errors.withLock { $0.append(error.reason) }
                        if error.code == .brokerUnavailable || error.code == .protocolError { break }
                    }
                    mine.append(Stopwatch.now() - before)
                }
                samples.withLock { $0 += mine }
            }.start()
        }
        // Connections are open before the clock starts.
        connected.wait()
        onStart()
        let cpuBefore = Self.cpuMicroseconds()
        startedAt.store(Stopwatch.now(), ordering: .releasing)
        for _ in 0..<clients { start.signal() }
        finished.wait()
        let elapsed = Stopwatch.now() - startedAt.load(ordering: .acquiring)

        var result = RequestLoad(clients: clients, seconds: Double(elapsed) / 1e9)
        result.cpuMicroseconds = Self.cpuMicroseconds() - cpuBefore
        let sorted = samples.withLock { $0 }.sorted()
        result.requests = sorted.count
        if !sorted.isEmpty {
            result.medianMilliseconds = LatencySummary.median(sorted) / 1e6
            result.p99Milliseconds = LatencySummary.percentile(sorted, 0.99) / 1e6
        }
        let failures = errors.withLock { $0 }
        result.errors = failures.count
        result.firstError = failures.first
        return result
    }

    /// User and system CPU time of this process so far, all threads.
    static func cpuMicroseconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec)
        return user + Double(usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_stime.tv_usec)
    }

    var json: String {
        let data = (try? JSONEncoder().encode(self)) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
