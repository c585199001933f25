import Foundation
import HVSystem
import Synchronization

/// The broker's audit log: hash-chained JSON Lines records in segments, mirrored to the journal.
///
/// Records are appended by one writer thread (`AuditWriter`); `append` returns once the record is
/// on disk, and throws when it could not be written, so a change can be refused (fail closed).
/// `enqueue` returns once the record is queued, for records whose caller does not wait on them.
/// The active segment is sealed by size and age; sealed segments are listed in a manifest,
/// compressed and, past the number kept, removed with a record of their removal.
///
/// The log keeps a checkpoint of the last record verified, in memory and beside the log:
/// `verifyRecent()` reads only what was appended since, so its cost does not grow with the
/// history; `verifyAll()` reads everything, a chunk at a time.
public final class AuditLog: Sendable {
    public let files: AuditFiles
    public let configuration: AuditConfiguration
    public var path: String { files.log }
    public var headPath: String { files.head }
    /// What was wrong with the log when it was opened, such as records removed from its end
    /// while no broker ran; the broker records it as the first entry of its run.
    public let startupProblem: String?
    private let writer: AuditWriter
    /// Records queued by `enqueue` and not yet written.
    private let queued = AuditBacklog(limit: AuditLog.queuedLimit)
    /// How many records `enqueue` lets wait for the writer before it waits itself.
    public static let queuedLimit = 1024
    private let snapshot: SharedSnapshot
    private let checkpoint: Mutex<AuditCheckpoint>
    /// Held (on a verifying thread, never a Swift concurrency thread) while a verification runs.
    private let verifying = NSLock()
    /// The manifest file's bytes when they last passed the check, with the manifest the broker
    /// had written then. The same bytes against the same manifest pass again without being
    /// decoded and re-hashed, so a health check does not grow with the number of sealed segments.
    private let manifestPassed = Mutex<(bytes: [UInt8], written: AuditManifest)?>(nil)

