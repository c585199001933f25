import Foundation
import HVBackup
import HVBackupStore
import HVDomainXML
import HVImages
import HVLibvirt
import HVProtocol
import HVServer
import HVWork
import Logging
import Synchronization

/// Backups (docs/BACKUPS.md): a machine's disks read by `HVBackup` into a repository of
/// `HVBackupStore`, on the pool for long jobs; listing, showing, verifying and deleting them.
extension LibvirtHypervisor {
    /// Checkpoints the broker creates are named after the backup that created them.
    static let checkpointPrefix = "hv-backup-"

    public func perform(_ request: BackupRequest, caller: Peer) async throws(HVError) -> any ResourceReply {
        switch request {
        case .create(let machine, let repository): try await backupCreate(machine, repository: repository)
        case .list(let repository, let machine): try await backupList(repository: repository, machine: machine)
        case .show(let repository, let id): try await backupShow(id, repository: repository)
        case .verify(let repository, let id): try await backupVerify(id, repository: repository)
        case .restore(let repository, let id, let name, let pool):
            try await backupRestore(id, repository: repository, as: name, pool: pool, caller: caller)
        case .restoreInPlace(let repository, let id, let disks): try await backupRestoreInPlace(id, repository: repository, disks: disks)
        case .delete(let repository, let id): try await backupDelete(id, repository: repository)
        case .prune(let repository, let machine, let retention, let dryRun):
            try await backupPrune(repository: repository, machine: machine, retention: retention, dryRun: dryRun)
        case .runJob(let job): try await runBackupJob(job, caller: caller)
        case .jobs: try await backupJobs()
        case .bootTest(let repository, let id, let marker, let timeout):
            try await backupBootTest(id, repository: repository, marker: marker, timeout: timeout, caller: caller)
        case .status(let repository): try await backupStatus(repository: repository)
        }
    }

    public func resolve(backup id: String, repository: String?) async throws(HVError) -> BackupObject? {
        let (name, store) = try backups.repository(named: repository)
        return try await onPool(pools.libvirt) { _ in
            Result { () throws(HVError) -> BackupObject? in
                let manifest: BackupManifest
                do throws(HVBackupStore.BackupError) {
                    manifest = try store.manifest(id)
                } catch where error.code == .notFound {
                    return nil
                } catch {
                    throw error.hvError
                }
                return BackupObject(
                    id: id, repository: name, machine: manifest.machine,
                    ownerGroup: try? SavedMachine.read(manifest.spec, backup: id).ownerGroup
                )
            }
        }
    }

    // MARK: Create

    func backupCreate(_ machine: String, repository: String?) async throws(HVError) -> BackupReply {
        guard !machine.hasPrefix(BootTestScratch.prefix) else {
            throw HVError(
                .invalidState, "\(machine) is a boot test's scratch machine, removed when its test ends; it is not backed up",
                fix: "back up the machine the tested backup is of", details: ["name": machine]
            )
        }
        let (name, store) = try backups.repository(named: repository)
        // Refused before any work, a machine that isn't there or that the broker did not make
        // leaves no attempt: `Backup.Status` shows only the broker's machines.
        try await run { connection in _ = try self.backupSource(machine, connection) }
        try backups.claim(machine)
        defer { backups.release(machine) }
        let began = ContinuousClock.now
        do throws(HVError) {
            let reply = try await onPool(pools.jobs) { context in
                self.perform { connection in
                    do {
                        return try self.backUp(machine, into: store, named: name, context: context, connection)
                    } catch {
                        throw Self.backupFailure(error)
                    }
                }
            }
            backupAttempts.record(repository: name, machine: machine, outcome: .success(reply.backup.id), took: ContinuousClock.now - began)
            return reply
        } catch {
            backupAttempts.record(repository: name, machine: machine, outcome: .failure(error), took: ContinuousClock.now - began)
            throw error
        }
    }

