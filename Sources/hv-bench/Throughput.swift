import Foundation
import HVClient
import HVProtocol
import Synchronization

/// Vm.Info requests per second: `clients` threads, each with its own connection, sharing `requests`.
/// The CPU the processes spend is read from when every connection is open to the last reply.
func measureThroughput(socketPath: String, clients: Int, requests: Int, cpu: ProcessCPU) throws(BenchError)
    -> ThroughputSummary
{
    let before = Mutex<[String: Double]>([:])
    let load = RequestLoad.measure(
        socket: socketPath, machine: Measurements.domain, clients: clients, seconds: 0, requests: requests,
        onStart: { before.withLock { $0 = cpu.sample() } }
    )
    if let first = load.firstError {
        throw BenchError(.measurementFailed, "throughput with \(clients) clients: \(first)")
    }
    let id = "broker.vm-info.\(clients)-client\(clients == 1 ? "" : "s")"
    var summary = ThroughputSummary(id: id, clients: clients, requests: load.requests, nanoseconds: UInt64(load.seconds * 1e9))
    summary.cpuMicrosecondsPerRequest = cpu.perRequest(since: before.withLock { $0 }, requests: load.requests)
    return summary
}
