import HVNBD

/// What a chunk of a disk needs to be backed up.
public enum ChunkKind: Sendable, Hashable {
    /// Every byte reads as zero: nothing to read.
    case zero
    /// Nothing changed since the checkpoint the backup is incremental to: nothing to read.
    case unchanged
    /// The chunk must be read.
    case data
}

/// One fixed-size chunk of a disk and what it needs; the last chunk of a disk may be shorter.
public struct PlannedChunk: Sendable, Hashable {
    /// The chunk's number: its offset divided by the chunk size.
    public var index: Int
    public var offset: UInt64
    public var length: Int
    public var kind: ChunkKind

    public init(index: Int, offset: UInt64, length: Int, kind: ChunkKind) {
        self.index = index
        self.offset = offset
        self.length = length
        self.kind = kind
    }
}

/// Turns NBD block status into one decision per chunk.
public enum ChunkPlan {
    /// The chunks of `range` and what each needs, from the extents of `base:allocation` and, for
    /// an incremental backup, of the dirty bitmap (nil for a full backup).
    ///
    /// `range` starts on a chunk boundary and ends on one or at the end of the disk. Extents may
    /// start before it, end after it and cross chunk boundaries. A chunk is `unchanged` when no byte
    /// of it is dirty, else `zero` when every byte reads as zero, else `data`. A byte no extent
    /// describes counts as dirty and as data, so a gap in what the server said is read, never skipped.
    public static func chunks(
        in range: Range<UInt64>, chunkSize: Int, allocation: [Extent], dirty: [Extent]?
    ) -> [PlannedChunk] {
        precondition(chunkSize > 0 && range.lowerBound % UInt64(chunkSize) == 0, "chunks start on a chunk boundary")
        var allocated = ExtentCursor(allocation)
        var changed = dirty.map(ExtentCursor.init)
        var chunks: [PlannedChunk] = []
        chunks.reserveCapacity(Int((range.count + chunkSize - 1) / chunkSize))
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + UInt64(chunkSize), range.upperBound)
            let kind: ChunkKind
            if let touched = changed?.touches(.dirty, from: start, to: end), !touched {
                kind = .unchanged
            } else if !allocated.touches(.data, from: start, to: end) {
                kind = .zero
            } else {
                kind = .data
            }
            chunks.append(PlannedChunk(index: Int(start / UInt64(chunkSize)), offset: start, length: Int(end - start), kind: kind))
            start = end
        }
        return chunks
    }
}

/// Walks sorted extents once while asked about ranges in increasing order.
struct ExtentCursor {
    private let extents: [Extent]
    private var index = 0

    init(_ extents: [Extent]) {
        self.extents = extents
    }

    /// Whether a byte of `start..<end` lies in an extent in `state`, or in no extent at all.
    mutating func touches(_ state: Extent.State, from start: UInt64, to end: UInt64) -> Bool {
        while index < extents.count, extents[index].end <= start { index += 1 }
        var covered = start
        var next = index
        while next < extents.count, extents[next].offset < end {
            let extent = extents[next]
            if extent.offset > covered { return true }
            if extent.state == state, extent.length > 0 { return true }
            covered = max(covered, extent.end)
            next += 1
        }
        return covered < end
    }
}