    /// Reads the machine's disks into the repository, incremental since its newest backup there
    /// whose checkpoint the machine still has; when that backup lacks chunks it should share, the
    /// read is begun again as a full one.
    private func backUp(
        _ machine: String, into store: Repository, named repositoryName: String, context: JobContext, _ connection: Connection
    ) throws -> BackupReply {
        let (domain, saved, definition) = try backupSource(machine, connection)
        let parent = try domain.isActive() ? try newestWithCheckpoint(of: machine, in: store, domain) : nil
        func full(checkpoint: Bool) throws -> BackupReply {
            try backUp(
                domain, saved: saved, definition: definition, since: nil, checkpoint: checkpoint, into: store, named: repositoryName,
                context: context, connection
            )
        }
        do {
            return try backUp(
                domain, saved: saved, definition: definition, since: parent, into: store, named: repositoryName, context: context, connection
            )
        } catch let error as ParentIncomplete {
            logger.notice(
                "an incremental backup found its parent lacking chunks; backing up in full",
                metadata: ["machine": "\(machine)", "parent": "\(error.parent)"]
            )
            return try full(checkpoint: true)
        } catch let error as HVBackup.BackupError where error.reason.contains(Self.versionTwoImage) {
            // A qcow2 image made before the broker made version 3 ones can keep no bitmap: read it
            // in full, without a checkpoint, rather than not at all.
            logger.notice(
                "a disk is a qcow2 version 2 image, which keeps no checkpoint; backing up in full without one",
                metadata: [
                    "machine": "\(machine)",
                    "fix": "stop the machine and run qemu-img amend -f qcow2 -o compat=1.1 on its images for incremental backups",
                ]
            )
            return try full(checkpoint: false)
        }
    }

    /// Runs a call of the chunk feed, turning the repository's errors into the broker's.
    private static func storing(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as HVBackupStore.BackupError {
            throw error.hvError
        }
    }

    /// The machine to back up, its record and its definition (the inactive domain XML, saved with
    /// the backup as it was when the backup began); a machine the broker did not make from a spec
    /// is refused, since a backup of it could not rebuild it.
    private func backupSource(_ machine: String, _ connection: Connection) throws -> (Domain, SavedMachine, definition: String) {
        let domain = try self.domain(machine, connection)
        let definition = try domain.xmlDescription(flags: .inactive)
        guard let record = ownRecord(domainXML: definition), let saved = SavedMachine(record) else {
            throw HVError(
                .invalidState, "'\(machine)' was not made from a spec, so a backup could not rebuild it",
                fix: "back up machines made with 'hv vm apply' (an administrator can adopt others with 'hv vm adopt')",
                details: ["name": machine, "state": "unmanaged"]
            )
        }
        return (domain, saved, definition)
    }

    /// What QEMU says when it is asked to keep a checkpoint's bitmap in a qcow2 version 2 image.
    static let versionTwoImage = "Cannot store dirty bitmaps in qcow2 v2 files"

    private func backUp(
        _ domain: Domain, saved: SavedMachine, definition: String, since parent: BackupManifest?, checkpoint makesCheckpoint: Bool = true,
        into store: Repository, named repositoryName: String, context: JobContext, _ connection: Connection
    ) throws -> BackupReply {
        let machine = domain.name
        let writer = try BackupRepositories.store { () throws(HVBackupStore.BackupError) in
            try BackupWriter.begin(in: store, machine: machine, parent: parent?.id)
        }
        let checkpoint = Self.checkpointPrefix + writer.id
        let workDirectory = layout.backupWorkDirectory + "/" + writer.id
        let removal = CheckpointRemoval(runner: processRunner)
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        let source: DiskSource
        let running = try domain.isActive()
        if running {
            try makeWorkDirectory(workDirectory)
            source = .running(
                PullBackup(
                    domain: domain, workDirectory: workDirectory, checkpoint: makesCheckpoint ? checkpoint : nil,
                    incrementalSince: parent?.checkpoint,
                    freezeFilesystems: true, checkpointRemoval: removal
                )
            )
        } else {
            source = .stopped(StoppedImages(domain: domain, qemuNBD: try tools.locate(.qemuNBD), env: try tools.locate(.env)))
        }
        let xml = try domain.xmlDescription()
        let facts = try DomainFacts.read(domainXML: xml)
        let disks = facts.disks.filter { $0.device == "disk" && !$0.readOnly && $0.sourcePath != nil }
        let total = disks.reduce(UInt64(0)) { sum, disk in sum + ((try? domain.blockInfo(disk: disk.target).capacity) ?? 0) }
        let feed = ChunkFeed(
            writer: writer, formats: Dictionary(disks.map { ($0.target, $0.format ?? "raw") }) { first, _ in first },
            chunkSize: store.chunkSize)
        defer { feed.cancel() }
        let progress = DiskProgress(total: total, count: disks.count, context: context)
        let summary: BackupSummary
        do {
            summary = try source.read(
                chunkSize: store.chunkSize,
                observer: BackupObserver(progress: progress.report, isCancelled: { context.isCancelled })
            ) { chunk in try Self.storing { try feed.take(chunk) } }
            try Self.storing { try feed.finish() }
        } catch {
            feed.cancel()
            writer.abort()
            throw error
        }
        let manifest: BackupManifest
        do {
            let spec = try saved.text()
            manifest = try BackupRepositories.store { () throws(HVBackupStore.BackupError) in
                try writer.commit(spec: spec, domainXML: definition, frozen: summary.froze ?? false, checkpoint: summary.checkpoint)
            }
        } catch {
            // The checkpoint this read created starts no backup: it goes too.
            if summary.checkpoint != nil { try? removal.delete(checkpoint, of: domain) }
            throw error
        }
        if summary.checkpoint != nil { removeOlderCheckpoints(of: domain, keeping: checkpoint, removal) }
        return BackupReply(backup: Self.info(manifest, repository: repositoryName))
    }

