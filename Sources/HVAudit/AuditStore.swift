import Foundation
import HVSystem

/// The log's files as the writer thread keeps them: the active segment it appends to, the head
/// file, the manifest and the sealing, retiring and compressing of segments. Used only on the
/// writer's thread (`AuditWriter`), so it takes no locks of its own; what readers need it publishes
/// through `snapshot`.
final class AuditStore {
    typealias Completion = @Sendable (Result<AuditRecord?, AuditError>) -> Void

    let files: AuditFiles
    let configuration: AuditConfiguration
    let snapshot: SharedSnapshot
    /// What was wrong with the log when it was opened; the broker records it first.
    let startupProblem: String?
    /// Told about housekeeping that failed (a segment not sealed, compressed or retired) and why.
    let report: @Sendable (String) -> Void
    private let journal: Bool

    /// The active segment, appended to; nil when it must be created before the next record.
    private var descriptor: Descriptor?
    private let headDescriptor: Descriptor
    private(set) var head: AuditChain.Head
    private(set) var manifest: AuditManifest
    private var activeSize: Int
    /// The active segment's first record's time; nil while it is empty.
    private var activeStarted: Date?
    /// Where the chain stood before the active segment's first record.
    private(set) var activeStart: AuditChain.Head
    var coalescer: Coalescer
    var compressor: SegmentCompressor?
    var compressionQueue: [Int] = []
    private var retiring = false

    /// Records encoded but not yet written: written together with one `write` and one flush.
    private var batch: [UInt8] = []
    private var batchRecords: [(record: AuditRecord, done: Completion?)] = []
    private var batchStart: (size: Int, head: AuditChain.Head, started: Date?, start: AuditChain.Head)?
    /// A record in the batch is one whose caller waits until it is on disk.
    private var batchWaited = false
    /// When records were first written that are not yet flushed to the disk (records no caller
    /// waits on: see `AuditConfiguration.unwaitedFlushDelay`); nil when all are.
    private(set) var unflushedSince: Date?

    /// The head file's fixed size: a short JSON object padded with spaces.
    static let headSize = 128
    /// How much of a segment's end is read to find its last record.
    static let tailLength = SegmentReader.maximumLineLength

    /// Opens the log, finishing a seal or compression a crash interrupted, and continues the chain
    /// from the last record. Reads the manifest, the first and last lines of the active segment
    /// and the head file: never the whole history.
    init(files: AuditFiles, configuration: AuditConfiguration, journal: Bool, report: @escaping @Sendable (String) -> Void) throws(AuditError) {
        self.files = files
        self.configuration = configuration
        self.journal = journal
        self.report = report
        coalescer = Coalescer(window: configuration.coalescingWindow, burst: configuration.coalescingBurst)
        do {
            try FileManager.default.createDirectory(atPath: files.directory, withIntermediateDirectories: true)
        } catch {
            throw AuditError(.unwritable, "cannot create \(files.directory): \(error.localizedDescription)")
        }
        var problems: [String] = []
        var manifest = try AuditManifest.load(files.manifest) ?? AuditManifest()
        if !manifest.isUnchanged {
            problems.append("the manifest \((files.manifest as NSString).lastPathComponent) was edited while no broker ran (its hash does not match)")
        }
        try Self.finishInterruptedWork(files, &manifest)
        self.manifest = manifest

        let active = try Self.openActive(files)
        descriptor = active
        headDescriptor = try AuditError.catching(.unwritable) { try Descriptor.open(files.head, O_RDWR | O_CREAT, mode: 0o640) }
        activeSize = try FileIO.size(of: active)
        let edges = try Self.edges(of: files.log, size: activeSize)
        if edges.torn {
            // A line cut short by a crash: end it, so the next record starts on its own line.
            try Self.append([UInt8(ascii: "\n")], to: active)
            activeSize += 1
        }
        let sealedEnd = manifest.sealedEnd
        head = edges.last.map { AuditChain.Head(seq: $0.seq, hash: $0.hash) } ?? sealedEnd
        activeStart = edges.first.map { AuditChain.Head(seq: $0.seq - 1, hash: $0.prev) } ?? sealedEnd
        let headFile = Self.readHeadFile(files.head)
        // When the segment began: as the head file says, else its first record's time.
        activeStarted = activeSize == 0 ? nil : headFile?.since.map { Date(timeIntervalSince1970: TimeInterval($0)) }
            ?? edges.first.flatMap { Self.date($0.time) } ?? configuration.clock.now()
        if let stored = headFile?.head, stored.seq > head.seq || (stored.seq == head.seq && stored.hash != head.hash) {
            problems.append(
                "the audit log ends at record \(head.seq) but the broker last wrote record \(stored.seq) "
                    + "(hash \(stored.hash.prefix(12))): the log was changed while no broker ran"
            )
        }
        startupProblem = problems.isEmpty ? nil : problems.joined(separator: "; ")
        snapshot = SharedSnapshot(.init(head: head, flushedSeq: head.seq, activeNumber: manifest.activeNumber, manifest: manifest))
        if configuration.compression == .gzip {
            compressionQueue = manifest.segments.filter { !AuditFiles.isCompressed($0.file) }.map(\.number)
        }
    }

