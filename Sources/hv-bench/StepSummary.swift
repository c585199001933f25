import Foundation
import Synchronization

/// The distribution of one timed step over its repetitions, in milliseconds.
struct StepSummary: Codable, Sendable, Hashable {
    var repetitions: Int
    var medianMilliseconds: Double
    var p95Milliseconds: Double
    var minMilliseconds: Double
    var maxMilliseconds: Double

    init(nanoseconds samples: [UInt64]) {
        precondition(!samples.isEmpty, "a step summary needs at least one sample")
        let sorted = samples.sorted()
        repetitions = sorted.count
        medianMilliseconds = LatencySummary.median(sorted) / 1e6
        p95Milliseconds = LatencySummary.percentile(sorted, 0.95) / 1e6
        minMilliseconds = Double(sorted[0]) / 1e6
        maxMilliseconds = Double(sorted[sorted.count - 1]) / 1e6
    }

    /// "median / p95" for the text table.
    var cell: String {
        Self.format(medianMilliseconds) + " / " + Self.format(p95Milliseconds)
    }

    static func format(_ milliseconds: Double) -> String {
        String(format: milliseconds < 1 ? "%.3f" : milliseconds < 100 ? "%.2f" : "%.0f", milliseconds)
    }
}

/// Times `body` `repetitions` times after `warmup` untimed runs.
func timeSteps(repetitions: Int, warmup: Int, _ body: () throws(BenchError) -> Void) throws(BenchError) -> StepSummary {
    for _ in 0..<warmup { try body() }
    var samples: [UInt64] = []
    for _ in 0..<repetitions {
        let start = Stopwatch.now()
        try body()
        samples.append(Stopwatch.now() - start)
    }
    return StepSummary(nanoseconds: samples)
}

/// Runs async work from synchronous code (the command's `run()` on the main thread) and waits for it.
func waitFor<Value: Sendable>(_ work: @escaping @Sendable () async throws -> Value) throws(BenchError) -> Value {
    let result = Outcome<Value>()
    let done = DispatchSemaphore(value: 0)
    Task {
        let outcome: Result<Value, any Error>
        do {
            outcome = .success(try await work())
        } catch {
            outcome = .failure(error)
        }
        result.value.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    switch result.value.withLock({ $0 }) {
    case .success(let value)?: return value
    case .failure(let error as BenchError)?: throw error
    case .failure(let error)?: throw BenchError(.measurementFailed, "\(error)")
    case nil: throw BenchError(.measurementFailed, "an async step ended without a result")
    }
}

/// Where an async step leaves its result for the waiting thread.
private final class Outcome<Value: Sendable>: Sendable {
    let value = Mutex<Result<Value, any Error>?>(nil)
}
