import Foundation
import Glibc
import HVSystem

/// What a garbage collection found and removed.
public struct GarbageReport: Hashable, Sendable {
    /// The complete backups whose indexes were read.
    public var backups: Int
    /// The distinct chunks those indexes reference.
    public var chunksInUse: Int
    /// The chunks left in the store.
    public var chunksKept: Int
    public var chunksRemoved: Int
    public var bytesRemoved: UInt64
    /// Chunks set aside as bad (`.bad`) that were removed: nothing uses them, or a good copy was written.
    public var badChunksRemoved: Int
    /// The writers at work when the collection started.
    public var liveWriters: Int
    /// Chunks no backup uses were removed only when last touched before this time.
    public var cutoff: Date
    public var duration: Duration
}

extension Repository {
    /// How long before the collection's start, and before the start of the oldest writer at work,
    /// a chunk must have been last touched to be removed: room for the clock being set back.
    public static let defaultSafetyMargin = Duration.seconds(300)

    /// How many chunks the sweep looks at and removes under one hold of the lock.
    static let sweepBatch = 256

    /// Removes the chunks no complete backup references and no writer may still rely on.
    ///
    /// 1. The collection's start is stamped by the file system's clock, and the writers at work
    ///    are read: the cutoff is the earlier of the two, less `safetyMargin`.
    /// 2. Mark: every index of every complete backup is read. One that can't be read stops the
    ///    collection before anything is removed (a backup deleted meanwhile is passed over).
    /// 3. Sweep: a chunk that is not marked and was last touched before the cutoff is removed,
    ///    looked at and removed under the repository lock held exclusive, in small batches.
    ///
    /// docs/BACKUPS.md, "The repository layout", shows why a chunk a writer relies on is never removed.
    public func gc(safetyMargin: Duration = defaultSafetyMargin) throws(BackupError) -> GarbageReport {
        let clock = ContinuousClock()
        let began = clock.now
        let lock = try catching("open \(Self.lockFile)") { () throws(SystemError) in try RepositoryLock(in: root) }
        let (started, live) = try catching("read the writers at work") { () throws(SystemError) in
            (try fileSystemNow(), try WriterRegistry.liveWriters(in: writers))
        }
        let cutoff = ([started] + live.values).min()!.subtracting(safetyMargin)
        let (inUse, backupCount) = try markChunksInUse()
        var report = GarbageReport(
            backups: backupCount, chunksInUse: inUse.count, chunksKept: 0, chunksRemoved: 0, bytesRemoved: 0, badChunksRemoved: 0,
            liveWriters: live.count, cutoff: cutoff.date, duration: .zero)
        try catching("collect garbage in \(path)/\(Self.chunksDirectory)") { () throws(SystemError) in
            let store = chunks.directory
            for first in try store.entryNames().sorted() where Self.isFanOut(first) {
                let firstLevel = try store.openAt(first, O_RDONLY | O_DIRECTORY)
                for second in try firstLevel.entryNames().sorted() where Self.isFanOut(second) {
                    let directory = try firstLevel.openAt(second, O_RDONLY | O_DIRECTORY)
                    try sweep(directory, inUse: inUse, cutoff: cutoff, lock: lock, report: &report)
                }
            }
        }
        report.duration = clock.now - began
        return report
    }

    /// The chunks the backups `ids` reference, by path inside the repository
    /// (`chunks/ab/cd/<digest>`), read from their indexes: what a copy of the repository must keep
    /// for them. Throws when one of them is gone or can't be read.
    public func chunkPaths(usedBy ids: [String]) throws(BackupError) -> Set<String> {
        var paths = Set<String>()
        for id in ids {
            for disk in try manifest(id).disks {
                for digest in Set(try index(id, disk: disk).digests) { paths.insert(Self.chunksDirectory + "/" + ChunkStore.path(digest)) }
            }
        }
        return paths
    }

    /// The chunks the complete backups reference, and how many backups there were.
    private func markChunksInUse() throws(BackupError) -> (Set<ChunkDigest>, Int) {
        var inUse = Set<ChunkDigest>()
        var count = 0
        for id in try backupIDs() {
            do throws(BackupError) {
                let manifest = try manifest(id)
                for disk in manifest.disks { inUse.formUnion(try index(id, disk: disk).digests) }
                count += 1
            } catch {
                // Deleted since it was listed: nothing needs its chunks any more.
                if case .success(nil) = Result(catching: { () throws(SystemError) in try backups.entryStatus(id) }) { continue }
                throw BackupError(
                    error.code, "garbage collection stopped before removing anything: \(error.reason)",
                    fix: error.fix ?? "repair or delete backup \(id), then collect garbage again")
            }
        }
        return (inUse, count)
    }

    private func sweep(
        _ directory: Descriptor, inUse: Set<ChunkDigest>, cutoff: FileTime, lock: RepositoryLock, report: inout GarbageReport
    ) throws(SystemError) {
        var candidates: [(name: String, digest: ChunkDigest, bad: Bool)] = []
        for name in try directory.entryNames() {
            let bad = name.hasSuffix(".bad")
            guard let digest = ChunkDigest(hex: bad ? name.dropLast(4) : name[...]) else { continue }
            if inUse.contains(digest) && !bad {
                report.chunksKept += 1
            } else {
                candidates.append((name, digest, bad))
            }
        }
        var start = 0
        while start < candidates.count {
            let batch = candidates[start..<min(start + Self.sweepBatch, candidates.count)]
            start = batch.endIndex
            try lock.exclusive { () throws(SystemError) in
                for candidate in batch {
                    guard let info = try directory.entryStatus(candidate.name) else { continue }
                    if candidate.bad {
                        // Kept as evidence while a backup needs the chunk and has no good copy.
                        let rewritten = try directory.entryStatus(candidate.digest.description) != nil
                        guard !inUse.contains(candidate.digest) || rewritten else { continue }
                        try directory.removeEntry(candidate.name)
                        report.badChunksRemoved += 1
                    } else if FileTime(modificationOf: info) < cutoff {
                        try directory.removeEntry(candidate.name)
                        report.chunksRemoved += 1
                        report.bytesRemoved += UInt64(info.st_size)
                    } else {
                        report.chunksKept += 1
                    }
                }
            }
        }
    }

    /// The present time by the repository's file system: a temporary file stamped and read back.
    func fileSystemNow() throws(SystemError) -> FileTime {
        let (name, file) = try chunks.temporary.createUnique(prefix: "gc")
        defer { try? chunks.temporary.removeEntry(name) }
        return try file.stampNow()
    }

    private static let hexDigits = Set("0123456789abcdef".utf8)

    static func isFanOut(_ name: String) -> Bool {
        name.utf8.count == 2 && name.utf8.allSatisfy(hexDigits.contains)
    }
}
