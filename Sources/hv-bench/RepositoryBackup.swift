import HVBackup
import HVBackupStore
import HVProtocol

/// One backup as the broker makes it: every chunk `DiskSource` hands over goes through a
/// `ChunkFeed` to a `BackupWriter` (bytes written, zeros recorded, unchanged runs kept from the
/// parent), then the backup is committed. Timed from `BackupWriter.begin` to the commit: for a running machine that
/// includes beginning and ending libvirt's backup job.
struct RepositoryBackup: Codable, Sendable {
    var id: String
    var wallSeconds: Double
    /// hv-bench's CPU time meanwhile (user + system, all threads).
    var cpuSeconds: Double
    /// The CPU time of the processes hv-bench waited for meanwhile: qemu-nbd, for a stopped machine.
    var childCPUSeconds: Double
    /// For a running machine, the CPU time of its QEMU meanwhile, which serves the export (the
    /// guest's own time included); nil when it was not measured.
    var serverCPUSeconds: Double?
    /// Time of the storing threads in the writer's calls (`ChunkFeed`), added up, plus the commit.
    /// The reader reads meanwhile (libvirt's job, block status, NBD reads), so they overlap.
    var storingSeconds: Double
    /// Bytes read over NBD.
    var bytesRead: UInt64
    /// Bytes of chunks this backup stored first.
    var bytesStored: UInt64
    var dataChunks: Int
    var zeroChunks: Int
    var unchangedChunks: Int

    /// Reads `source` (a machine called `machine`, with qcow2 disks) into `repository`,
    /// incremental to the backup `parent` when one is named; `server` is the process serving the
    /// export, whose CPU time is taken too.
    static func make(
        _ source: DiskSource, into repository: Repository, machine: String, parent: String? = nil, domainXML: String,
        server: Int32? = nil
    ) throws(BenchError) -> RepositoryBackup {
        let serverCPU = server.flatMap(ProcessCPU.seconds(of:))
        let cpu = Timing.cpuSeconds()
        let childCPU = Timing.cpuSeconds(children: true)
        let started = Stopwatch.now()
        let manifest: BackupManifest
        let summary: BackupSummary
        var storing: UInt64 = 0
        do {
            let writer = try BackupWriter.begin(in: repository, machine: machine, parent: parent)
            let feed = ChunkFeed(writer: writer, formats: ["vda": "qcow2"], chunkSize: repository.chunkSize)
            defer { feed.cancel() }
            summary = try source.read(chunkSize: repository.chunkSize) { chunk in try feed.take(chunk) }
            try feed.finish()
            let began = Stopwatch.now()
            manifest = try writer.commit(spec: "", domainXML: domainXML, frozen: false, checkpoint: summary.checkpoint)
            storing = Stopwatch.now() - began + UInt64(feed.storingTime.components.seconds) * 1_000_000_000
                + UInt64(feed.storingTime.components.attoseconds / 1_000_000_000)
        } catch let error as BenchError {
            throw error
        } catch is ParentIncomplete {
            throw BenchError(.measurementFailed, "the parent backup of \(machine) lacks unchanged chunks; this benchmark does not read them again")
        } catch let error as any DiagnosedError {
            throw BenchError(.measurementFailed, "backup of \(machine): \(error.reason)", fix: error.fix)
        } catch {
            throw BenchError(.measurementFailed, "backup of \(machine): \(error)")
        }
        return RepositoryBackup(
            id: manifest.id, wallSeconds: Double(Stopwatch.now() - started) / 1e9, cpuSeconds: Timing.cpuSeconds() - cpu,
            childCPUSeconds: Timing.cpuSeconds(children: true) - childCPU,
            serverCPUSeconds: serverCPU.flatMap { before in server.flatMap(ProcessCPU.seconds(of:)).map { $0 - before } },
            storingSeconds: Double(storing) / 1e9,
            bytesRead: summary.bytesRead, bytesStored: manifest.disks.reduce(0) { $0 + $1.bytesStored },
            dataChunks: summary.disks.reduce(0) { $0 + $1.dataChunks }, zeroChunks: summary.disks.reduce(0) { $0 + $1.zeroChunks },
            unchangedChunks: summary.disks.reduce(0) { $0 + $1.unchangedChunks }
        )
    }
}
