import Foundation
import Synchronization
import HVProtocol

/// Runs one operation on many machines at once, at most `width` at a time, and collects every
/// outcome: one machine failing never stops the others.
///
/// Broker calls block, so each of the `width` workers is a thread with its own connection; the
/// broker serves each connection in its own task.
public struct BulkRunner: Sendable {
    public let width: Int

    /// - Parameter width: how many machines are worked on at once (1...64).
    public init(width: Int = 8) {
        self.width = min(max(width, 1), 64)
    }

    /// What happened to one machine.
    public struct Result: Sendable, Hashable, Codable {
        public var name: String
        public var ok: Bool
        /// What was done, or the error's reason.
        public var message: String
        /// The error's code when it failed (`NotFound`, `InvalidState`, …).
        public var code: String?
        public var seconds: Double
    }

    /// Runs `operation` for every name, `width` at a time; results come back in the order of `names`.
    ///
    /// - Parameter operation: called on a worker thread with that worker's own value from
    ///   `makeContext` (a broker connection); returns a short description of what it did.
    public func run<Context>(
        _ names: [String], makeContext: @escaping @Sendable () throws(HVError) -> Context,
        operation: @escaping @Sendable (Context, String) throws(HVError) -> String
    ) -> [Result] {
        let results = Mutex<[Result?]>([Result?](repeating: nil, count: names.count))
        let next = Mutex(0)
        let done = DispatchGroup()
        for _ in 0..<min(width, names.count) {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                var context: Swift.Result<Context, HVError>?
                while true {
                    let index = next.withLock { value -> Int in
                        defer { value += 1 }
                        return value
                    }
                    guard index < names.count else { return }
                    let name = names[index]
                    let started = ContinuousClock.now
                    if context == nil || (try? context?.get()) == nil {
                        context = Swift.Result { () throws(HVError) -> Context in try makeContext() }
                    }
                    let outcome = Swift.Result { () throws(HVError) -> String in
                        try operation(try context!.get(), name)
                    }
                    let elapsed = ContinuousClock.now - started
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    let result: Result
                    switch outcome {
                    case .success(let message):
                        result = Result(name: name, ok: true, message: message, code: nil, seconds: seconds)
                    case .failure(let error):
                        // A lost connection is not the next machine's problem: reconnect for it.
                        if error.code == .brokerUnavailable { context = nil }
                        result = Result(name: name, ok: false, message: error.reason, code: error.code.rawValue, seconds: seconds)
                    }
                    results.withLock { $0[index] = result }
                }
            }
        }
        done.wait()
        return results.withLock { $0.compactMap { $0 } }
    }
}

/// The table and summary line printed after a bulk operation.
public enum BulkReport {
    public static func table(_ results: [BulkRunner.Result]) -> String {
        var table = Table("NAME", "RESULT", "DETAIL")
        for result in results {
            table.add(result.name, result.ok ? "ok" : "FAILED", result.ok ? result.message : "\(result.code ?? "Failed"): \(result.message)")
        }
        return table.render()
    }

    public static func summary(_ results: [BulkRunner.Result], verb: String) -> String {
        let failed = results.filter { !$0.ok }.count
        let succeeded = results.count - failed
        var text = "\(verb): \(succeeded) of \(results.count) succeeded"
        if failed > 0 { text += ", \(failed) failed" }
        return text
    }
}

/// Which machines a bulk command means.
public enum BulkSelection: Sendable, Hashable {
    case names([String])
    case tag(String)
    case all

    /// The machine names this selection picks from `machines`, sorted, without duplicates.
    /// Named machines that don't exist are kept, so the run reports them as not found.
    public func resolve(_ machines: [VmSummary]) -> [String] {
        switch self {
        case .names(let names):
            var seen = Set<String>()
            return names.filter { seen.insert($0).inserted }
        case .tag(let tag):
            return machines.filter { $0.tags.contains(tag) }.map(\.name).sorted()
        case .all:
            return machines.map(\.name).sorted()
        }
    }
}