    // MARK: Appending

    /// Adds a record to the group being written. When a caller waits on it (`waited`), `done` is
    /// told once it is on disk (or not); otherwise once it is written, and it reaches the disk
    /// with the next record a caller waits on or within `unwaitedFlushDelay`. Seals the active
    /// segment first when the record would take it past its size or age.
    func add(_ record: AuditRecord, done: Completion?, waited: Bool = true, now: Date) {
        if descriptor != nil, activeSize > 0, needsSeal(adding: estimatedLength(record), now: now) {
            flush()
            seal(now: now)
        }
        if descriptor == nil {
            do throws(AuditError) {
                descriptor = try Self.openActive(files)
            } catch {
                done?(.failure(error))
                return
            }
        }
        if activeSize == 0, manifest.activeNumber > 1 {
            // A new segment opens with a record naming the one before it.
            enqueue(opening(now: now), done: nil)
        }
        enqueue(record, done: done)
        if waited { batchWaited = true }
    }

    /// Writes the group: one `write`, a flush to the disk, then the head file. The flush is left
    /// for later (`flushIfDue`) when `toDisk` is false and no caller waits on a record of the
    /// group. On failure the segment is cut back to where the group began, every record in it
    /// fails, and counted refusals go back to the coalescer. Returns whether the group is written
    /// (and on disk, when it was flushed).
    @discardableResult
    func flush(toDisk: Bool = true) -> Bool {
        guard let start = batchStart else { return toDisk ? flushUnflushed() : true }
        let records = batchRecords
        let flushNow = toDisk || batchWaited
        do throws(AuditError) {
            // `add` opens the segment before it queues a record.
            guard let descriptor else { throw AuditError(.unwritable, "cannot write to \(files.log): it is not open") }
            try AuditError.catching(.unwritable, doing: "write to \(descriptor.name)") { try descriptor.writeAll(batch) }
            if flushNow { try Self.flushData(of: descriptor) }
            try writeHead()
        } catch {
            try? descriptor?.truncate(to: UInt64(start.size))
            head = start.head
            activeSize = start.size
            activeStarted = start.started
            activeStart = start.start
            clearBatch()
            coalescer.restore(records.filter { $0.done == nil && $0.record.coalesced != nil }.map(\.record), at: configuration.clock.now())
            for (_, done) in records { done?(.failure(error)) }
            return false
        }
        clearBatch()
        if flushNow {
            unflushedSince = nil
        } else if unflushedSince == nil {
            unflushedSince = configuration.clock.now()
        }
        let head = head
        try? snapshot.withLock { state in
            state.head = head
            if flushNow { state.flushedSeq = head.seq }
        }
        for (record, done) in records {
            if journal { Journal.send(record) }
            done?(.success(record))
        }
        return true
    }