    /// Opens (creating if needed) the log, continuing the chain from its last record.
    /// - Parameter report: told about housekeeping that failed (a segment not sealed, compressed
    ///   or removed), which the broker logs; records themselves fail through `append`.
    public init(
        path: String, configuration: AuditConfiguration = AuditConfiguration(), journal: Bool = Journal.isAvailable,
        report: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(AuditError) {
        files = AuditFiles(log: path)
        self.configuration = configuration
        let store = try AuditStore(files: files, configuration: configuration, journal: journal, report: report)
        startupProblem = store.startupProblem
        snapshot = store.snapshot
        checkpoint = Mutex(AuditCheckpoint.load(files.checkpoint, manifest: store.manifest) ?? .origin(store.manifest))
        writer = AuditWriter(store: store)
    }

    deinit {
        writer.stop()
    }

    /// Links the record into the chain and writes it; returns the record as written, once it is
    /// on disk.
    @discardableResult
    public func append(_ record: AuditRecord) async throws(AuditError) -> AuditRecord {
        guard let written = try await append(record, coalescing: nil) else {
            throw AuditError(.unwritable, "the record was counted, not written")
        }
        return written
    }

    /// Writes the record, or, when it is a refusal of a kind that floods (`coalescing`) past the
    /// first few in its window, counts it for the window's summary and returns nil.
    public func append(_ record: AuditRecord, coalescing: AuditCoalescing?) async throws(AuditError) -> AuditRecord? {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<AuditRecord?, AuditError>, Never>) in
            submit(record, coalescing: coalescing) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Queues the record without waiting for it; `done` is told the outcome on the writer thread,
    /// once the record is on disk (`waited`), or once it is written (see `enqueue`).
    public func submit(
        _ record: AuditRecord, coalescing: AuditCoalescing? = nil, waited: Bool = true,
        done: @escaping @Sendable (Result<AuditRecord?, AuditError>) -> Void
    ) {
        guard writer.submit(.append(record, coalescing, done, waited: waited)) else {
            done(.failure(AuditError(.closed, "the audit log \(path) is closed")))
            return
        }
    }

    /// Queues the record and returns without waiting for it to be written, unless
    /// `queuedLimit` records queued this way are still waiting: then it waits until one is
    /// written, so a caller that never pauses can't grow the queue. For records whose caller
    /// does not act on the outcome (a read is answered even when the log can't be written);
    /// `done` is told the outcome on the writer thread, once the record is written. Records are
    /// written in the order queued, with those of `append`, and reach the disk with the next
    /// record a caller waits on or within `AuditConfiguration.unwaitedFlushDelay`.
    public func enqueue(
        _ record: AuditRecord, coalescing: AuditCoalescing? = nil, done: @escaping @Sendable (Result<AuditRecord?, AuditError>) -> Void
    ) async {
        await queued.enter()
        let queued = queued
        submit(record, coalescing: coalescing, waited: false) { result in
            queued.leave()
            done(result)
        }
    }

    /// Returns once every record queued before the call is written (or has failed).
    public func settle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !writer.submit(.settle({ continuation.resume() })) { continuation.resume() }
        }
    }

    /// Writes every coalesced count now, without waiting for its window to end.
    public func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !writer.submit(.flush({ continuation.resume() })) { continuation.resume() }
        }
    }

    /// Compresses every sealed segment that is still plain now, instead of a piece at a time
    /// between appends; returns when they are done (or left as they are, reported).
    public func compressSealedSegments() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !writer.submit(.compress({ continuation.resume() })) { continuation.resume() }
        }
    }

    /// The sequence number of the last record known to be on disk (records queued with `enqueue`
    /// are written before they are flushed).
    var flushedSeq: Int { snapshot.current.flushedSeq }

    /// The last record verified.
    public var verified: AuditCheckpoint { checkpoint.withLock { $0 } }

    /// Verifies what was appended since the last verification (and that the record verified last
    /// is still there), then moves the checkpoint to the end. Its cost follows the records new
    /// since, not the history.
    /// Records queued before the call are written first, so they are among those verified.
    public func verifyRecent() async -> AuditChain.Verification {
        await settle()
        return await Self.onThread { self.verify(fromStart: false, progress: nil) }
    }

    /// Verifies the whole log: the manifest, every sealed segment kept and the active one.
    /// Records queued before the call are written first, so they are among those verified.
    public func verifyAll(progress: (@Sendable (AuditProgress) -> Void)? = nil) async -> AuditChain.Verification {
        await settle()
        return await Self.onThread { self.verify(fromStart: true, progress: progress) }
    }

    /// Verifies a log from its files alone, as `hv audit verify --file` does: the manifest beside
    /// it, every segment, and the head file when there is one. Blocks the calling thread.
    public static func verify(logAt path: String, progress: (@Sendable (AuditProgress) -> Void)? = nil) -> AuditChain.Verification {
        let files = AuditFiles(log: path)
        let manifest: AuditManifest
        do {
            manifest = try AuditManifest.load(files.manifest) ?? AuditManifest()
        } catch {
            return AuditChain.Verification(intact: false, records: 0, segment: (files.manifest as NSString).lastPathComponent, reason: error.reason)
        }
        if let broken = ManifestCheck(files: files).check(onDisk: manifest, written: nil) { return broken }
        var verifier = AuditVerifier(
            files: files, manifest: manifest, start: .origin(manifest), head: AuditStore.readHead(files.head), active: nil
        )
        verifier.progress = progress
        return verifier.run().0
    }

    private func verify(fromStart: Bool, progress: (@Sendable (AuditProgress) -> Void)?) -> AuditChain.Verification {
        verifying.lock()
        defer { verifying.unlock() }
        let files = self.files
        // The manifest on disk, the active segment and the head, all as of one moment.
        let taken: (SharedSnapshot.State, Result<[UInt8]?, AuditError>, Descriptor?)
        do {
            taken = try snapshot.withLock { (state: inout SharedSnapshot.State) throws(AuditError) in
                let onDisk = Result { () throws(AuditError) in try FileIO.contents(files.manifest) }
                return (state, onDisk, try? Descriptor.open(files.log, O_RDONLY))
            }
        } catch {
            return AuditChain.Verification(intact: false, records: 0, reason: error.reason)
        }
        let (state, onDisk, active) = taken
        if let broken = checkManifest(onDisk, written: state.manifest, again: !fromStart) { return broken }
        let stored = checkpoint.withLock { $0 }
        let usable = stored.segment >= state.manifest.firstKept && stored.seq <= state.head.seq
        let start = fromStart || !usable ? AuditCheckpoint.origin(state.manifest) : stored
        var verifier = AuditVerifier(
            files: files, manifest: state.manifest, start: start, head: state.head, active: active
        )
        verifier.progress = progress
        let snapshot = snapshot
        verifier.retiredSince = { number in snapshot.current.manifest.firstKept > number }
        let (result, reached) = verifier.run()
        if result.intact, reached.seq >= stored.seq || !usable {
            checkpoint.withLock { $0 = reached }
            try? reached.write(to: files.checkpoint)
        }
        return result
    }

    /// The manifest file (`onDisk`, its bytes) against the one the broker wrote; nil when it
    /// passes. With `again`, bytes that passed before against the same written manifest pass
    /// without being decoded.
    private func checkManifest(
        _ onDisk: Result<[UInt8]?, AuditError>, written: AuditManifest, again: Bool
    ) -> AuditChain.Verification? {
        let manifestCheck = ManifestCheck(files: files)
        let bytes: [UInt8]?
        switch onDisk {
        case .success(let read): bytes = read
        case .failure(let error): return AuditChain.Verification(intact: false, records: 0, segment: manifestCheck.name, reason: error.reason)
        }
        if again, let bytes, let passed = manifestPassed.withLock({ $0 }), passed.bytes == bytes, passed.written == written {
            return nil
        }
        let found: AuditManifest?
        do {
            found = try bytes.map { (bytes) throws(AuditError) in try AuditManifest.decode(bytes, path: files.manifest) }
        } catch {
            return AuditChain.Verification(intact: false, records: 0, segment: manifestCheck.name, reason: error.reason)
        }
        if let broken = manifestCheck.check(onDisk: found, written: written) { return broken }
        if let bytes { manifestPassed.withLock { $0 = (bytes, written) } }
        return nil
    }

    /// Runs blocking work on a thread of its own, so no Swift concurrency thread waits on the disk.
    private static func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: work()) }
        }
    }
}