    /// The machine's newest backup in the repository whose checkpoint the machine still has.
    private func newestWithCheckpoint(of machine: String, in store: Repository, _ domain: Domain) throws -> BackupManifest? {
        let manifests = try BackupRepositories.store { () throws(HVBackupStore.BackupError) in try store.backups(machine: machine) }
        for manifest in manifests.reversed() {
            guard let checkpoint = manifest.checkpoint, checkpoint.hasPrefix(Self.checkpointPrefix) else { continue }
            if try domain.checkpoint(named: checkpoint) != nil { return manifest }
        }
        return nil
    }

    /// Only the newest backup checkpoint stays: every checkpoint records every write from its
    /// creation on, and an incremental backup starts from the newest.
    private func removeOlderCheckpoints(of domain: Domain, keeping newest: String, _ removal: CheckpointRemoval) {
        let names = ((try? domain.checkpoints()) ?? []).map(\.name).filter { $0.hasPrefix(Self.checkpointPrefix) && $0 != newest }
        for name in names {
            do {
                try removal.delete(name, of: domain)
            } catch {
                logger.warning(
                    "an older backup checkpoint could not be deleted", metadata: ["machine": "\(domain.name)", "checkpoint": "\(name)", "error": "\(error.reason)"]
                )
            }
        }
    }

