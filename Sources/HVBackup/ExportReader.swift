import HVNBD

/// Reads one NBD export chunk by chunk: block status a window at a time, a plan per chunk, and the
/// chunks that need it read in batches.
struct ExportReader {
    /// Block status is asked for this many chunks at a time, so the extents held stay bounded.
    static let windowChunks = 256

    let client: NBDClient
    let disk: String
    let chunkSize: Int
    /// Bytes of consecutive data chunks read with one call (whole chunks, at least one), their
    /// requests in flight together.
    let readAhead: Int
    /// The dirty bitmap's context for an incremental backup; nil reads every chunk that holds data.
    let bitmap: MetaContext?

    func read(
        into summary: inout BackupSummary.Disk, bytesReadBefore: UInt64, observer: BackupObserver,
        _ body: (DiskChunk) throws -> Void
    ) throws {
        let size = summary.size
        let batchChunks = max(1, readAhead / chunkSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize * batchChunks, alignment: 4096)
        defer { buffer.deallocate() }
        var windowStart: UInt64 = 0
        while windowStart < size {
            let window = windowStart..<min(size, windowStart + UInt64(chunkSize * Self.windowChunks))
            let (allocation, dirty) = try extents(of: window)
            let planned = ChunkPlan.chunks(in: window, chunkSize: chunkSize, allocation: allocation, dirty: dirty)
            var next = 0
            while next < planned.count {
                if observer.isCancelled() { throw CancelledRead() }
                var batch = next + 1
                if planned[next].kind == .data {
                    while batch < planned.count, batch - next < batchChunks, planned[batch].kind == .data { batch += 1 }
                    let count = planned[next..<batch].reduce(0) { $0 + $1.length }
                    try client.read(
                        into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]), at: planned[next].offset,
                        requestSize: max(chunkSize, DiskSource.requestSize), inFlight: DiskSource.requestsInFlight
                    )
                }
                var position = 0
                for chunk in planned[next..<batch] {
                    let content: DiskChunk.Content
                    switch chunk.kind {
                    case .zero:
                        content = .zero
                        summary.zeroChunks += 1
                    case .unchanged:
                        content = .unchanged
                        summary.unchangedChunks += 1
                    case .data:
                        content = .data(UnsafeRawBufferPointer(rebasing: buffer[position..<position + chunk.length]))
                        position += chunk.length
                        summary.dataChunks += 1
                        summary.bytesRead += UInt64(chunk.length)
                    }
                    try body(DiskChunk(disk: disk, diskSize: size, index: chunk.index, offset: chunk.offset, length: chunk.length, content: content))
                    observer.progress(BackupProgress(
                        disk: disk, done: chunk.offset + UInt64(chunk.length), size: size,
                        bytesRead: bytesReadBefore + summary.bytesRead
                    ))
                }
                next = batch
            }
            windowStart = window.upperBound
        }
    }

    /// Every extent of `window` for allocation and, when incremental, the bitmap, asking again from
    /// where the server's answers stopped until the window is described.
    private func extents(of window: Range<UInt64>) throws -> (allocation: [Extent], dirty: [Extent]?) {
        var allocation: [Extent] = []
        var dirty: [Extent] = []
        var cursor = window.lowerBound
        while cursor < window.upperBound {
            let status = try client.blockStatus(offset: cursor, length: window.upperBound - cursor)
            let end = status.describedEnd(from: cursor)
            guard end > cursor else {
                throw NBDError(.blockStatusFailed, "\(client.peer) described no byte at \(cursor)")
            }
            allocation += Self.clipped(status.extents[.allocation] ?? [], to: end)
            if let bitmap { dirty += Self.clipped(status.extents[bitmap] ?? [], to: end) }
            cursor = end
        }
        return (allocation, bitmap == nil ? nil : dirty)
    }

    private static func clipped(_ extents: [Extent], to end: UInt64) -> [Extent] {
        extents.compactMap { extent in
            guard extent.offset < end else { return nil }
            var cut = extent
            cut.length = min(extent.end, end) - extent.offset
            return cut
        }
    }
}

/// The observer said stop; turned into `BackupError.cancelled` once the backup is ended.
struct CancelledRead: Error {}
