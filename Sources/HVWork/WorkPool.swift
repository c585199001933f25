import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A bounded set of threads for one kind of blocking work (polkit checks, libvirt calls, long
/// jobs), shared fairly among callers: each caller (a uid) has its own queue, and a free thread
/// takes the next piece of work from the callers in turn, so one caller's backlog delays
/// another's call by at most the work already running. A caller may have at most
/// `maximumQueuedPerCaller` pieces waiting (beyond that it is refused with `queueFull`; work that
/// starts at once never waits) and at most `maximumRunningPerCaller` running.
///
/// Work never runs on a Swift concurrency thread: the caller suspends until a thread of the pool
/// has run it. A thread that finishes a piece of work takes the next that may start itself. A
/// caller that is cancelled while its work waits is removed from the queue; one cancelled while
/// its work runs finds `JobContext.isCancelled` set.
public final class WorkPool: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// How log lines and errors name the pool: `polkit`, `libvirt`, `jobs`.
        public var name: String
        public var threads: Int
        public var maximumQueuedPerCaller: Int
        public var maximumRunningPerCaller: Int
        /// The nice value of the pool's threads while they run work: long jobs run at a lower CPU
        /// priority than the calls people wait for.
        public var niceness: Int32

        public init(
            name: String, threads: Int, maximumQueuedPerCaller: Int, maximumRunningPerCaller: Int? = nil,
            niceness: Int32 = 0
        ) {
            precondition(threads > 0 && maximumQueuedPerCaller >= 0, "a pool needs threads and a queue bound")
            self.name = name
            self.threads = threads
            self.maximumQueuedPerCaller = maximumQueuedPerCaller
            self.maximumRunningPerCaller = max(1, min(maximumRunningPerCaller ?? threads, threads))
            self.niceness = niceness
        }
    }

    /// The uid the current request is served for; pools charge work submitted without an explicit
    /// caller to it. The broker sets it around each request; nil is the broker's own work.
    @TaskLocal public static var caller: UInt32?

    /// Where the current request wants to hear how far its work got (a Varlink `more` call that
    /// streams progress); nil when nobody listens.
    @TaskLocal public static var progress: (@Sendable (JobProgress) -> Void)?

    public let configuration: Configuration
    private let threadPool: NIOThreadPool
    private let state = Mutex(Schedule())

    /// Starts the pool's threads.
    public init(_ configuration: Configuration) {
        self.configuration = configuration
        threadPool = NIOThreadPool(numberOfThreads: configuration.threads)
        threadPool.start()
    }

    public var name: String { configuration.name }

    /// Runs `body` on one of the pool's threads, charged to `caller`, and returns its result.
    ///
    /// - Parameters:
    ///   - caller: the uid the work is done for; by default the request's (`WorkPool.caller`).
    ///   - onProgress: receives what the work reports through `JobContext.report`, on the pool's
    ///     thread; by default the request's listener (`WorkPool.progress`).
    /// - Throws: `queueFull` when the caller already has `maximumQueuedPerCaller` pieces waiting,
    ///   `cancelled` when the calling task was cancelled before the work started, `shutDown` after
    ///   `shutdownGracefully`.
    public func run<T: Sendable>(
        for caller: UInt32? = WorkPool.caller, onProgress: (@Sendable (JobProgress) -> Void)? = WorkPool.progress,
        _ body: @escaping @Sendable (JobContext) -> T
    ) async throws(WorkPoolError) -> T {
        let context = JobContext(onProgress: onProgress)
        let id = state.withLock { $0.newID() }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, WorkPoolError>, Never>) in
                let job = Job(
                    id: id, caller: Charge(caller),
                    execute: {
                        let result = body(context)
                        return { continuation.resume(returning: .success(result)) }
                    },
                    refuse: { continuation.resume(returning: .failure($0)) }
                )
                let refusal = state.withLock { schedule -> WorkPoolError? in
                    guard schedule.open else { return shutDownError }
                    // Checked under the lock, so a cancellation either lands here or finds the job queued.
                    guard !Task.isCancelled else { return cancelledError }
                    guard schedule.queued(for: Charge(caller)) < configuration.maximumQueuedPerCaller
                        || schedule.startsAtOnce(Charge(caller), configuration)
                    else {
                        return queueFullError(caller)
                    }
                    schedule.enqueue(job)
                    return nil
                }
                if let refusal {
                    job.refuse(refusal)
                } else {
                    dispatch()
                }
            }
        } onCancel: {
            context.cancel()
            state.withLock { $0.remove(id, caller: Charge(caller)) }?.refuse(cancelledError)
        }
        return try result.get()
    }

    /// What the pool holds now: work running, and work waiting by caller.
    public var load: (running: Int, queued: [UInt32?: Int]) {
        state.withLock { schedule in
            (schedule.running, Dictionary(uniqueKeysWithValues: schedule.queues.map { ($0.key.uid, $0.value.count) }))
        }
    }

    /// Refuses new work, lets what runs finish, and stops the threads. Queued work is refused.
    public func shutdownGracefully() async throws {
        let queued = state.withLock { schedule -> [Job] in
            schedule.open = false
            defer { schedule.queues = [:] }
            return schedule.queues.values.flatMap { $0 }
        }
        for job in queued { job.refuse(shutDownError) }
        try await threadPool.shutdownGracefully()
    }

    /// Hands the queued work that may start now to free threads, taking callers in turn.
    private func dispatch() {
        let ready = state.withLock { schedule -> [Job] in
            var ready: [Job] = []
            while schedule.running < configuration.threads,
                let job = schedule.next(maximumRunningPerCaller: configuration.maximumRunningPerCaller)
            {
                ready.append(job)
            }
            return ready
        }
        for job in ready { start(job) }
    }

    /// Runs `job` on a thread of the pool. The thread then takes the next work that may start
    /// itself, rather than handing it to another thread it would have to wake.
    private func start(_ first: Job) {
        threadPool.submit { [niceness = configuration.niceness] threadState in
            guard case .active = threadState else {
                first.refuse(self.shutDownError)
                self.finished(first.caller)
                return
            }
            var next: Job? = first
            while let job = next {
                // On Linux the nice value is per thread; 0 names the calling thread.
                if niceness != 0, getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) != niceness {
                    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
                }
                let answer = job.execute()
                // Counted as finished before its caller hears, so the caller never sees its own
                // work still running.
                next = self.state.withLock { schedule -> Job? in
                    schedule.finish(job.caller)
                    // Shutting down empties the queues, so nothing is taken after it.
                    return schedule.next(maximumRunningPerCaller: self.configuration.maximumRunningPerCaller)
                }
                answer()
            }
        }
    }

    private func finished(_ caller: Charge) {
        state.withLock { $0.finish(caller) }
        dispatch()
    }

    private var shutDownError: WorkPoolError {
        WorkPoolError(.shutDown, pool: name, reason: "the broker is shutting down", fix: "retry in a moment")
    }

    private var cancelledError: WorkPoolError {
        WorkPoolError(.cancelled, pool: name, reason: "the caller stopped waiting before the work started")
    }

    private func queueFullError(_ caller: UInt32?) -> WorkPoolError {
        let who = caller.map { "uid \($0)" } ?? "the broker"
        let limit = configuration.maximumQueuedPerCaller
        return WorkPoolError(
            .queueFull, pool: name, limit: limit,
            reason: "\(who) already has \(limit) calls waiting for the broker's \(name) threads",
            fix: "wait for your earlier calls to finish, then retry"
        )
    }
}

