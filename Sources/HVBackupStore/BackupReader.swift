import Foundation
import Glibc
import HVSystem

/// Reads the disks of one backup back, for a restore: a chunk at a time, or a whole disk into a
/// file. Every chunk is checked against its name as it is read.
///
/// A backup deleted while it is read may lose its chunks to a garbage collection; a read then
/// fails with `badChunk`.
public final class BackupReader: Sendable {
    public let manifest: BackupManifest
    private let repository: Repository
    private let indexes: [String: FixedIndex]

    public init(repository: Repository, backup id: String) throws(BackupError) {
        self.repository = repository
        manifest = try repository.manifest(id)
        var indexes: [String: FixedIndex] = [:]
        for disk in manifest.disks { indexes[disk.target] = try repository.index(id, disk: disk) }
        self.indexes = indexes
    }

    /// How many chunks the disk `target` has; the last may be shorter than the chunk size.
    public func chunkCount(disk target: String) throws(BackupError) -> Int {
        try index(target).geometry.count
    }

    /// The plaintext of chunk `chunkIndex` of the disk `target`.
    public func readChunk(disk target: String, index chunkIndex: Int) throws(BackupError) -> [UInt8] {
        let index = try index(target)
        guard chunkIndex >= 0, chunkIndex < index.geometry.count else {
            throw BackupError(.invalidArgument, "\(target) has \(index.geometry.count) chunks; there is no chunk \(chunkIndex)")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: repository.chunkSize + Cipher.overhead, alignment: 4096)
        defer { buffer.deallocate() }
        return try load(index, chunkIndex, disk: target, buffer: buffer)
    }

    /// What a restore wrote.
    public struct RestoreSummary: Hashable, Sendable {
        public var bytes: UInt64
        public var chunks: Int
        /// Chunks of zeros left as holes (into a regular file) instead of written.
        public var holes: Int
        public var duration: Duration
    }

    /// Writes the whole disk `target` into `file`, in order. A regular file is emptied first and
    /// given the disk's size, and zero chunks are left as holes; anything else (a block device) has
    /// every chunk written, zeros too. The file is flushed at the end.
    @discardableResult
    public func restore(
        disk target: String, to file: Descriptor, progress: (BackupProgress) -> Void = { _ in }
    ) throws(BackupError) -> RestoreSummary {
        let clock = ContinuousClock()
        let began = clock.now
        let index = try index(target)
        let geometry = index.geometry
        let isRegular = try catching("inspect \(file.name)") { () throws(SystemError) in try file.status() }.st_mode & S_IFMT == S_IFREG
        if isRegular {
            try catching("resize \(file.name)") { () throws(SystemError) in
                try file.truncate(to: 0)
                try file.truncate(to: geometry.size)
            }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: repository.chunkSize + Cipher.overhead, alignment: 4096)
        defer { buffer.deallocate() }
        var summary = RestoreSummary(bytes: 0, chunks: geometry.count, holes: 0, duration: .zero)
        for (position, digest) in index.digests.enumerated() {
            let length = geometry.length(position)
            let bytes: [UInt8]
            if digest == repository.zeroDigest(length: length) {
                if isRegular {
                    summary.holes += 1
                    progress(BackupProgress(bytesDone: geometry.offset(position) + UInt64(length), bytesTotal: geometry.size))
                    continue
                }
                bytes = [UInt8](repeating: 0, count: length)
            } else {
                bytes = try load(index, position, disk: target, buffer: buffer)
            }
            try catching("write chunk \(position) of \(target) to \(file.name)") { () throws(SystemError) in
                try file.writeAll(bytes, at: geometry.offset(position))
            }
            summary.bytes += UInt64(length)
            progress(BackupProgress(bytesDone: geometry.offset(position) + UInt64(length), bytesTotal: geometry.size))
        }
        try catching("flush \(file.name)") { () throws(SystemError) in try file.sync() }
        summary.duration = clock.now - began
        return summary
    }

    private func index(_ target: String) throws(BackupError) -> FixedIndex {
        guard let index = indexes[target] else {
            throw BackupError(
                .notFound, "backup \(manifest.id) has no disk \(target)",
                fix: "its disks are \(manifest.disks.map(\.target).joined(separator: ", "))")
        }
        return index
    }

    private func load(_ index: FixedIndex, _ position: Int, disk: String, buffer: UnsafeMutableRawBufferPointer) throws(BackupError)
        -> [UInt8]
    {
        let digest = index.digests[position]
        let location = "chunk \(position) of \(disk) in backup \(manifest.id)"
        let loaded = try catching("read \(location)") { () throws(SystemError) in
            try repository.chunks.load(digest, length: index.geometry.length(position), buffer: buffer, keep: true)
        }
        switch loaded {
        case .good(let plaintext):
            return plaintext
        case .missing:
            throw BackupError(.badChunk, "\(location) (\(digest)) is missing", fix: "verify the backup; restore from another one")
        case .bad(let reason, _):
            throw BackupError(.badChunk, "\(location) (\(digest)) is bad: \(reason)", fix: "verify the backup; restore from another one")
        }
    }
}
