import ArgumentParser
import Foundation
import HVClient
import HVProtocol
import Synchronization

/// The clients of `hv-bench pressure`, run as the unprivileged user the measurement names (polkitd
/// runs its rules only for non-root callers): each thread its own connection, calling one method
/// over and over for a while. Prints one `LoadResult` as JSON.
struct PressureClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pressure-client", abstract: "The clients hv-bench pressure runs as another user.",
        shouldDisplay: false
    )

    @Option var socket: String
    @Option var clients = 1
    @Option var seconds = 10.0

    func run() throws {
        print(LoadResult.measure(socket: socket, clients: clients, seconds: seconds).json)
    }
}

/// What a set of clients saw: every request's latency summarized, and each slow one with the time
/// it ended, to set beside polkitd's log.
struct LoadResult: Codable, Sendable {
    struct SlowCall: Codable, Sendable {
        /// Seconds since 1970 when the reply arrived.
        var endedAt: Double
        var seconds: Double
    }

    var clients: Int
    var seconds: Double
    var requests = 0
    var medianMilliseconds = 0.0
    var p99Milliseconds = 0.0
    var maxMilliseconds = 0.0
    /// Requests slower than `PressureCommand.slow`.
    var slow: [SlowCall] = []
    /// Requests answered with an error, and clients that lost their connection.
    var errors = 0
    var firstError: String?

    var requestsPerSecond: Double { Double(requests) / seconds }

    /// `clients` threads, each with its own connection, calling `Vm.List` for `seconds`.
    static func measure(socket: String, clients: Int, seconds: Double) -> LoadResult {
        let samples = Mutex<[UInt64]>([])
        let slow = Mutex<[SlowCall]>([])
        let errors = Mutex<[String]>([])
        let finished = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        for _ in 0..<clients {
            finished.enter()
            Thread {
                defer { finished.leave() }
                let client: BrokerClient
                do throws(HVError) {
                    client = try BrokerClient(socketPath: socket)
                } catch {
                    errors.withLock { $0.append(error.reason) }
                    return
                }
                start.wait()
                let deadline = Stopwatch.now() + UInt64(seconds * 1e9)
                var mine: [UInt64] = []
                while Stopwatch.now() < deadline {
                    let before = Stopwatch.now()
                    do throws(HVError) {
                        _ = try client.list()
                    } catch {
                        // A refusal is an answer; a lost connection ends this client.
                        errors.withLock { $0.append(error.reason) }
                        if error.code == .brokerUnavailable || error.code == .protocolError { return }
                    }
                    let elapsed = Stopwatch.now() - before
                    mine.append(elapsed)
                    if elapsed > PressureCommand.slow {
                        let call = SlowCall(endedAt: Date().timeIntervalSince1970, seconds: Double(elapsed) / 1e9)
                        slow.withLock { $0.append(call) }
                    }
                }
                samples.withLock { $0 += mine }
            }.start()
        }
        for _ in 0..<clients { start.signal() }
        finished.wait()

        var result = LoadResult(clients: clients, seconds: seconds)
        let sorted = samples.withLock { $0 }.sorted()
        result.requests = sorted.count
        if !sorted.isEmpty {
            result.medianMilliseconds = LatencySummary.median(sorted) / 1e6
            result.p99Milliseconds = LatencySummary.percentile(sorted, 0.99) / 1e6
            result.maxMilliseconds = Double(sorted[sorted.count - 1]) / 1e6
        }
        result.slow = slow.withLock { $0 }.sorted { $0.endedAt < $1.endedAt }
        let failures = errors.withLock { $0 }
        result.errors = failures.count
        result.firstError = failures.first
        return result
    }

    var json: String {
        let data = (try? JSONEncoder().encode(self)) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
