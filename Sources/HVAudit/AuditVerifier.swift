import Foundation
import HVProtocol
import HVSystem

/// How far a verification has read, for a progress display: bytes of segment files read of the
/// total (compressed bytes for gzip segments), and the segment being read.
public typealias AuditProgress = AuditVerifyReply.Progress

/// Follows the chain through the segments, from a checkpoint (or the start) to the head, one
/// line at a time: memory stays the same however long the history. Each sealed segment must begin
/// and end where its manifest entry says; the first break is reported with its segment, line and
/// reason.
struct AuditVerifier {
    let files: AuditFiles
    let manifest: AuditManifest
    /// Where to start: a checkpoint, or the start of the first segment kept.
    let start: AuditCheckpoint
    /// The last record written; nil reads the active segment to its end.
    let head: AuditChain.Head?
    /// The active segment, opened when the snapshot was taken (it may have been sealed since).
    let active: Descriptor?
    var progress: (@Sendable (AuditProgress) -> Void)?
    /// Whether a sealed segment was removed by retention after the snapshot was taken (the broker
    /// goes on writing while it verifies); nil when verifying files alone.
    var retiredSince: ((Int) -> Bool)?

    private struct Stop: Error {
        var segment: String
        var line: Int?
        var reason: String
    }

    /// Verifies; returns the result and the checkpoint it reached.
    func run() -> (AuditChain.Verification, AuditCheckpoint) {
        var walk = Walk(start: start, totalBytes: totalBytes(), progress: progress)
        var result = AuditChain.Verification(intact: true, records: 0, retiredSegments: manifest.retired?.count ?? 0)
        do throws(Stop) {
            walk.bytesRead = try recheck(start)
            for entry in manifest.segments where entry.number >= start.segment {
                try verify(sealed: entry, walk: &walk)
            }
            try verifyActive(walk: &walk)
        } catch {
            result.intact = false
            result.segment = error.segment
            result.brokenAtLine = error.line
            result.reason = error.reason
        }
        result.records = walk.records
        result.head = walk.checkpoint.position
        result.segments = walk.segments
        result.retiredSegments += walk.retired
        result.bytesRead = walk.bytesRead
        return (result, walk.checkpoint)
    }

    /// The chain position and checkpoint as the walk advances, and what it has read.
    private struct Walk {
        var checkpoint: AuditCheckpoint
        var records = 0
        var segments = 0
        /// Segments retention removed while the walk ran.
        var retired = 0
        var bytesRead = 0
        let totalBytes: Int
        let progress: (@Sendable (AuditProgress) -> Void)?
        var lastReported = 0

        init(start: AuditCheckpoint, totalBytes: Int, progress: (@Sendable (AuditProgress) -> Void)?) {
            checkpoint = start
            self.totalBytes = totalBytes
            self.progress = progress
        }

        var position: AuditChain.Head { checkpoint.position }

        mutating func report(_ segment: String, reading bytes: Int, force: Bool = false) {
            guard let progress else { return }
            let done = bytesRead + bytes
            guard force || done - lastReported >= 4 << 20 else { return }
            lastReported = done
            progress(AuditProgress(bytes: done, totalBytes: totalBytes, segment: segment))
        }
    }

