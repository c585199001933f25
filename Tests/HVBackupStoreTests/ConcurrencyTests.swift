import Foundation
import Glibc
@testable import HVBackupStore
import HVSystem
import HVTestSupport
import Synchronization
import Testing

/// A chunk a writer at work referenced is never removed by a prune or collection running beside
/// it, and what a killed writer left is found and removed by `recover()`.
@Suite struct ConcurrencyTests {
    let scratch: Scratch
    let repository: Repository

    init() throws {
        scratch = try Scratch()
        repository = try scratch.create()
    }

    /// Many rounds of a writer and a pruner at once, at random moments: the writer keeps chunks
    /// from its parent (which the pruner deletes), rewrites chunks only a deleted backup used
    /// (old, and unreferenced: what the sweep removes), and writes new ones, while the pruner
    /// deletes and collects in a loop. Every backup the writer commits verifies and restores.
    @Test func pruneBesideARunningWriterNeverRemovesWhatTheWriterReferenced() throws {
        let rounds = 40
        var removedInAll = 0
        var rereadInAll = 0
        for round in 0..<rounds {
            let parentImage = image(chunks: 24)
            let orphanImage = image(chunks: 24)
            let parent = try backUp(repository, disks: [("vda", parentImage)])
            let orphan = try backUp(repository, disks: [("vda", orphanImage)])
            try repository.delete(orphan.id)
            age(repository)
            // Per chunk: kept from the parent, the orphan's chunk written again, or new data.
            let newData = randomBytes(24 * 4096)
            var expected: [UInt8] = []
            for index in 0..<24 {
                let source = [parentImage, orphanImage, newData][index % 3]
                expected += chunk(source, index, size: 4096)
            }
            let writer = try BackupWriter.begin(in: repository, machine: "web1", parent: parent.id)
            let finished = Shared(false)
            let removed = Shared(0)
            let pruner = onThread { [repository] in
                usleep(UInt32.random(in: 0..<3000))
                try repository.delete(parent.id)
                while !finished.value {
                    let report = try repository.gc(safetyMargin: .zero)
                    removed.update { $0 += report.chunksRemoved }
                    usleep(UInt32.random(in: 0..<500))
                }
            }
            try writer.beginDisk(target: "vda", size: UInt64(expected.count), format: "raw")
            for index in (0..<24).shuffled() {
                if index % 3 == 0 {
                    for reread in try writer.keepFromParent(chunks: index..<index + 1) {
                        rereadInAll += 1
                        try writer.write(chunkIndex: reread, data: Array(chunk(expected, reread, size: 4096)))
                    }
                } else {
                    try writer.write(chunkIndex: index, data: Array(chunk(expected, index, size: 4096)))
                }
                if Bool.random() { usleep(UInt32.random(in: 0..<300)) }
            }
            try writer.finishDisk()
            let manifest = try writer.commit(spec: "", domainXML: "", frozen: false)
            finished.set(true)
            try #require(pruner() == nil, "round \(round): \(pruner() ?? "")")
            removedInAll += removed.value

            let report = try repository.verify(manifest.id)
            #expect(report.ok, "round \(round): \(report.problems)")
            #expect(try restore(repository, manifest.id, disk: "vda", into: scratch.file("restored")) == expected, "round \(round)")
            try repository.delete(manifest.id)
        }
        print("\(rounds) rounds: the collections removed \(removedInAll) chunks; \(rereadInAll) parent chunks had to be read again")
        #expect(removedInAll > 0, "the collections ran while there was garbage")
    }

    /// The sweep has chosen the parent's chunks (the parent is deleted, they are old) and waits
    /// for the lock; the writer keeps them from the parent meanwhile. The sweep looks again under
    /// the lock, finds them just touched, and leaves them.
    @Test func aParentChunkKeptWhileTheSweepWaitsIsNotRemoved() throws {
        let parentImage = image(chunks: 4)
        let parent = try backUp(repository, disks: [("vda", parentImage)])
        age(repository)
        let writer = try BackupWriter.begin(in: repository, machine: "web1", parent: parent.id)
        try repository.delete(parent.id)

        // Held shared, as by another writer: the sweep's exclusive hold waits for it.
        let held = try Descriptor.open(repository.path + "/repository.lock", O_RDWR)
        flock(held.raw, LOCK_SH)
        let report = Shared<GarbageReport?>(nil)
        let collector = onThread { [repository] in
            report.set(try repository.gc(safetyMargin: .zero))
        }
        try waitForLockWaiter(on: repository.path + "/repository.lock")
        try writer.beginDisk(target: "vda", size: UInt64(parentImage.count), format: "raw")
        #expect(try writer.keepFromParent(chunks: 0..<4) == [], "the chunks were all there")
        flock(held.raw, LOCK_UN)
        #expect(collector() == nil)
        #expect(report.value?.chunksRemoved == 0, "the sweep found them touched")
        try writer.finishDisk()
        let manifest = try writer.commit(spec: "", domainXML: "", frozen: false)
        #expect(try repository.verify(manifest.id).ok)
    }

