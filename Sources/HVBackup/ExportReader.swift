import HVNBD

/// Reads one NBD export chunk by chunk: block status a window at a time, a plan per chunk, and the
/// chunks that need it read with requests always in flight. Each read covers consecutive data
/// chunks (whole chunks, up to `DiskSource.requestSize` bytes, at least one chunk) into a buffer of
/// its own; chunks are handed on in the disk's order as the reads before them complete, while the
/// next reads are being answered.
struct ExportReader {
    /// Block status is asked for this many chunks at a time, so the extents held stay bounded.
    static let windowChunks = 256
    /// At most this many chunks wait, planned, behind a read not yet answered.
    static let waitingChunks = 4096

    let client: NBDClient
    let disk: String
    let chunkSize: Int
    /// Reads in flight together, each into a buffer of its own.
    let readsInFlight: Int
    /// The dirty bitmap's context for an incremental backup; nil reads every chunk that holds data.
    let bitmap: MetaContext?

    /// A chunk planned and not yet handed on: read into buffer `slot` at `position` when it holds data.
    private struct Waiting {
        var chunk: PlannedChunk
        var slot: Int
        var position: Int
        /// Whether this is the last chunk of its read: once it is handed on, buffer `slot` is free.
        var endsRead: Bool
    }

    func read(
        into summary: inout BackupSummary.Disk, bytesReadBefore: UInt64, observer: BackupObserver,
        _ body: (DiskChunk) throws -> Void
    ) throws {
        let size = summary.size
        let readBytes = max(1, DiskSource.requestSize / chunkSize) * chunkSize
        let slots = max(1, readsInFlight)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readBytes * slots, alignment: 4096)
        let pipeline = ReadPipeline(client: client)
        defer {
            pipeline.drain()
            buffer.deallocate()
        }
        var free = Array((0..<slots).reversed())
        var waiting: [Waiting] = []
        var head = 0
        /// Consecutive data chunks not yet sent, for one read.
        var run: [PlannedChunk] = []

        /// Hands on the oldest waiting chunk, after waiting for its read when it has one.
        func handOnOldest() throws {
            let entry = waiting[head]
            head += 1
            let chunk = entry.chunk
            let content: DiskChunk.Content
            switch chunk.kind {
            case .zero:
                content = .zero
                summary.zeroChunks += 1
            case .unchanged:
                content = .unchanged
                summary.unchangedChunks += 1
            case .data:
                if entry.position == 0 { try pipeline.retireOldest() }
                let start = entry.slot * readBytes + entry.position
                content = .data(UnsafeRawBufferPointer(rebasing: buffer[start..<start + chunk.length]))
                summary.dataChunks += 1
                summary.bytesRead += UInt64(chunk.length)
            }
            try body(DiskChunk(disk: disk, diskSize: size, index: chunk.index, offset: chunk.offset, length: chunk.length, content: content))
            if entry.endsRead { free.append(entry.slot) }
            if head == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                head = 0
            }
            observer.progress(BackupProgress(
                disk: disk, done: chunk.offset + UInt64(chunk.length), size: size, bytesRead: bytesReadBefore + summary.bytesRead
            ))
        }

        /// Sends the run of data chunks as one read, into a free buffer.
        func sendRun() throws {
            guard let first = run.first else { return }
            while free.isEmpty { try handOnOldest() }
            let slot = free.removeLast()
            let count = run.reduce(0) { $0 + $1.length }
            try pipeline.send(into: UnsafeMutableRawBufferPointer(rebasing: buffer[slot * readBytes..<slot * readBytes + count]), at: first.offset)
            var position = 0
            for (number, chunk) in run.enumerated() {
                waiting.append(Waiting(chunk: chunk, slot: slot, position: position, endsRead: number == run.count - 1))
                position += chunk.length
            }
            run.removeAll(keepingCapacity: true)
        }

        var windowStart: UInt64 = 0
        while windowStart < size {
            let window = windowStart..<min(size, windowStart + UInt64(chunkSize * Self.windowChunks))
            let (allocation, dirty) = try extents(of: window)
            for chunk in ChunkPlan.chunks(in: window, chunkSize: chunkSize, allocation: allocation, dirty: dirty) {
                if observer.isCancelled() { throw CancelledRead() }
                if chunk.kind == .data {
                    if run.count * chunkSize + chunk.length > readBytes { try sendRun() }
                    run.append(chunk)
                } else {
                    try sendRun()
                    waiting.append(Waiting(chunk: chunk, slot: 0, position: 0, endsRead: false))
                }
                // Chunks with nothing to read are handed on at once unless a read is ahead of them.
                while head < waiting.count, waiting.count - head > Self.waitingChunks || pipeline.readsInFlight == 0 {
                    try handOnOldest()
                }
            }
            windowStart = window.upperBound
        }
        try sendRun()
        while head < waiting.count {
            if observer.isCancelled() { throw CancelledRead() }
            try handOnOldest()
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