    /// A private directory QEMU's user may create its socket and scratch files in: owned by root,
    /// mode 0700, with an access ACL entry giving that one user rwx (`QemuUser.grant`). The broker
    /// needs no capability for it (no CAP_CHOWN), and removes what QEMU left as the directory's owner.
    private func makeWorkDirectory(_ path: String) throws {
        let user = try QemuUser.find()
        try FileManager.default.createDirectory(atPath: layout.backupWorkDirectory, withIntermediateDirectories: true)
        chmod(layout.backupWorkDirectory, 0o711)
        guard mkdir(path, 0o700) == 0 else {
            throw HVError(.failed, "cannot make the backup's working directory \(path): \(String(cString: strerror(errno)))")
        }
        do {
            try user.grant(directory: path)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    /// The reader's, the repository's and libvirt's errors as the broker's.
    static func backupFailure(_ error: any Error) -> HVError {
        switch error {
        case let error as HVError: error
        case let error as HVBackup.BackupError: error.hvError
        case let error as HVBackupStore.BackupError: error.hvError
        case let error as LibvirtError: translate(error)
        case let error as ImageError: error.hvError
        default: HVError(.failed, "the backup failed: \(error)")
        }
    }

    // MARK: List, show, verify, delete

    func backupList(repository: String?, machine: String?) async throws(HVError) -> BackupListReply {
        let (name, store) = try backups.repository(named: repository)
        let manifests = try await fileWork(store) { store throws(HVBackupStore.BackupError) in try store.backups(machine: machine) }
        return BackupListReply(
            repository: name, repositories: backups.names, backups: manifests.reversed().map { Self.info($0, repository: name) }
        )
    }

    func backupShow(_ id: String, repository: String?) async throws(HVError) -> BackupReply {
        let (name, store) = try backups.repository(named: repository)
        let manifest = try await fileWork(store) { store throws(HVBackupStore.BackupError) in try store.manifest(id) }
        return BackupReply(backup: Self.info(manifest, repository: name))
    }

    func backupVerify(_ id: String, repository: String?) async throws(HVError) -> BackupVerifyReply {
        let (name, store) = try backups.repository(named: repository)
        return try await onPool(pools.jobs) { context in
            Result { () throws(HVBackupStore.BackupError) -> BackupVerifyReply in
                let report = try store.verify(id) { progress in
                    context.report(JobProgress(done: progress.bytesDone, total: progress.bytesTotal, phase: "verifying"))
                }
                return BackupVerifyReply(
                    backup: Self.info(try store.manifest(id), repository: name), ok: report.ok, chunksChecked: report.chunksChecked,
                    bytesChecked: Int64(clamping: report.bytesChecked), problems: report.problems.map(\.description)
                )
            }.mapError(\.hvError)
        }
    }

    func backupDelete(_ id: String, repository: String?) async throws(HVError) -> EmptyReply {
        let (_, store) = try backups.repository(named: repository)
        try await fileWork(store) { store throws(HVBackupStore.BackupError) in try store.delete(id) }
        return EmptyReply()
    }

    /// A short repository operation on the libvirt pool, beside the other short file work.
    func fileWork<T: Sendable>(
        _ store: Repository, _ body: @escaping @Sendable (Repository) throws(HVBackupStore.BackupError) -> T
    ) async throws(HVError) -> T {
        try await onPool(pools.libvirt) { _ in Result { () throws(HVBackupStore.BackupError) -> T in try body(store) }.mapError(\.hvError) }
    }

    /// A manifest as the wire shows it.
    static func info(_ manifest: BackupManifest, repository: String) -> BackupInfo {
        BackupInfo(
            id: manifest.id, repository: repository, machine: manifest.machine,
            group: try? SavedMachine.read(manifest.spec, backup: manifest.id).ownerGroup,
            time: Int64(manifest.time.timeIntervalSince1970), parent: manifest.parent, frozen: manifest.frozen,
            disks: manifest.disks.map { disk in
                BackupDiskInfo(
                    target: disk.target, size: Int64(clamping: disk.size), bytesRead: Int64(clamping: disk.bytesRead),
                    bytesStored: Int64(clamping: disk.bytesStored),
                    verification: disk.verifications.last.map {
                        BackupVerification(
                            time: Int64($0.time.timeIntervalSince1970), ok: $0.ok, chunks: $0.chunks, bad: $0.bad, missing: $0.missing,
                            problems: $0.problems
                        )
                    }
                )
            },
            bootTest: manifest.bootTests?.last
        )
    }
}

/// A backup's progress across its disks, for the caller: bytes of the disks planned so far (read,
/// zero or unchanged) of all the disks' sizes, and the disk being read.
final class DiskProgress: Sendable {
    private struct State {
        /// The sizes of the disks read before the current one, added up.
        var finished: UInt64 = 0
        var current: (disk: String, size: UInt64)?
        var number = 0
    }

    private let total: UInt64
    private let count: Int
    private let context: JobContext
    private let state = Mutex(State())

    init(total: UInt64, count: Int, context: JobContext) {
        self.total = total
        self.count = count
        self.context = context
    }

    @Sendable func report(_ progress: HVBackup.BackupProgress) {
        let (finished, number) = state.withLock { state -> (UInt64, Int) in
            if state.current?.disk != progress.disk {
                state.finished += state.current?.size ?? 0
                state.current = (progress.disk, progress.size)
                state.number += 1
            }
            return (state.finished, state.number)
        }
        let done = finished + progress.done
        context.report(
            JobProgress(done: done, total: max(total, done), phase: "reading \(progress.disk) (disk \(number) of \(max(count, number)))")
        )
    }
}
