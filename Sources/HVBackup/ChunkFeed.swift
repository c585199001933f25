import Foundation
import HVBackupStore

/// Hands a reader's chunks to a `BackupWriter`, disk by disk, on a thread of its own: the reader
/// reads the next chunks while the writer hashes and stores these, so a backup takes about the
/// longer of reading and storing rather than their sum.
///
/// Data chunks are copied into one of a bounded set of buffers (`bufferBytes` in all, at least
/// two chunks); the reader waits while every buffer is in use. A run of unchanged chunks is kept
/// from the parent with one call. The writer's calls run in the order the chunks came. The first
/// failure stops the feed: it is thrown by the next `take` or by `finish`. End a feed with
/// `finish`, or with `cancel` when the backup is given up.
public final class ChunkFeed: @unchecked Sendable {
    public let writer: BackupWriter
    /// Each disk's image format, by target; a disk not named is `raw`.
    public let formats: [String: String]

    private enum Operation {
        case beginDisk(target: String, size: UInt64, format: String)
        case data(index: Int, slot: Int, length: Int)
        case zero(index: Int)
        case keep(Range<Int>)
        case finishDisk
    }

    /// Guards everything below it, shared by the reader's thread and the storing thread.
    private let condition = NSCondition()
    private var operations: [Operation] = []
    private var next = 0
    private var freeSlots: [Int]
    private var failure: (any Error)?
    /// The reader has handed in everything (`finish`) or given up (`cancel`).
    private var closed = false
    private var threadEnded = false
    private var storing = Duration.zero

    private let slotSize: Int
    private let buffers: UnsafeMutableRawBufferPointer
    /// The reader's side only.
    private var disk: String?
    private var unchanged: Range<Int>?

    /// How long the storing thread spent in the writer's calls; complete once the feed has ended.
    public var storingTime: Duration {
        condition.lock()
        defer { condition.unlock() }
        return storing
    }

    /// Buffers for data chunks in flight between reader and writer, in bytes.
    public static let defaultBufferBytes = 64 << 20

    public init(writer: BackupWriter, formats: [String: String], chunkSize: Int, bufferBytes: Int = ChunkFeed.defaultBufferBytes) {
        self.writer = writer
        self.formats = formats
        slotSize = chunkSize
        let count = max(2, min(256, bufferBytes / max(chunkSize, 1)))
        buffers = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize * count, alignment: 4096)
        freeSlots = Array((0..<count).reversed())
        let thread = Thread { [self] in store() }
        thread.name = "hv-backup-store"
        thread.start()
    }

    deinit {
        buffers.deallocate()
    }

    /// Hands over one chunk, in the reader's order. Throws the storing thread's failure, if any.
    public func take(_ chunk: DiskChunk) throws {
        try throwFailure()
        if chunk.disk != disk {
            try endDisk()
            enqueue(.beginDisk(target: chunk.disk, size: chunk.diskSize, format: formats[chunk.disk] ?? "raw"))
            disk = chunk.disk
        }
        switch chunk.content {
        case .unchanged:
            if let run = unchanged, run.upperBound == chunk.index {
                unchanged = run.lowerBound..<(chunk.index + 1)
            } else {
                keepUnchanged()
                unchanged = chunk.index..<(chunk.index + 1)
            }
        case .zero:
            keepUnchanged()
            enqueue(.zero(index: chunk.index))
        case .data(let bytes):
            keepUnchanged()
            guard bytes.count <= slotSize else {
                throw BackupError(.invalidRequest, machine: writer.machine, "a chunk of \(bytes.count) bytes is larger than the feed's \(slotSize)")
            }
            let slot = try freeSlot()
            UnsafeMutableRawBufferPointer(rebasing: buffers[slot * slotSize..<(slot * slotSize + bytes.count)]).copyMemory(from: bytes)
            enqueue(.data(index: chunk.index, slot: slot, length: bytes.count))
        }
    }

    /// Finishes the last disk and waits until the writer has stored every chunk; throws the first
    /// failure. The writer is then ready to commit.
    public func finish() throws {
        try throwFailure()
        try endDisk()
        close(discarding: false)
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
    }

    /// Stops the feed: chunks not yet stored are dropped, and the storing thread ends before this
    /// returns. The caller aborts the writer. Does nothing once the feed has ended.
    public func cancel() {
        close(discarding: true)
    }

    // MARK: - The reader's side

    private func endDisk() throws {
        guard disk != nil else { return }
        keepUnchanged()
        enqueue(.finishDisk)
        disk = nil
    }

    private func keepUnchanged() {
        guard let run = unchanged else { return }
        unchanged = nil
        enqueue(.keep(run))
    }

    private func enqueue(_ operation: Operation) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return }
        operations.append(operation)
        condition.broadcast()
    }

    private func freeSlot() throws -> Int {
        condition.lock()
        defer { condition.unlock() }
        while freeSlots.isEmpty, failure == nil, !closed { condition.wait() }
        if let failure { throw failure }
        guard let slot = freeSlots.popLast() else {
            throw BackupError(.cancelled, machine: writer.machine, "the backup of \(writer.machine) was stopped", fix: "run it again")
        }
        return slot
    }

    private func throwFailure() throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        if closed { throw BackupError(.invalidRequest, machine: writer.machine, "the chunk feed of \(writer.machine)'s backup has ended") }
    }

    private func close(discarding: Bool) {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        if discarding {
            operations.removeAll()
            next = 0
        }
        condition.broadcast()
        while !threadEnded { condition.wait() }
    }

    // MARK: - The storing thread

    private func store() {
        let clock = ContinuousClock()
        while let operation = nextOperation() {
            let began = clock.now
            defer {
                condition.lock()
                storing += clock.now - began
                condition.unlock()
            }
            do {
                try perform(operation)
            } catch {
                condition.lock()
                if failure == nil { failure = error }
                operations.removeAll()
                next = 0
                condition.broadcast()
                condition.unlock()
            }
            if case .data(_, let slot, _) = operation {
                condition.lock()
                freeSlots.append(slot)
                condition.broadcast()
                condition.unlock()
            }
        }
        condition.lock()
        threadEnded = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next operation, waiting for one; nil once the reader closed the feed and every
    /// operation is done, or a failure stopped it.
    private func nextOperation() -> Operation? {
        condition.lock()
        defer { condition.unlock() }
        while next == operations.count {
            if closed || failure != nil { return nil }
            condition.wait()
        }
        let operation = operations[next]
        next += 1
        if next == operations.count {
            operations.removeAll(keepingCapacity: true)
            next = 0
        }
        return operation
    }

    private func perform(_ operation: Operation) throws {
        switch operation {
        case .beginDisk(let target, let size, let format):
            try writer.beginDisk(target: target, size: size, format: format)
        case .data(let index, let slot, let length):
            try writer.write(chunkIndex: index, data: UnsafeRawBufferPointer(rebasing: buffers[slot * slotSize..<(slot * slotSize + length)]))
        case .zero(let index):
            try writer.zero(chunkIndex: index)
        case .keep(let run):
            // A chunk the parent can't supply was not read: the backup must begin again in full.
            guard try writer.keepFromParent(chunks: run).isEmpty else { throw ParentIncomplete(parent: writer.parent?.id ?? "") }
        case .finishDisk:
            try writer.finishDisk()
        }
    }
}

/// The parent backup lacks chunks an incremental backup would share with it (set aside as bad, or
/// a disk that grew): the backup is begun again in full.
public struct ParentIncomplete: Error {
    public var parent: String
}
