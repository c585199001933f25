import HVBackup
import HVBackupStore
import HVProtocol

/// One backup as the broker makes it: every chunk `DiskSource` hands over goes to a
/// `BackupWriter` (bytes written, zeros recorded, unchanged runs kept from the parent), then the
/// backup is committed. Timed from `BackupWriter.begin` to the commit: for a running machine that
/// includes beginning and ending libvirt's backup job.
struct RepositoryBackup: Codable, Sendable {
    var id: String
    var wallSeconds: Double
    /// hv-bench's CPU time meanwhile (user + system, all threads).
    var cpuSeconds: Double
    /// The CPU time of the processes hv-bench waited for meanwhile: qemu-nbd, for a stopped machine.
    var childCPUSeconds: Double
    /// Wall time spent storing: in the writer's calls for each chunk, `finishDisk` and `commit`.
    /// The rest of the wall time went to reading (libvirt's job, block status, NBD reads).
    var storingSeconds: Double
    /// Bytes read over NBD.
    var bytesRead: UInt64
    /// Bytes of chunks this backup stored first.
    var bytesStored: UInt64
    var dataChunks: Int
    var zeroChunks: Int
    var unchangedChunks: Int

    /// Reads `source` (a machine called `machine`, with qcow2 disks) into `repository`,
    /// incremental to the backup `parent` when one is named.
    static func make(
        _ source: DiskSource, into repository: Repository, machine: String, parent: String? = nil, domainXML: String
    ) throws(BenchError) -> RepositoryBackup {
        let cpu = Timing.cpuSeconds()
        let childCPU = Timing.cpuSeconds(children: true)
        let started = Stopwatch.now()
        let manifest: BackupManifest
        let summary: BackupSummary
        var storing: UInt64 = 0
        func store<T>(_ body: () throws -> T) rethrows -> T {
            let began = Stopwatch.now()
            defer { storing += Stopwatch.now() - began }
            return try body()
        }
        do {
            let writer = try BackupWriter.begin(in: repository, machine: machine, parent: parent)
            var feed = ChunkFeed(writer: writer)
            summary = try source.read(chunkSize: repository.chunkSize) { chunk in try store { try feed.take(chunk) } }
            manifest = try store {
                try feed.finish()
                return try writer.commit(spec: "", domainXML: domainXML, frozen: false, checkpoint: summary.checkpoint)
            }
        } catch let error as BenchError {
            throw error
        } catch let error as any DiagnosedError {
            throw BenchError(.measurementFailed, "backup of \(machine): \(error.reason)", fix: error.fix)
        } catch {
            throw BenchError(.measurementFailed, "backup of \(machine): \(error)")
        }
        return RepositoryBackup(
            id: manifest.id, wallSeconds: Double(Stopwatch.now() - started) / 1e9, cpuSeconds: Timing.cpuSeconds() - cpu,
            childCPUSeconds: Timing.cpuSeconds(children: true) - childCPU, storingSeconds: Double(storing) / 1e9,
            bytesRead: summary.bytesRead, bytesStored: manifest.disks.reduce(0) { $0 + $1.bytesStored },
            dataChunks: summary.disks.reduce(0) { $0 + $1.dataChunks }, zeroChunks: summary.disks.reduce(0) { $0 + $1.zeroChunks },
            unchangedChunks: summary.disks.reduce(0) { $0 + $1.unchangedChunks }
        )
    }
}

/// Hands the chunks of each disk to the writer in the order the reader gives them; a run of
/// unchanged chunks is kept from the parent in one call.
private struct ChunkFeed {
    let writer: BackupWriter
    var disk: String?
    var unchanged: Range<Int>?

    init(writer: BackupWriter) {
        self.writer = writer
    }

    mutating func take(_ chunk: DiskChunk) throws {
        if chunk.disk != disk {
            try finish()
            try writer.beginDisk(target: chunk.disk, size: chunk.diskSize, format: "qcow2")
            disk = chunk.disk
        }
        if case .unchanged = chunk.content {
            if let run = unchanged, run.upperBound == chunk.index {
                unchanged = run.lowerBound..<(chunk.index + 1)
            } else {
                try keepUnchanged()
                unchanged = chunk.index..<(chunk.index + 1)
            }
            return
        }
        try keepUnchanged()
        switch chunk.content {
        case .zero: try writer.zero(chunkIndex: chunk.index)
        case .data(let bytes): try writer.write(chunkIndex: chunk.index, data: bytes)
        case .unchanged: break
        }
    }

    /// Finishes the disk being fed, if any.
    mutating func finish() throws {
        guard disk != nil else { return }
        try keepUnchanged()
        try writer.finishDisk()
        disk = nil
    }

    /// Keeps the pending run of unchanged chunks. The parent of a fresh repository has every one
    /// of them; one it lacks could only be read again, which this benchmark does not do.
    private mutating func keepUnchanged() throws {
        guard let run = unchanged else { return }
        unchanged = nil
        let lacking = try writer.keepFromParent(chunks: run)
        guard lacking.isEmpty else {
            throw BenchError(.measurementFailed, "the parent backup lacks \(lacking.count) unchanged chunks of \(disk ?? "?"), the first \(lacking[0])")
        }
    }
}
