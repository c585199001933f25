import Glibc
import HVDomainXML
import HVLibvirt
import HVNBD

/// A running machine's disks, read through a pull-mode backup job: QEMU serves each disk as it
/// was when the job began over NBD, on a Unix socket in `workDirectory`, keeping the blocks the
/// guest overwrites meanwhile in scratch files there; the job creates checkpoint `checkpoint`
/// at the same moment, the start of the next incremental backup.
///
/// libvirt needs a checkpoint's disks, and those of an incremental backup, to be qcow2 images: it
/// keeps the bitmaps of changed blocks in them.
public struct PullBackup: Sendable {
    public var domain: Domain
    /// An absolute directory for the NBD socket and the scratch files, which QEMU must be able to
    /// create files in; everything in it is gone when the read returns.
    public var workDirectory: String
    /// The name of the checkpoint the backup creates (every disk read must then be qcow2); nil
    /// creates none.
    public var checkpoint: String?
    /// The checkpoint an incremental backup reports changes since; nil for a full backup.
    public var incrementalSince: String?
    /// The disks to read by target (`vda`); nil reads every writable disk image.
    public var disks: [String]?
    /// Whether to freeze the guest's filesystems through its agent while the job begins.
    public var freezeFilesystems: Bool
    /// Deletes the checkpoint the backup created when it fails, the machine running or not.
    public var checkpointRemoval: CheckpointRemoval

    public init(
        domain: Domain, workDirectory: String, checkpoint: String?, incrementalSince: String? = nil,
        disks: [String]? = nil, freezeFilesystems: Bool = false, checkpointRemoval: CheckpointRemoval = CheckpointRemoval()
    ) {
        self.domain = domain
        self.workDirectory = workDirectory
        self.checkpoint = checkpoint
        self.incrementalSince = incrementalSince
        self.disks = disks
        self.freezeFilesystems = freezeFilesystems
        self.checkpointRemoval = checkpointRemoval
    }

    /// Unix socket paths are at most 107 bytes.
    static let maximumSocketPath = 107

    var socketPath: String { workDirectory + "/nbd.sock" }

    func scratchPath(_ disk: String) -> String { workDirectory + "/\(disk).scratch.qcow2" }

    /// The export bitmap of `disk` in an incremental backup.
    static func exportBitmap(_ disk: String) -> String { "changed-\(disk)" }

    func read(chunkSize: Int, observer: BackupObserver, _ body: (DiskChunk) throws -> Void) throws -> BackupSummary {
        let machine = domain.name
        let chosen: [ChosenDisk]
        let xml: (backup: String, checkpoint: String?)
        do {
            guard try domain.isActive() else {
                throw BackupError(
                    .machineStopped, machine: machine, "\(machine) is not running",
                    fix: "read a stopped machine's images instead"
                )
            }
            chosen = try ChosenDisk.choose(from: try DomainFacts.read(domainXML: try domain.xmlDescription()), names: disks, machine: machine)
            xml = try documents(for: chosen, machine: machine)
            if let since = incrementalSince, try domain.checkpoint(named: since) == nil {
                throw BackupError(
                    .checkpointMissing, machine: machine, "\(machine) has no checkpoint \(since)",
                    fix: "take a full backup; it starts a new chain of checkpoints"
                )
            }
        } catch {
            throw BackupError.from(error, machine: machine, code: .jobFailed)
        }
        let froze = freezeFilesystems ? freeze() : nil
        do {
            defer { if froze == true { _ = try? domain.thawFilesystems() } }
            try domain.beginBackup(xml: xml.backup, checkpointXML: xml.checkpoint)
        } catch {
            throw BackupError.from(begun(error, machine: machine), machine: machine, code: .jobFailed)
        }
        // The job and the checkpoint exist from here: whatever fails, both go.
        do {
            var summary = BackupSummary(disks: [], checkpoint: checkpoint, froze: froze)
            let job = try BackupFacts.read(xml: try domain.backupXMLDescription())
            for disk in chosen {
                let exported = job.disks.first { $0.name == disk.target }
                let bitmap = incrementalSince.map { _ in MetaContext.dirtyBitmap(exported?.exportBitmap ?? Self.exportBitmap(disk.target)) }
                let client = try NBDClient.connect(
                    unixSocket: job.socketPath ?? socketPath, export: exported?.exportName ?? disk.target,
                    metaContexts: [.allocation] + (bitmap.map { [$0] } ?? [])
                )
                var read = BackupSummary.Disk(name: disk.target, size: try client.size())
                let reader = ExportReader(client: client, disk: disk.target, chunkSize: chunkSize, readsInFlight: DiskSource.readsInFlight, bitmap: bitmap)
                try reader.read(into: &read, bytesReadBefore: summary.bytesRead, observer: observer, body)
                client.shutdown()
                summary.disks.append(read)
            }
            try domain.abortJob()
            awaitJobEnd(disks: chosen)
            return summary
        } catch {
            let failure = failed(error, machine: machine)
            let leftovers = removeJobAndCheckpoint(disks: chosen)
            guard !leftovers.isEmpty, var reported = failure as? BackupError else { throw failure }
            reported.reason += "; left behind: " + leftovers.joined(separator: "; ")
            throw reported
        }
    }

