import Synchronization

/// What a running piece of work can learn and tell: whether its caller gave up, and how far it
/// got. Long jobs check `isCancelled` between chunks and stop; short calls ignore both.
public final class JobContext: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let onProgress: (@Sendable (JobProgress) -> Void)?

    init(onProgress: (@Sendable (JobProgress) -> Void)?) {
        self.onProgress = onProgress
    }

    /// True once the caller stopped waiting for the result.
    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    /// Tells the caller how far the work got.
    public func report(_ progress: JobProgress) {
        onProgress?(progress)
    }

    func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }
}

/// How far a long job got: `done` of `total` units (bytes, for hashing and copying), and what it
/// is doing when it has several steps.
public struct JobProgress: Sendable, Hashable {
    public var done: UInt64
    /// Nil when the total is not known in advance.
    public var total: UInt64?
    public var phase: String?

    public init(done: UInt64, total: UInt64?, phase: String? = nil) {
        self.done = done
        self.total = total
        self.phase = phase
    }
}