    private func enqueue(_ record: AuditRecord, done: Completion?) {
        if batchStart == nil { batchStart = (activeSize, head, activeStarted, activeStart) }
        var record = record
        record.seq = head.seq + 1
        record.prev = head.hash
        record.hash = AuditChain.hash(of: record)
        var line = AuditChain.canonicalJSON(record)
        guard !line.isEmpty else {
            done?(.failure(AuditError(.unwritable, "the record could not be encoded")))
            return
        }
        line.append(UInt8(ascii: "\n"))
        if activeSize == 0 {
            activeStart = head
            activeStarted = configuration.clock.now()
        }
        batch += line
        activeSize += line.count
        head = AuditChain.Head(seq: record.seq, hash: record.hash)
        batchRecords.append((record, done))
    }

    /// When the records written but not yet flushed must be: the writer wakes then.
    var unflushedDeadline: Date? { unflushedSince.map { $0.addingTimeInterval(configuration.unwaitedFlushDelay.timeInterval) } }

    /// Flushes records written without a flush once they have waited `unwaitedFlushDelay`.
    /// Returns whether everything written is on disk.
    @discardableResult
    func flushIfDue(now: Date) -> Bool {
        guard let deadline = unflushedDeadline else { return true }
        guard now >= deadline else { return false }
        return flushUnflushed()
    }

    /// Flushes records written without a flush, whatever they have waited. Their callers were told
    /// already, so a failure is reported. Returns whether everything written is on disk.
    @discardableResult
    func flushUnflushed() -> Bool {
        guard unflushedSince != nil else { return true }
        do throws(AuditError) {
            guard let descriptor else { throw AuditError(.unwritable, "cannot flush \(files.log): it is not open") }
            try Self.flushData(of: descriptor)
            unflushedSince = nil
            let seq = head.seq
            try? snapshot.withLock { $0.flushedSeq = seq }
            return true
        } catch {
            // Tried again a delay later (at least a second), so a disk that fails every flush is
            // neither retried in a loop nor reported more than once a second.
            let retryIn = max(configuration.unwaitedFlushDelay.timeInterval, 1)
            unflushedSince = configuration.clock.now().addingTimeInterval(retryIn - configuration.unwaitedFlushDelay.timeInterval)
            report("audit records written without waiting (reads' records) could not be flushed to the disk: \(error)")
            return false
        }
    }

    /// Bytes encoded and waiting for the next `flush`.
    var pendingBytes: Int { batch.count }

    private func clearBatch() {
        batch.removeAll(keepingCapacity: true)
        batchRecords.removeAll(keepingCapacity: true)
        batchStart = nil
        batchWaited = false
    }