    /// While a sweep holds the lock to look at and remove a batch, a writer's touch of a parent
    /// chunk and its placing of a new one both wait for it: neither can fall between the sweep's
    /// look and its removal.
    @Test func aWriterWaitsForTheSweepsBatch() throws {
        let parentImage = image(chunks: 2)
        let parent = try backUp(repository, disks: [("vda", parentImage)])
        let writer = try BackupWriter.begin(in: repository, machine: "web1", parent: parent.id)
        try writer.beginDisk(target: "vda", size: UInt64(2 * 4096), format: "raw")
        let lockPath = repository.path + "/repository.lock"
        let held = try Descriptor.open(lockPath, O_RDWR)

        for step in ["keep chunk 0 from the parent", "write a new chunk 1"] {
            flock(held.raw, LOCK_EX)
            let done = Shared(false)
            let handIn = onThread {
                if step.hasPrefix("keep") {
                    _ = try writer.keepFromParent(chunks: 0..<1)
                } else {
                    try writer.write(chunkIndex: 1, data: randomBytes(4096))
                }
                done.set(true)
            }
            try waitUntil { done.value || hasLockWaiter(on: lockPath) }
            #expect(!done.value, "\(step) went ahead while the sweep held the lock")
            flock(held.raw, LOCK_UN)
            #expect(handIn() == nil)
            #expect(done.value)
        }
        try writer.finishDisk()
        #expect(try repository.verify(try writer.commit(spec: "", domainXML: "", frozen: false).id).ok)
    }

    /// The other order: the sweep removed the parent's chunks before the writer got to them; the
    /// writer says so, the caller reads them, and the backup is whole.
    @Test func aParentChunkRemovedFirstIsReportedForReading() throws {
        let parentImage = image(chunks: 4, zero: [2])
        let parent = try backUp(repository, disks: [("vda", parentImage)])
        age(repository)
        let writer = try BackupWriter.begin(in: repository, machine: "web1", parent: parent.id)
        try repository.delete(parent.id)
        #expect(try repository.gc(safetyMargin: .zero).chunksRemoved == 4)

        try writer.beginDisk(target: "vda", size: UInt64(parentImage.count), format: "raw")
        // The zero chunk is written again from nothing; the others must be read.
        let reread = try writer.keepFromParent(chunks: 0..<4)
        #expect(reread == [0, 1, 3])
        for index in reread { try writer.write(chunkIndex: index, data: Array(chunk(parentImage, index, size: 4096))) }
        try writer.finishDisk()
        let manifest = try writer.commit(spec: "", domainXML: "", frozen: false)
        #expect(try repository.verify(manifest.id).ok)
        #expect(try restore(repository, manifest.id, disk: "vda", into: scratch.file("restored")) == parentImage)
    }

    /// What a writer at work has stored but not yet committed survives a collection.
    @Test func aCollectionSparesAnUncommittedWritersChunks() throws {
        let disk = image(chunks: 6)
        let writer = try BackupWriter.begin(in: repository, machine: "web1")
        try writeDisk(writer, target: "vda", image: disk, previous: nil, chunkSize: 4096)
        let report = try repository.gc(safetyMargin: .zero)
        #expect(report.liveWriters == 1 && report.chunksRemoved == 0 && report.chunksKept == 6)
        let manifest = try writer.commit(spec: "", domainXML: "", frozen: false)
        #expect(try repository.verify(manifest.id).ok)
    }