/// The manifest on disk against its own hash and, in the broker, against the one it wrote.
struct ManifestCheck {
    let files: AuditFiles
    var name: String { (files.manifest as NSString).lastPathComponent }

    func check(onDisk found: AuditManifest?, written: AuditManifest?) -> AuditChain.Verification? {
        if found == nil, let written, written.segments.count + (written.retired?.count ?? 0) > 0 {
            return broken("the manifest \(name) was removed", segment: nil)
        }
        let onDisk = found ?? AuditManifest()
        let changed = written.flatMap { written in
            zip(onDisk.segments, written.segments).first { $0 != $1 }?.1.file
                ?? (onDisk.segments.count != written.segments.count ? (onDisk.segments.last ?? written.segments.last)?.file : nil)
        }
        if !onDisk.isUnchanged {
            let which = changed.map { ": the entry of \($0) differs from the one written" } ?? ""
            return broken("the manifest \(name) was edited (its hash does not match its entries)\(which)", segment: changed)
        }
        if let written, onDisk != written {
            let which = changed ?? (onDisk.retired != written.retired ? "its retired segments" : "its entries")
            return broken("the manifest \(name) differs from the one the broker wrote, in \(which): it was replaced", segment: changed)
        }
        return nil
    }

    private func broken(_ reason: String, segment: String?) -> AuditChain.Verification {
        AuditChain.Verification(intact: false, records: 0, segment: segment ?? name, reason: reason)
    }
}
