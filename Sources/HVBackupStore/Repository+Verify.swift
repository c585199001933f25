import Foundation
import Glibc
import HVSystem

/// What verifying a backup found.
public struct VerifyReport: Hashable, Sendable {
    /// A chunk of a backup that is missing or bad, where the backup uses it.
    public struct Problem: Hashable, Sendable, CustomStringConvertible {
        public var backup: String
        public var disk: String
        public var chunkIndex: Int
        public var digest: String
        public var missing: Bool
        public var reason: String

        public var description: String {
            "backup \(backup), disk \(disk), chunk \(chunkIndex) (\(digest)): \(reason)"
        }
    }

    public var backup: String
    /// Every index entry whose chunk is missing or bad, in disk and chunk order.
    public var problems: [Problem]
    /// The distinct chunks read and hashed (a chunk used many times, as a zero chunk is, once).
    public var chunksChecked: Int
    /// The plaintext bytes of those chunks.
    public var bytesChecked: UInt64
    public var duration: Duration
    /// Whether the result was recorded in the manifest; false when the backup was deleted meanwhile.
    public var recorded: Bool

    public var ok: Bool { problems.isEmpty }

    public var bytesPerSecond: Double {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds > 0 ? Double(bytesChecked) / seconds : 0
    }
}

extension Repository {
    /// Reads back every chunk the backup `id` references, decrypting it when the repository is
    /// encrypted, and checks that it hashes to its name. A bad chunk is renamed `<digest>.bad`, so
    /// no later backup reuses it and the next writer that needs it writes it anew. The result
    /// is recorded in the manifest, per disk. `progress` is told after every chunk.
    public func verify(_ id: String, progress: (BackupProgress) -> Void = { _ in }) throws(BackupError) -> VerifyReport {
        let clock = ContinuousClock()
        let began = clock.now
        let manifest = try manifest(id)
        var indexes: [FixedIndex] = []
        for disk in manifest.disks { indexes.append(try index(id, disk: disk)) }
        var lengths: [ChunkDigest: Int] = [:]
        for index in indexes {
            for (position, digest) in index.digests.enumerated() { lengths[digest] = index.geometry.length(position) }
        }
        let total = lengths.values.reduce(UInt64(0)) { $0 + UInt64($1) }
        let lock = try catching("open \(Self.lockFile)") { () throws(SystemError) in try RepositoryLock(in: root) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize + Cipher.overhead, alignment: 4096)
        defer { buffer.deallocate() }

        // The verdict on each distinct chunk: nil when good, else (missing, reason).
        var verdicts: [ChunkDigest: (missing: Bool, reason: String)?] = [:]
        var done: UInt64 = 0
        var problems: [VerifyReport.Problem] = []
        var results: [BackupManifest.Verification] = []
        let time = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        for (disk, index) in zip(manifest.disks, indexes) {
            var result = BackupManifest.Verification(time: time, ok: true, chunks: index.digests.count, bad: 0, missing: 0)
            for (position, digest) in index.digests.enumerated() {
                let verdict: (missing: Bool, reason: String)?
                if let known = verdicts[digest] {
                    verdict = known
                } else {
                    let length = index.geometry.length(position)
                    verdict = try check(digest, length: length, buffer: buffer, lock: lock)
                    verdicts[digest] = verdict
                    done += UInt64(length)
                    progress(BackupProgress(bytesDone: done, bytesTotal: total))
                }
                guard let verdict else { continue }
                if verdict.missing { result.missing += 1 } else { result.bad += 1 }
                result.ok = false
                let problem = VerifyReport.Problem(
                    backup: id, disk: disk.target, chunkIndex: position, digest: digest.description, missing: verdict.missing,
                    reason: verdict.reason)
                problems.append(problem)
                if (result.problems?.count ?? 0) < BackupManifest.maximumProblems {
                    result.problems = (result.problems ?? []) + [problem.description]
                }
            }
            results.append(result)
        }
        let recorded = try updateManifest(id) { manifest in
            for (position, result) in results.enumerated() where position < manifest.disks.count {
                manifest.disks[position].verifications = Array(
                    (manifest.disks[position].verifications + [result]).suffix(BackupManifest.maximumVerifications))
            }
        }
        return VerifyReport(
            backup: id, problems: problems, chunksChecked: verdicts.count, bytesChecked: done, duration: clock.now - began,
            recorded: recorded)
    }

    /// Reads and hashes one chunk; nil when it is good. A bad one is set aside.
    private func check(
        _ digest: ChunkDigest, length: Int, buffer: UnsafeMutableRawBufferPointer, lock: RepositoryLock
    ) throws(BackupError) -> (missing: Bool, reason: String)? {
        try catching("verify chunk \(digest)") { () throws(SystemError) -> (missing: Bool, reason: String)? in
            switch try chunks.load(digest, length: length, buffer: buffer, keep: false) {
            case .good:
                return nil
            case .missing:
                let setAside = try chunks.directory.entryStatus(ChunkStore.path(digest) + ".bad") != nil
                return (true, setAside ? "it is missing; it was found bad before and set aside" : "it is missing")
            case .bad(let reason, let file):
                try chunks.setAside(digest, file: file, lock: lock)
                return (false, reason + "; renamed \(digest).bad")
            }
        }
    }
}
