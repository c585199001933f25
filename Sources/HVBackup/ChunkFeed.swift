import Foundation
import HVBackupStore

/// Hands a reader's chunks to a `BackupWriter`, disk by disk, on threads of its own (`storers`):
/// the reader reads the next chunks while the writer hashes and stores these, so a backup takes
/// about the longer of reading and storing rather than their sum, and hashing is spread over the
/// processor's cores.
///
/// Data chunks are copied into one of a bounded set of buffers (`bufferBytes` in all, at least
/// two chunks); the reader waits while every buffer is in use. A run of unchanged chunks is kept
/// from the parent with one call. The chunks of a disk are stored in any order (the writer takes
/// them so); beginning and finishing a disk wait for everything handed in before them and hold
/// back everything after. The first failure stops the feed: it is thrown by the next `take` or by
/// `finish`. End a feed with `finish`, or with `cancel` when the backup is given up.
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

        /// Runs alone: after every operation before it, before any after it.
        var isBarrier: Bool {
            switch self {
            case .beginDisk, .finishDisk: true
            case .data, .zero, .keep: false
            }
        }
    }

    /// Guards everything below it, shared by the reader's thread and the storing threads.
    private let condition = NSCondition()
    private var operations: [Operation] = []
    private var next = 0
    private var freeSlots: [Int]
    private var failure: (any Error)?
    /// The reader has handed in everything (`finish`) or given up (`cancel`).
    private var closed = false
    /// Operations taken by a storing thread and not yet done.
    private var running = 0
    private var barrierRunning = false
    private var threadsRunning: Int
    private var storing = Duration.zero

    private let slotSize: Int
    private let buffers: UnsafeMutableRawBufferPointer
    /// The reader's side only.
    private var disk: String?
    private var unchanged: Range<Int>?

    /// How long the storing threads spent in the writer's calls, added up; complete once the feed
    /// has ended.
    public var storingTime: Duration {
        condition.lock()
        defer { condition.unlock() }
        return storing
    }

    /// Buffers for data chunks in flight between reader and writer, in bytes.
    public static let defaultBufferBytes = 64 << 20
    /// Storing threads: one per core, two at most (hashing is the work; the disk is shared).
    public static var defaultStorers: Int { max(1, min(2, ProcessInfo.processInfo.activeProcessorCount)) }

    public init(
        writer: BackupWriter, formats: [String: String], chunkSize: Int, bufferBytes: Int = ChunkFeed.defaultBufferBytes,
        storers: Int = ChunkFeed.defaultStorers
    ) {
        self.writer = writer
        self.formats = formats
        slotSize = chunkSize
        let count = max(2, min(256, bufferBytes / max(chunkSize, 1)))
        buffers = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize * count, alignment: 4096)
        freeSlots = Array((0..<count).reversed())
        threadsRunning = max(1, storers)
        for _ in 0..<threadsRunning {
            let thread = Thread { [self] in store() }
            thread.name = "hv-backup-store"
            thread.start()
        }
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

    /// Stops the feed: chunks not yet stored are dropped, and the storing threads end before this
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
        while threadsRunning > 0 { condition.wait() }
    }

    // MARK: - The storing threads

    private func store() {
        let clock = ContinuousClock()
        while let operation = nextOperation() {
            let began = clock.now
            var failed: (any Error)?
            do {
                try perform(operation)
            } catch {
                failed = error
            }
            let spent = clock.now - began
            condition.lock()
            storing += spent
            running -= 1
            if operation.isBarrier { barrierRunning = false }
            if case .data(_, let slot, _) = operation { freeSlots.append(slot) }
            if let failed {
                if failure == nil { failure = failed }
                operations.removeAll()
                next = 0
            }
            condition.broadcast()
            condition.unlock()
        }
        condition.lock()
        threadsRunning -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// The next operation, waiting until there is one and it may start; nil once the reader closed
    /// the feed and every operation has been taken, or a failure stopped it.
    private func nextOperation() -> Operation? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if failure != nil { return nil }
            if next == operations.count {
                if closed { return nil }
            } else if !barrierRunning, !operations[next].isBarrier || running == 0 {
                break
            }
            condition.wait()
        }
        let operation = operations[next]
        next += 1
        running += 1
        if operation.isBarrier { barrierRunning = true }
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