    private func verify(sealed entry: AuditManifest.Segment, walk: inout Walk) throws(Stop) {
        let resuming = entry.number == start.segment && start.offset > 0
        if !resuming, entry.start != walk.position {
            throw Stop(
                segment: entry.file, line: nil,
                reason: "the manifest says \(entry.file) holds \(entry.records), but the chain before it ends at record "
                    + "\(walk.position.seq) (hash \(walk.position.hash.prefix(12))): a segment was removed, or the manifest edited"
            )
        }
        guard let opened = openSealed(entry) else {
            if let retiredSince, retiredSince(entry.number) {
                // Retired meanwhile: the chain resumes after it, as the manifest now says.
                walk.retired += 1
                let end = entry.end
                walk.checkpoint = AuditCheckpoint(segment: entry.number + 1, offset: 0, line: 0, seq: end.seq, hash: end.hash)
                return
            }
            throw Stop(segment: entry.file, line: nil, reason: "the sealed segment \(entry.file) (\(entry.records)) is missing: it was removed")
        }
        let reader: SegmentReader
        do {
            reader = try SegmentReader(descriptor: opened.descriptor, path: files.path(opened.name), from: resuming ? start.offset : 0, line: resuming ? start.line : 0)
        } catch {
            throw Stop(segment: opened.name, line: nil, reason: error.reason)
        }
        try read(reader, segment: entry.number, until: entry.end, sealed: entry, walk: &walk)
        guard walk.position == entry.end else {
            let reason =
                walk.position.seq < entry.lastSeq
                ? "\(reader.name) ends at record \(walk.position.seq), but it was sealed with records up to \(entry.lastSeq): it was truncated"
                : "\(reader.name) ends with a record other than the one it was sealed with (hash \(entry.lastHash.prefix(12))): "
                    + "the segment was replaced or the manifest edited"
            throw Stop(segment: reader.name, line: nil, reason: reason)
        }
    }

    private func verifyActive(walk: inout Walk) throws(Stop) {
        if let head, walk.position.seq >= head.seq {
            try expect(head, reached: walk.position, segment: files.name)
            return
        }
        let number = manifest.activeNumber
        let resuming = start.segment == number
        let reader: SegmentReader
        do {
            if let active {
                reader = try SegmentReader(descriptor: active, path: files.log, from: resuming ? start.offset : 0, line: resuming ? start.line : 0)
            } else {
                reader = try SegmentReader(path: files.log, from: resuming ? start.offset : 0, line: resuming ? start.line : 0)
            }
        } catch {
            if head == nil, error.code == .unreadable, !FileIO.exists(files.log) { return }
            throw Stop(segment: files.name, line: nil, reason: error.reason)
        }
        try read(reader, segment: number, until: head, sealed: nil, walk: &walk)
        if let head { try expect(head, reached: walk.position, segment: files.name) }
    }

    /// Reads lines until `end` is reached (or the file ends), each continuing the chain.
    private func read(
        _ reader: SegmentReader, segment number: Int, until end: AuditChain.Head?, sealed: AuditManifest.Segment?, walk: inout Walk
    ) throws(Stop) {
        walk.segments += 1
        let name = reader.name
        walk.report(name, reading: 0, force: true)
        let base = walk.bytesRead
        var check = AuditChain.Check(after: walk.position)
        defer { walk.bytesRead = base + reader.bytesRead }
        while end.map({ check.position.seq < $0.seq }) ?? true {
            let line: SegmentReader.Line?
            do {
                line = try reader.next()
            } catch {
                throw Stop(segment: name, line: reader.lineNumber + 1, reason: error.reason)
            }
            walk.report(name, reading: reader.bytesRead)
            guard let line else { return }
            guard line.terminated else {
                throw Stop(segment: name, line: line.number, reason: "line \(line.number) is incomplete: a write was cut short or the file truncated")
            }
            do throws(AuditChain.Break) {
                _ = try check.accept(line.bytes, line: line.number)
            } catch {
                throw Stop(segment: name, line: line.number, reason: firstLineReason(line, sealed: sealed, otherwise: error.reason))
            }
            walk.records += 1
            walk.checkpoint = AuditCheckpoint(segment: number, offset: line.end, line: line.number, seq: check.position.seq, hash: check.position.hash)
        }
        if let sealed, let extra = try? reader.next() {
            throw Stop(
                segment: name, line: extra.number,
                reason: "line \(extra.number) follows record \(sealed.lastSeq), the last one \(name) was sealed with: lines were added"
            )
        }
    }

