import Dispatch

/// A monotonic clock in nanoseconds (CLOCK_MONOTONIC, through Dispatch), cheap enough to read
/// around every call.
enum Stopwatch {
    static func now() -> UInt64 {
        DispatchTime.now().uptimeNanoseconds
    }
}

/// The latency distribution of one measured call.
struct LatencySummary: Codable, Sendable, Hashable {
    /// A stable key for scripts, e.g. `broker.vm-info`.
    var id: String
    var name: String
    var iterations: Int
    var medianMicroseconds: Double
    var p99Microseconds: Double
    var meanMicroseconds: Double
    var minMicroseconds: Double
    var maxMicroseconds: Double

    init(id: String, name: String, nanoseconds samples: [UInt64]) {
        precondition(!samples.isEmpty, "a latency summary needs at least one sample")
        let sorted = samples.sorted()
        self.id = id
        self.name = name
        iterations = sorted.count
        medianMicroseconds = Self.median(sorted) / 1_000
        p99Microseconds = Self.percentile(sorted, 0.99) / 1_000
        meanMicroseconds = Double(sorted.reduce(0, +)) / Double(sorted.count) / 1_000
        minMicroseconds = Double(sorted[0]) / 1_000
        maxMicroseconds = Double(sorted[sorted.count - 1]) / 1_000
    }

    /// The middle sample, or the mean of the two middle ones.
    static func median(_ sorted: [UInt64]) -> Double {
        let middle = sorted.count / 2
        guard sorted.count % 2 == 0 else { return Double(sorted[middle]) }
        return (Double(sorted[middle - 1]) + Double(sorted[middle])) / 2
    }

    /// Nearest-rank percentile: the smallest sample at or above `fraction` of all samples.
    static func percentile(_ sorted: [UInt64], _ fraction: Double) -> Double {
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return Double(sorted[min(max(rank, 1), sorted.count) - 1])
    }
}

/// Requests per second over a fixed number of requests, wall clock.
struct ThroughputSummary: Codable, Sendable, Hashable {
    var id: String
    var clients: Int
    var requests: Int
    var seconds: Double
    var requestsPerSecond: Double
    /// CPU time per request of each process on the request's path, from /proc (10 ms resolution).
    var cpuMicrosecondsPerRequest: [String: Double] = [:]

    init(id: String, clients: Int, requests: Int, nanoseconds: UInt64) {
        self.id = id
        self.clients = clients
        self.requests = requests
        seconds = Double(nanoseconds) / 1e9
        requestsPerSecond = Double(requests) / seconds
    }
}
