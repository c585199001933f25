import Foundation
import Synchronization

/// Writes a long history into a new log in one go, exactly as the broker's writer would have
/// written the same records at the same times: the same chain and lines, segments sealed by size
/// and age and compressed, the manifest, the head file and, at the end, the checkpoint that a
/// verification leaves. What differs is only how: records go to disk in large groups, each with
/// one flush, rather than one group per request, so ten million records take minutes. For
/// benchmarks and tests that need a history a broker would take years to write.
public final class AuditHistoryWriter {
    public let files: AuditFiles
    private let store: AuditStore
    private let shared: Shared
    private let written: AuditStore.Completion

    /// What the store's callbacks and clock share with the writer.
    private final class Shared: Sendable {
        /// The log's clock while it writes: the time of the record being added.
        let now = Mutex(Date(timeIntervalSince1970: 0))
        /// The first record that could not be written.
        let failure = Mutex<AuditError?>(nil)
        /// Housekeeping that failed (a segment not sealed or compressed).
        let problems = Mutex<[String]>([])
    }

    /// Bytes of records written together with one flush.
    static let groupBytes = 8 << 20

    /// Creates the log at `path`, which must not exist yet. `configuration`'s clock is not read:
    /// each record's time is given to `append`.
    public init(path: String, configuration: AuditConfiguration = AuditConfiguration()) throws(AuditError) {
        files = AuditFiles(log: path)
        for existing in [files.log, files.manifest, files.head] where FileIO.exists(existing) {
            throw AuditError(.unwritable, "\(existing) already exists: a history is written into a new log only", fix: "give a path in an empty directory")
        }
        let shared = Shared()
        self.shared = shared
        var configuration = configuration
        configuration.clock = AuditClock { shared.now.withLock { $0 } }
        store = try AuditStore(files: files, configuration: configuration, journal: false) { problem in
            shared.problems.withLock { $0.append(problem) }
        }
        written = { result in
            if case .failure(let error) = result { shared.failure.withLock { $0 = $0 ?? error } }
        }
    }

    /// Adds `record` as if it arrived at `time` (no earlier than the record before it); sealed
    /// segments are compressed as they are sealed.
    public func append(_ record: AuditRecord, at time: Date) throws(AuditError) {
        shared.now.withLock { $0 = time }
        store.add(record, done: written, now: time)
        if store.pendingBytes >= Self.groupBytes { store.flush() }
        while store.hasIdleWork { store.compressStep() }
        try check()
    }

    /// Writes what is pending, then verifies the active segment from its start and leaves the
    /// checkpoint there, as the broker's verification does. Returns the checkpoint: the last record.
    @discardableResult
    public func finish() throws(AuditError) -> AuditCheckpoint {
        store.finish(now: shared.now.withLock { $0 })
        while store.hasIdleWork { store.compressStep() }
        try check()
        let manifest = store.manifest
        let start = AuditCheckpoint(
            segment: manifest.activeNumber, offset: 0, line: 0, seq: store.activeStart.seq, hash: store.activeStart.hash
        )
        let (result, reached) = AuditVerifier(files: files, manifest: manifest, start: start, head: store.head, active: nil).run()
        guard result.intact else {
            throw AuditError(.unreadable, "the history just written does not verify: \(result.reason ?? "unknown")")
        }
        try reached.write(to: files.checkpoint)
        return reached
    }

    private func check() throws(AuditError) {
        if let error = shared.failure.withLock({ $0 }) { throw error }
        if let problem = shared.problems.withLock({ $0.first }) { throw AuditError(.unwritable, problem) }
    }
}
