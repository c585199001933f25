import Foundation

/// The one thread that writes the log. Requests hand it their records and wait (without holding a
/// Swift concurrency thread) until the record is on disk; records that arrive together are written
/// with one `write` and one flush. Records no caller waits on wait a few milliseconds for others
/// (`AuditConfiguration.unwaitedWriteDelay`), and are not woken for one by one. Between records it
/// writes coalesced counts when their window ends and compresses sealed segments a piece at a time.
final class AuditWriter: @unchecked Sendable {
    enum Job {
        /// `waited`: the caller waits until the record is on disk (see `AuditStore.add`).
        case append(AuditRecord, AuditCoalescing?, AuditStore.Completion?, waited: Bool)
        /// Writes every coalesced count now.
        case flush(@Sendable () -> Void)
        /// Compresses every sealed segment still plain, now.
        case compress(@Sendable () -> Void)
        /// Told once every record queued before it is written (or failed); writes no coalesced count.
        case settle(@Sendable () -> Void)

        /// A record no caller waits on: it may wait for others to join its group.
        var mayWait: Bool {
            if case .append(_, _, _, waited: false) = self { return true }
            return false
        }
    }

    /// Queued records no caller waits on, past which the writer does not wait for more.
    static let groupLimit = 256

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var stopping = false
    private var stopped = false
    /// Every queued job is a record no caller waits on: the writer may wait for more.
    private var onlyUnwaited = false
    /// When the first of the queued jobs came, in the system's time.
    private var firstQueued = Date()
    private let writeDelay: TimeInterval
    /// Used only on the writer thread once it runs.
    private let store: AuditStore

    init(store: AuditStore) {
        self.store = store
        writeDelay = min(store.configuration.unwaitedWriteDelay, store.configuration.unwaitedFlushDelay).timeInterval
        let thread = Thread { [self] in run() }
        thread.name = "audit-writer"
        thread.start()
    }

    /// Queues a job; false once the writer is stopping.
    func submit(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        jobs.append(job)
        if jobs.count == 1 {
            onlyUnwaited = job.mayWait
            firstQueued = Date()
            condition.signal()
        } else if onlyUnwaited, !job.mayWait || jobs.count >= Self.groupLimit {
            // The writer waits for more records no one waits on; this job ends its wait.
            onlyUnwaited = false
            condition.signal()
        }
        // Otherwise the writer was woken for the first queued job and takes this one with it.
        return true
    }

    /// Writes what is queued and every coalesced count, then ends the thread; returns when it has.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty, !stopping, !store.hasIdleWork {
                if let deadline = [store.coalescer.nextDeadline, store.unflushedDeadline].compactMap({ $0 }).min() {
                    // The deadline is in the log's clock; the wait is in the system's.
                    let remaining = deadline.timeIntervalSince(store.configuration.clock.now())
                    if !condition.wait(until: Date().addingTimeInterval(max(0, remaining))) { break }
                } else {
                    condition.wait()
                }
            }
            // Records no one waits on wait a little for others, unless something ends the wait.
            let until = firstQueued.addingTimeInterval(writeDelay)
            while onlyUnwaited, !stopping, !jobs.isEmpty, Date() < until {
                _ = condition.wait(until: until)
            }
            let batch = jobs
            jobs.removeAll()
            onlyUnwaited = false
            let stop = stopping
            condition.unlock()

            let now = store.configuration.clock.now()
            var settled: [@Sendable () -> Void] = []
            for job in batch {
                switch job {
                case .append(let record, let coalescing, let done, let waited):
                    if let coalescing, !store.coalescer.admit(record, as: coalescing, at: now) {
                        done?(.success(nil))
                    } else {
                        store.add(record, done: done, waited: waited, now: now)
                    }
                case .flush(let done):
                    for summary in store.coalescer.due(at: now, all: true) { store.add(summary, done: nil, now: now) }
                    store.flush()
                    done()
                case .compress(let done):
                    while store.hasIdleWork { store.compressStep() }
                    done()
                case .settle(let done):
                    settled.append(done)
                }
            }
            for summary in store.coalescer.due(at: now) { store.add(summary, done: nil, waited: false, now: now) }
            store.flush(toDisk: false)
            store.flushIfDue(now: store.configuration.clock.now())
            for done in settled { done() }
            if stop, batch.isEmpty {
                store.finish(now: now)
                condition.lock()
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            if batch.isEmpty { store.compressStep() }
        }
    }
}