    /// For the first line of a sealed segment, a reason that says the segments are out of order.
    private func firstLineReason(_ line: SegmentReader.Line, sealed: AuditManifest.Segment?, otherwise reason: String) -> String {
        guard let sealed, line.number == 1,
            let record = try? JSONDecoder().decode(AuditRecord.self, from: Data(line.bytes)), record.seq != sealed.firstSeq
        else { return reason }
        return "\(sealed.file) begins with record \(record.seq), but it was sealed with \(sealed.records): segments were reordered or replaced"
    }

    private func expect(_ head: AuditChain.Head, reached position: AuditChain.Head, segment: String) throws(Stop) {
        if position.seq < head.seq {
            throw Stop(segment: segment, line: nil, reason: AuditChain.truncated(endsAt: position.seq, head: head))
        }
        guard position == head else {
            throw Stop(
                segment: segment, line: nil,
                reason: "record \(head.seq) is not the one the broker wrote (hash \(head.hash.prefix(12))): the log was rewritten"
            )
        }
    }

    /// The record a checkpoint names must still be where it was, unchanged: it is read back (a few
    /// hundred bytes) before going on from it. Returns the bytes read.
    private func recheck(_ checkpoint: AuditCheckpoint) throws(Stop) -> Int {
        guard checkpoint.offset > 0 else { return 0 }
        let descriptor: Descriptor?
        let name: String
        if checkpoint.segment == manifest.activeNumber, let active {
            descriptor = active
            name = files.name
        } else if let entry = manifest.segments.first(where: { $0.number == checkpoint.segment }), let opened = openSealed(entry) {
            // Expanding up to the offset checks the length; the segment's end is checked against the manifest.
            guard !AuditFiles.isCompressed(opened.name) else { return 0 }
            (descriptor, name) = opened
        } else if checkpoint.segment == manifest.activeNumber {
            descriptor = try? Descriptor.open(files.log, O_RDONLY)
            name = files.name
        } else {
            return 0
        }
        let changed = Stop(
            segment: name, line: checkpoint.line,
            reason: "line \(checkpoint.line), verified before as record \(checkpoint.seq), was changed or removed since"
        )
        guard let descriptor, let size = try? FileIO.size(of: descriptor), size >= checkpoint.offset else { throw changed }
        for limit in [4096, SegmentReader.maximumLineLength] {
            guard let bytes = try? FileIO.bytes(of: descriptor, endingAt: checkpoint.offset, limit: limit), bytes.last == 0x0A
            else { throw changed }
            let body = bytes.dropLast()
            let lineStart: Int
            if let newline = body.lastIndex(of: 0x0A) {
                lineStart = newline + 1
            } else if bytes.count < limit {
                lineStart = body.startIndex  // the read began at the start of the file
            } else {
                continue  // the line is longer than this read
            }
            let line = body[lineStart...]
            guard let record = try? JSONDecoder().decode(AuditRecord.self, from: Data(line)),
                record.seq == checkpoint.seq, record.hash == checkpoint.hash, AuditChain.hash(of: record) == record.hash
            else { throw changed }
            return bytes.count
        }
        throw changed
    }

    /// Opens a sealed segment by the name the manifest gives, or by its other name (compressed
    /// meanwhile); with the name it was found under.
    private func openSealed(_ entry: AuditManifest.Segment) -> (descriptor: Descriptor, name: String)? {
        for name in [entry.file, files.sealedName(entry.number, compressed: !AuditFiles.isCompressed(entry.file))] {
            if let descriptor = try? Descriptor.open(files.path(name), O_RDONLY) { return (descriptor, name) }
        }
        return nil
    }

    private func totalBytes() -> Int {
        var total = 0
        for entry in manifest.segments where entry.number >= start.segment {
            total += FileIO.size(files.path(entry.file)) ?? 0
        }
        if let active, let size = try? FileIO.size(of: active) {
            total += size
        } else {
            total += FileIO.size(files.log) ?? 0
        }
        return max(0, total - start.offset)
    }
}