    private func writeHead() throws(AuditError) {
        let file = HeadFile(seq: head.seq, hash: head.hash, since: activeStarted.map { Int($0.timeIntervalSince1970) })
        var bytes = AuditChain.canonicalJSON(file)
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: max(0, Self.headSize - 1 - bytes.count)) + [UInt8(ascii: "\n")]
        try AuditError.catching(.unwritable) { try headDescriptor.writeAll(bytes, at: 0) }
    }

    /// Opens (or creates) the active segment for appending.
    private static func openActive(_ files: AuditFiles, exclusive: Bool = false) throws(AuditError) -> Descriptor {
        try AuditError.catching(.unwritable, doing: "open audit log \(files.log)") {
            try Descriptor.open(files.log, O_WRONLY | O_APPEND | O_CREAT | (exclusive ? O_EXCL : 0), mode: 0o640)
        }
    }

    /// Appends `bytes` to the active segment with as few writes as it takes, then flushes them.
    private static func append(_ bytes: [UInt8], to segment: Descriptor) throws(AuditError) {
        try AuditError.catching(.unwritable, doing: "write to \(segment.name)") { try segment.writeAll(bytes) }
        try flushData(of: segment)
    }

    private static func flushData(of segment: Descriptor) throws(AuditError) {
        try AuditError.catching(.unwritable, doing: "flush \(segment.name)") { try segment.syncData() }
    }

    private func estimatedLength(_ record: AuditRecord) -> Int {
        // The chain fields add two hashes and a number to what the caller filled in.
        AuditChain.canonicalJSON(record).count + 160
    }

    private func needsSeal(adding length: Int, now: Date) -> Bool {
        if activeSize + length > configuration.segmentSize { return true }
        guard let activeStarted else { return false }
        return now.timeIntervalSince(activeStarted) >= configuration.segmentAge.timeInterval
    }

    /// The first record of a segment after the first: it names the segment before and its end.
    private func opening(now: Date) -> AuditRecord {
        let previous = manifest.segments.last
        let name = previous?.file ?? "retired segment \(manifest.retired?.lastNumber ?? 0)"
        let end = manifest.sealedEnd
        return .ofTheLog(
            method: "(audit segment)", target: files.sealedName(manifest.activeNumber, compressed: false),
            result: "segment \(manifest.activeNumber) follows \(name), which ends at record \(end.seq) (hash \(end.hash))",
            time: now
        )
    }

    // MARK: Sealing

    /// Seals the active segment: the manifest gains its entry, then the file is renamed to its
    /// sealed name and a new active segment begins. A crash between the two is finished at the
    /// next start (`finishInterruptedWork`). When sealing fails, appends go on in the same segment.
    func seal(now: Date) {
        guard flush(), activeSize > 0, head.seq > activeStart.seq else { return }
        let number = manifest.activeNumber
        let name = files.sealedName(number, compressed: false)
        let entry = AuditManifest.Segment(
            number: number, file: name, firstSeq: activeStart.seq + 1, lastSeq: head.seq, prev: activeStart.hash,
            lastHash: head.hash, sealedAt: AuditRecord.timestamp(now)
        )
        var sealed = manifest
        sealed.update { $0.segments.append(entry) }
        do throws(AuditError) {
            try snapshot.withLock { (state: inout SharedSnapshot.State) throws(AuditError) in
                try sealed.write(to: files.manifest)
                do throws(AuditError) {
                    try FileIO.rename(files.log, to: files.path(name))
                } catch {
                    try? self.manifest.write(to: files.manifest)
                    throw error
                }
                descriptor?.close()
                descriptor = try? Self.openActive(files, exclusive: true)
                state.manifest = sealed
                state.activeNumber = sealed.activeNumber
            }
            try AuditError.catching(.unwritable) { try Descriptor.syncDirectory(files.directory) }
        } catch {
            if manifest.activeNumber == snapshot.current.activeNumber {
                report("audit segment \(number) could not be sealed, so records go on into \(files.name): \(error)")
                return
            }
            report("audit segment \(number) was sealed, but its directory could not be flushed: \(error)")
        }
        manifest = sealed
        activeSize = 0
        activeStarted = nil
        activeStart = head
        if configuration.compression == .gzip { compressionQueue.append(number) }
        retire(now: now)
    }

    /// Removes the oldest sealed segments beyond `keepSegments`, each after a record of its
    /// removal is on disk; the manifest keeps the last one's end, where the chain resumes.
    private func retire(now: Date) {
        guard configuration.keepSegments > 0, !retiring else { return }
        retiring = true
        defer { retiring = false }
        while manifest.segments.count > configuration.keepSegments, let oldest = manifest.segments.first {
            add(
                .ofTheLog(
                    method: "(audit retention)", target: oldest.file,
                    result: "sealed segment \(oldest.number) (\(oldest.records), last hash \(oldest.lastHash)) removed: "
                        + "\(configuration.keepSegments) sealed segments are kept",
                    time: now
                ),
                done: nil, now: now
            )
            guard flush() else {
                report("audit segment \(oldest.number) was not removed: the record of its removal could not be written")
                return
            }
            var retired = manifest
            retired.update {
                $0.segments.removeFirst()
                $0.retired = AuditManifest.Retired(
                    count: ($0.retired?.count ?? 0) + 1, lastNumber: oldest.number, lastSeq: oldest.lastSeq, lastHash: oldest.lastHash
                )
            }
            do throws(AuditError) {
                try snapshot.withLock { (state: inout SharedSnapshot.State) throws(AuditError) in
                    try retired.write(to: files.manifest)
                    state.manifest = retired
                }
            } catch {
                report("audit segment \(oldest.number) was not removed: \(error)")
                return
            }
            manifest = retired
            for compressed in [false, true] { unlink(files.path(files.sealedName(oldest.number, compressed: compressed))) }
            try? Descriptor.syncDirectory(files.directory)
            compressionQueue.removeAll { $0 == oldest.number }
            if compressor?.entry.number == oldest.number { compressor = nil }
        }
    }

    /// Points the manifest's entry for a segment at its compressed file, under the snapshot's lock
    /// so readers never look for a file the manifest no longer names.
    func replaceFile(of number: Int, with file: String, install: () throws(AuditError) -> Void) throws(AuditError) {
        var changed = manifest
        changed.update { manifest in
            if let index = manifest.segments.firstIndex(where: { $0.number == number }) { manifest.segments[index].file = file }
        }
        try snapshot.withLock { (state: inout SharedSnapshot.State) throws(AuditError) in
            try install()
            try changed.write(to: files.manifest)
            state.manifest = changed
        }
        manifest = changed
    }

    /// Writes what is pending and every coalesced count; the log writes nothing after this.
    func finish(now: Date) {
        for summary in coalescer.due(at: now, all: true) { add(summary, done: nil, now: now) }
        flush()
    }

    // MARK: Opening

    /// The first and last records of a segment, read from its two ends only.
    private static func edges(of path: String, size: Int) throws(AuditError) -> (first: AuditRecord?, last: AuditRecord?, torn: Bool) {
        guard size > 0 else { return (nil, nil, false) }
        let segment = try AuditError.catching(.unreadable) { try Descriptor.open(path, O_RDONLY) }
        let decoder = JSONDecoder()
        let tail = try FileIO.bytes(of: segment, endingAt: size, limit: tailLength)
        let torn = tail.last != UInt8(ascii: "\n")
        let last = tail.split(separator: UInt8(ascii: "\n")).reversed().lazy.compactMap {
            try? decoder.decode(AuditRecord.self, from: Data($0))
        }.first
        let head = try FileIO.bytes(of: segment, endingAt: min(size, tailLength), limit: tailLength)
        let first = head.split(separator: UInt8(ascii: "\n"), maxSplits: 1).first.flatMap {
            try? decoder.decode(AuditRecord.self, from: Data($0))
        }
        return (first, last, torn)
    }

    /// Finishes what a crash interrupted: a seal whose manifest was written but whose file was not
    /// renamed, a compression whose result was not yet named in the manifest, files of retired
    /// segments and temporary files.
    private static func finishInterruptedWork(_ files: AuditFiles, _ manifest: inout AuditManifest) throws(AuditError) {
        for temporary in [files.manifest + ".tmp", files.checkpoint + ".tmp"] { unlink(temporary) }
        if let last = manifest.segments.last, !FileIO.exists(files.path(last.file)),
            !FileIO.exists(files.path(files.sealedName(last.number, compressed: !AuditFiles.isCompressed(last.file)))),
            let size = FileIO.size(files.log),
            try edges(of: files.log, size: size).first?.seq == last.firstSeq
        {
            try FileIO.rename(files.log, to: files.path(last.file))
        }
        for segment in manifest.segments {
            unlink(files.path(files.sealedName(segment.number, compressed: true)) + ".tmp")
            let other = files.sealedName(segment.number, compressed: !AuditFiles.isCompressed(segment.file))
            if FileIO.exists(files.path(segment.file)) { unlink(files.path(other)) }
        }
        if let retired = manifest.retired {
            // Retention removes one segment at a time, after the manifest stops naming it.
            for compressed in [false, true] { unlink(files.path(files.sealedName(retired.lastNumber, compressed: compressed))) }
        }
        try AuditError.catching(.unwritable) { try Descriptor.syncDirectory(files.directory) }
    }

    /// The head file: the last record written, and when the active segment began (seconds since
    /// 1970; absent in head files written before segments, and while the segment is empty).
    struct HeadFile: Codable {
        var seq: Int
        var hash: String
        var since: Int?
        var head: AuditChain.Head { AuditChain.Head(seq: seq, hash: hash) }
    }

    static func readHeadFile(_ path: String) -> HeadFile? {
        guard let bytes = try? FileIO.contents(path) else { return nil }
        return try? JSONDecoder().decode(HeadFile.self, from: Data(bytes))
    }

    /// Reads the head file written beside a log, if there is one.
    static func readHead(_ path: String) -> AuditChain.Head? { readHeadFile(path)?.head }

    static func date(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}