    /// The backup XML, and the checkpoint XML when a checkpoint is asked for; a checkpoint tracks
    /// every disk read, which must then be qcow2 (libvirt keeps bitmaps only in qcow2 images).
    private func documents(for disks: [ChosenDisk], machine: String) throws -> (backup: String, checkpoint: String?) {
        if incrementalSince != nil, let raw = disks.first(where: { $0.format != "qcow2" }) {
            throw BackupError(
                .invalidRequest, machine: machine, "disk \(raw.target) of \(machine) is a \(raw.format) image, which keeps no checkpoints",
                fix: "take a full backup, or convert the disk to qcow2"
            )
        }
        guard checkpoint == nil || disks.allSatisfy({ $0.format == "qcow2" }) else {
            throw BackupError(
                .invalidRequest, machine: machine, "only qcow2 disks can start a chain of checkpoints; \(machine) has "
                    + disks.filter { $0.format != "qcow2" }.map { "\($0.target) (\($0.format))" }.joined(separator: ", "),
                fix: "back up its qcow2 disks only (name them), or read it while it is stopped"
            )
        }
        guard socketPath.utf8.count <= Self.maximumSocketPath else {
            throw BackupError(
                .invalidRequest, machine: machine, "the socket path \(socketPath) is longer than \(Self.maximumSocketPath) bytes",
                fix: "use a shorter working directory"
            )
        }
        let backup = try BackupXML.pull(
            socketPath: socketPath,
            disks: disks.map {
                BackupDisk(name: $0.target, exportName: $0.target, exportBitmap: Self.exportBitmap($0.target), scratchPath: scratchPath($0.target))
            },
            incrementalSince: incrementalSince
        )
        return (backup, try checkpoint.map { try CheckpointXML.create(name: $0, description: "backup", disks: disks.map(\.target)) })
    }

    /// Freezes the guest's filesystems; false when no agent answered or it froze nothing.
    private func freeze() -> Bool {
        do {
            return try domain.freezeFilesystems() > 0
        } catch {
            return false
        }
    }

    /// A failure to begin, read in the light of the machine's state. A machine that stopped is
    /// asked about first: QEMU ending while the job begins can leave libvirt reporting a broken
    /// bitmap, which is then a consequence, not a chain of checkpoints to start again.
    private func begun(_ error: any Error, machine: String) -> any Error {
        guard let error = error as? LibvirtError else { return error }
        if hasStopped() {
            return BackupError(.machineStopped, machine: machine, "\(machine) stopped before its backup began (\(error.message))")
        }
        if error.isCheckpointInconsistent || error.isNoDomainCheckpoint {
            return BackupError(
                .checkpointMissing, machine: machine, error.message,
                fix: "take a full backup; it starts a new chain of checkpoints"
            )
        }
        if error.isOperationInvalid || error.isOperationTimeout {
            return BackupError(.busy, machine: machine, error.message, fix: "wait for the machine's running job to end")
        }
        return error
    }

    /// Whether the machine has stopped (or is gone). A machine whose QEMU has just ended can still
    /// show as running for a moment: libvirt sees the monitor close ("Unable to read from monitor:
    /// Connection reset by peer") before it marks the domain shut off. So a running one is asked
    /// again, for up to two seconds; only a failure pays that wait.
    private func hasStopped() -> Bool {
        for attempt in 0..<20 {
            guard let active = try? domain.isActive(), active else { return true }
            if attempt < 19 { usleep(100_000) }
        }
        return false
    }

    /// A failure after the job began, read in the light of the machine's state.
    private func failed(_ error: any Error, machine: String) -> any Error {
        if error is NBDError || error is LibvirtError, hasStopped() {
            return BackupError(
                .machineStopped, machine: machine, "\(machine) stopped during its backup",
                fix: "back it up again; a stopped machine's images are read directly"
            )
        }
        return BackupError.from(error, machine: machine, code: .readFailed)
    }

    /// Ends the job (if it still runs), waits until libvirt has cleaned up after it and deletes the
    /// checkpoint it created; returns what could not be removed.
    private func removeJobAndCheckpoint(disks: [ChosenDisk]) -> [String] {
        var left: [String] = []
        do {
            try domain.abortJob()
        } catch where error.isOperationInvalid || error.isNoDomainBackup || error.isNoDomain {
            // No job runs any more: the machine stopped, or the job already ended.
        } catch {
            left.append("the backup job (\(error.message))")
        }
        awaitJobEnd(disks: disks)
        guard let checkpoint else { return left }
        do {
            try checkpointRemoval.delete(checkpoint, of: domain)
        } catch {
            left.append(error.reason)
        }
        return left
    }

    /// Waits (30 s at most) until the backup job is gone and libvirt has removed its scratch files,
    /// which it does just after the job ends; then removes what is left in the working directory:
    /// the socket, which QEMU leaves when it is stopped, and any scratch file.
    private func awaitJobEnd(disks: [ChosenDisk]) {
        let files = [socketPath] + disks.map { scratchPath($0.target) }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while clock.now < deadline {
            let jobRuns = (try? domain.jobStats()).map { $0.kind == .bounded || $0.kind == .unbounded } ?? false
            let scratchLeft = files.dropFirst().contains { access($0, F_OK) == 0 }
            if !jobRuns, !scratchLeft { break }
            usleep(50_000)
        }
        for file in files { unlink(file) }
    }
}