/// One piece of work: how to run it, or how to tell its caller it won't run. Exactly one of the
/// two is called, by whoever takes the job out of the schedule. `execute` runs the work and
/// returns what hands its result to the caller.
private struct Job: Sendable {
    let id: UInt64
    let caller: Charge
    let execute: @Sendable () -> @Sendable () -> Void
    let refuse: @Sendable (WorkPoolError) -> Void
}

/// Whom a piece of work is charged to: a user, or the broker itself.
private struct Charge: Hashable, Sendable {
    let uid: UInt32?

    init(_ uid: UInt32?) {
        self.uid = uid
    }
}

/// The queues of one pool: per caller, first in first out; a free thread goes to the caller served
/// longest ago (one never served, or with nothing running since, first), so callers take turns.
private struct Schedule {
    var queues: [Charge: [Job]] = [:]
    var running = 0
    var runningPerCaller: [Charge: Int] = [:]
    /// When each caller with work running or waiting last had a job started, counted in starts.
    var lastServed: [Charge: UInt64] = [:]
    var open = true
    private var lastID: UInt64 = 0
    private var starts: UInt64 = 0

    mutating func newID() -> UInt64 {
        lastID += 1
        return lastID
    }

    func queued(for caller: Charge) -> Int {
        queues[caller]?.count ?? 0
    }

    /// Whether work of `caller` submitted now would start without waiting: nothing waits, a thread
    /// is free and the caller is below its running share.
    func startsAtOnce(_ caller: Charge, _ configuration: WorkPool.Configuration) -> Bool {
        queues.isEmpty && running < configuration.threads
            && runningPerCaller[caller, default: 0] < configuration.maximumRunningPerCaller
    }

    mutating func enqueue(_ job: Job) {
        queues[job.caller, default: []].append(job)
    }

    /// The next job to start, counted as running: of the callers below their running share, the
    /// one served longest ago; among equals, the one whose work waits longest.
    mutating func next(maximumRunningPerCaller: Int) -> Job? {
        var chosen: (caller: Charge, order: (UInt64, UInt64))?
        for (caller, queue) in queues where runningPerCaller[caller, default: 0] < maximumRunningPerCaller {
            let order = (lastServed[caller] ?? 0, queue[0].id)
            if chosen.map({ order < $0.order }) ?? true { chosen = (caller, order) }
        }
        guard let caller = chosen?.caller else { return nil }
        let job = queues[caller]!.removeFirst()
        if queues[caller]!.isEmpty { queues[caller] = nil }
        running += 1
        runningPerCaller[caller, default: 0] += 1
        starts += 1
        lastServed[caller] = starts
        return job
    }

    /// Takes a job that has not started out of its queue.
    mutating func remove(_ id: UInt64, caller: Charge) -> Job? {
        guard let index = queues[caller]?.firstIndex(where: { $0.id == id }) else { return nil }
        let job = queues[caller]!.remove(at: index)
        if queues[caller]!.isEmpty { queues[caller] = nil }
        forgetIfIdle(caller)
        return job
    }

    mutating func finish(_ caller: Charge) {
        running -= 1
        let left = runningPerCaller[caller, default: 1] - 1
        runningPerCaller[caller] = left > 0 ? left : nil
        forgetIfIdle(caller)
    }

    /// Drops what is kept about a caller with nothing running or waiting, so the schedule holds
    /// only active callers.
    private mutating func forgetIfIdle(_ caller: Charge) {
        if queues[caller] == nil, runningPerCaller[caller] == nil { lastServed[caller] = nil }
    }
}