    /// A writer killed mid-backup leaves a partial backup, an unlocked registration and a
    /// temporary file: `recover()` removes and reports them, and leaves a writer at work alone,
    /// in this process or in another one holding its lock. The dead writer's old start does not
    /// hold the collection back.
    @Test func whatAKilledWriterLeftIsRecovered() throws {
        let dead = BackupID.make(time: Date(timeIntervalSinceNow: -7200))
        try FileManager.default.createDirectory(atPath: repository.path + "/backups/.partial-" + dead, withIntermediateDirectories: false)
        try put(repository.path + "/backups/.partial-\(dead)/vda.fidx", [1, 2, 3])
        try put(repository.path + "/writers/" + dead, Array("pid 1\n".utf8))
        try put(repository.path + "/tmp/\(dead)-1a2b", randomBytes(100))
        var old = [timespec(tv_sec: time(nil) - 7200, tv_nsec: 0), timespec(tv_sec: time(nil) - 7200, tv_nsec: 0)]
        utimensat(AT_FDCWD, repository.path + "/writers/" + dead, &old, 0)
        let halfDeleted = BackupID.make(time: Date())
        try FileManager.default.createDirectory(
            atPath: repository.path + "/backups/.deleting-" + halfDeleted, withIntermediateDirectories: false)

        // Another process holds a third writer's lock.
        let other = BackupID.make(time: Date())
        try FileManager.default.createDirectory(atPath: repository.path + "/backups/.partial-" + other, withIntermediateDirectories: false)
        let otherLock = repository.path + "/writers/" + other
        // The shell opens the file, flock(1) locks that open file, and sleep inherits it: killing
        // sleep releases the lock, as a killed writer's death releases its.
        let holder = try Child(
            ["/bin/sh", "-c", "exec 9>\"$0\" && flock 9 && exec sleep 60", otherLock], output: scratch.file("flock.log"))
        try waitUntil { WriterRegistryProbe.isLocked(otherLock) }

        let live = try BackupWriter.begin(in: repository, machine: "web1")
        let before = try repository.gc(safetyMargin: .zero)
        #expect(before.liveWriters == 2, "this process's writer and the other process's")

        let report = try repository.recover()
        #expect(report.unfinishedBackups == [dead] && report.staleWriters == [dead] && report.temporaryFiles == 1)
        #expect(report.unfinishedDeletions == [halfDeleted])
        let left = try FileManager.default.contentsOfDirectory(atPath: repository.path + "/backups").sorted()
        #expect(left == [".partial-" + other, ".partial-" + live.id].sorted())
        #expect(try FileManager.default.contentsOfDirectory(atPath: repository.path + "/writers").sorted() == [other, live.id].sorted())

        holder.stop()
        let afterKill = try repository.recover()
        #expect(afterKill.unfinishedBackups == [other] && afterKill.staleWriters == [other])
        #expect(try repository.recover().isEmpty)
        try writeDisk(live, target: "vda", image: image(chunks: 2), previous: nil, chunkSize: 4096)
        let manifest = try live.commit(spec: "", domainXML: "", frozen: false)
        #expect(try repository.backups().map(\.id) == [manifest.id])
    }
}

/// Runs `body` on a thread of its own; the function returned waits for it and returns what it
/// threw, described, or nil.
func onThread(_ body: @escaping @Sendable () throws -> Void) -> () -> String? {
    let outcome = Shared<String?>(nil)
    let done = DispatchSemaphore(value: 0)
    let waited = Shared(false)
    let thread = Thread {
        do {
            try body()
        } catch {
            outcome.set("\(error)")
        }
        done.signal()
    }
    thread.start()
    return {
        if !waited.value {
            done.wait()
            waited.set(true)
        }
        return outcome.value
    }
}

/// Waits until someone waits for a lock on the file at `path`.
func waitForLockWaiter(on path: String) throws {
    try waitUntil { hasLockWaiter(on: path) }
}

/// Whether someone waits for a lock on the file at `path`: a line of /proc/locks marked `->`
/// for its inode.
func hasLockWaiter(on path: String) -> Bool {
    var info = stat()
    stat(path, &info)
    let inode = ":\(info.st_ino) "
    let locks = (try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? ""
    return locks.split(separator: "\n").contains { $0.contains("->") && $0.contains(inode) }
}

/// Polls `condition` every millisecond for up to ten seconds.
func waitUntil(_ condition: () -> Bool) throws {
    for _ in 0..<10_000 {
        if condition() { return }
        usleep(1000)
    }
    throw SetupError("timed out waiting")
}

/// Whether someone holds a lock on the file at `path`, by trying to take one.
enum WriterRegistryProbe {
    static func isLocked(_ path: String) -> Bool {
        guard let file = try? Descriptor.open(path, O_RDWR) else { return false }
        return flock(file.raw, LOCK_SH | LOCK_NB) != 0
    }
}
