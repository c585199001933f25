import Foundation
import HVClient
import HVProtocol
import Synchronization

/// Vm.Info requests per second: `clients` threads, each with its own connection, sharing `requests`.
func measureThroughput(socketPath: String, clients: Int, requests: Int, cpu: ProcessCPU) throws(BenchError)
    -> ThroughputSummary
{
    let connected = DispatchGroup()
    let finished = DispatchGroup()
    let go = DispatchSemaphore(value: 0)
    let failures = Mutex<[String]>([])

    for index in 0..<clients {
        let share = requests / clients + (index < requests % clients ? 1 : 0)
        connected.enter()
        finished.enter()
        Thread {
            defer { finished.leave() }
            let client: BrokerClient
            do throws(HVError) {
                client = try BrokerClient(socketPath: socketPath)
                connected.leave()
            } catch {
                failures.withLock { $0.append("client \(index): \(error.reason)") }
                connected.leave()
                return
            }
            go.wait()
            do throws(HVError) {
                for _ in 0..<share { _ = try client.info(Measurements.domain) }
            } catch {
                failures.withLock { $0.append("client \(index): \(error.reason)") }
            }
        }.start()
    }

    // Connections are set up before the clock starts; every thread waits for the same signal.
    connected.wait()
    let cpuBefore = cpu.sample()
    let start = Stopwatch.now()
    for _ in 0..<clients { go.signal() }
    finished.wait()
    let elapsed = Stopwatch.now() - start
    let cpuPerRequest = cpu.sample().reduce(into: [String: Double]()) { result, entry in
        guard let before = cpuBefore[entry.key] else { return }
        result[entry.key] = (entry.value - before) / Double(requests)
    }

    if let first = failures.withLock({ $0.first }) {
        throw BenchError(.measurementFailed, "throughput with \(clients) clients: \(first)")
    }
    let id = "broker.vm-info.\(clients)-client\(clients == 1 ? "" : "s")"
    var summary = ThroughputSummary(id: id, clients: clients, requests: requests, nanoseconds: elapsed)
    summary.cpuMicrosecondsPerRequest = cpuPerRequest
    return summary
}
