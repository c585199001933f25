import Foundation
import Glibc
import HVBackupStore
import HVProtocol
import HVSystem

/// A timed read of a backup: `Repository.verify` of every chunk it references, or
/// `BackupReader.restore` of a disk to a new file, with hv-bench's CPU time meanwhile.
struct RepositoryReadBack: Codable, Sendable {
    var wallSeconds: Double
    /// hv-bench's CPU time meanwhile (user + system, all threads).
    var cpuSeconds: Double
    /// The bytes checked (verify: each distinct chunk once) or written (restore: the data chunks).
    var bytes: UInt64
    /// Distinct chunks checked, or chunks of zeros left as holes by a restore.
    var chunks: Int

    /// Verifies the backup `id`, which must be found intact.
    static func verify(_ id: String, in repository: Repository) throws(BenchError) -> RepositoryReadBack {
        try timed("verify backup \(id)") { () throws(HVBackupStore.BackupError) in
            let report = try repository.verify(id)
            guard report.ok else {
                throw HVBackupStore.BackupError(.badChunk, "verification found \(report.problems.count) bad or missing chunks: \(report.problems.prefix(3))")
            }
            return (report.bytesChecked, report.chunksChecked)
        }
    }

    /// Restores disk `target` of the backup `id` to the new file `path`.
    static func restore(_ id: String, disk target: String, in repository: Repository, to path: String) throws(BenchError) -> RepositoryReadBack {
        try timed("restore \(target) of backup \(id) to \(path)") { () throws(HVBackupStore.BackupError) in
            let reader = try BackupReader(repository: repository, backup: id)
            let file: Descriptor
            do throws(SystemError) {
                file = try Descriptor.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600)
            } catch {
                throw HVBackupStore.BackupError(.ioFailed, error.description)
            }
            let summary = try reader.restore(disk: target, to: file)
            return (summary.bytes, summary.holes)
        }
    }

    private static func timed(
        _ what: String, _ body: () throws(HVBackupStore.BackupError) -> (bytes: UInt64, chunks: Int)
    ) throws(BenchError) -> RepositoryReadBack {
        let cpu = Timing.cpuSeconds()
        let started = Stopwatch.now()
        do {
            let (bytes, chunks) = try body()
            return RepositoryReadBack(
                wallSeconds: Double(Stopwatch.now() - started) / 1e9, cpuSeconds: Timing.cpuSeconds() - cpu, bytes: bytes, chunks: chunks
            )
        } catch {
            throw BenchError(.measurementFailed, "cannot \(what): \(error.reason)", fix: error.fix)
        }
    }
}

/// The yardstick for `Repository.verify`: `sha256sum` of a repository's chunk files, the same
/// bytes the verification hashes when the repository holds one backup, in batches of 256 files
/// per process, one process after the other.
struct ChunkFilesDigest: Codable, Sendable {
    var files: Int
    var bytes: UInt64
    var run: Timing

    static func measure(repository: String, sha256sum: String) throws(BenchError) -> ChunkFilesDigest {
        let (files, bytes) = chunkFiles(in: repository + "/chunks")
        var run = Timing(wallSeconds: 0, cpuSeconds: 0)
        var batchStart = 0
        while batchStart < files.count {
            let batch = Array(files[batchStart..<min(batchStart + 256, files.count)])
            batchStart += batch.count
            let timing = try ToolRun.timed([sha256sum, "--"] + batch, "sha256sum of the chunk files")
            run.wallSeconds += timing.wallSeconds
            run.cpuSeconds += timing.cpuSeconds
        }
        return ChunkFilesDigest(files: files.count, bytes: bytes, run: run)
    }

    /// The chunk files under `directory` (none set aside as bad), sorted, and their bytes together.
    static func chunkFiles(in directory: String) -> (files: [String], bytes: UInt64) {
        var files: [String] = []
        var bytes: UInt64 = 0
        let walker = FileManager.default.enumerator(atPath: directory)
        while let relative = walker?.nextObject() as? String {
            let path = directory + "/" + relative
            guard !relative.hasSuffix(".bad"), let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                attributes[.type] as? FileAttributeType == .typeRegular, let size = attributes[.size] as? UInt64
            else { continue }
            files.append(path)
            bytes += size
        }
        return (files.sorted(), bytes)
    }
}
