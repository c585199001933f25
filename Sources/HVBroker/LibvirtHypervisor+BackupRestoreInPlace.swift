import Foundation
import Glibc
import HVBackupStore
import HVDomainXML
import HVLibvirt
import HVProtocol
import HVServer

/// `Backup.Restore` in place: the backup's disks written over those of the stopped machine it is
/// of. Each disk is written into a new volume beside the old one (the raw-then-qcow2 path of a
/// restore to a new machine); only when every one is written do the new files replace the old
/// ones, each by one `rename(2)`, with the old file kept under a second name until the last one is
/// in. Whatever fails before that takes back the new volumes and leaves the machine as it was.
/// The machine's checkpoints are removed (their bitmaps were in the old images); its definition
/// and record stay as they are.
extension LibvirtHypervisor {
    func backupRestoreInPlace(_ id: String, repository: String?, disks requested: [String]?) async throws(HVError) -> BackupRestoreReply {
        let (_, store) = try backups.repository(named: repository)
        let reader = try await onPool(pools.libvirt) { _ in
            Result { () throws(HVError) -> BackupReader in
                try BackupRepositories.store { () throws(HVBackupStore.BackupError) in try BackupReader(repository: store, backup: id) }
            }
        }
        let machine = reader.manifest.machine
        // No backup of the machine reads its disks meanwhile.
        try backups.claim(machine)
        defer { backups.release(machine) }
        let plan = try await run { connection in try self.inPlacePlan(machine, reader.manifest, requested: requested, connection) }
        let journal = try pending.begin("Backup.Restore", machine: machine, volumes: plan.disks.flatMap { [$0.new.key, $0.new.rawKey] })
        let made = MadeVolumes()
        do {
            let written = try await onPool(pools.jobs) { context in
                self.perform { connection in
                    try self.writeDisks(plan.disks.map(\.new), from: reader, phase: "writing", made: made, context: context, connection)
                }
            }
            let removed = try await run { connection in try self.swapIn(plan, connection) }
            pending.end(journal)
            return BackupRestoreReply(
                name: machine, uuid: plan.uuid, volumes: plan.disks.map(\.volume), bytesRestored: Int64(clamping: written), checkpointsRemoved: removed
            )
        } catch {
            pending.abandon(journal)
            _ = try? await run { connection in try self.takeBack(journal, made: made, connection) }
            throw Self.backupFailure(error)
        }
    }

    /// Checks the machine (the broker's, shut off, no snapshots) and names the volumes to write.
    private func inPlacePlan(_ machine: String, _ manifest: BackupManifest, requested: [String]?, _ connection: Connection) throws -> InPlacePlan {
        let domain = try self.domain(machine, connection)
        let xml = try domain.xmlDescription(flags: .inactive)
        guard let record = ownRecord(domainXML: xml) else {
            throw HVError(
                .invalidState, "'\(machine)' was not made by the broker, so a backup is not restored over it",
                fix: "restore the backup to a new machine (hv backup restore ID --name NEW)", details: ["name": machine, "state": "unmanaged"]
            )
        }
        // Admission checked the group before this request held the machine; it is checked again here, held.
        let group = try SavedMachine.read(manifest.spec, backup: manifest.id).ownerGroup
        guard record.ownerGroup == group else {
            throw HVError(
                .permissionDenied, "the machine '\(machine)' is charged to group '\(record.ownerGroup)', and the backup to group '\(group)'",
                fix: "restore the backup to a new machine (hv backup restore ID --name NEW)", details: ["name": machine]
            )
        }
        guard !record.template else {
            throw HVError(
                .invalidState,
                "'\(machine)' is a template: linked clones are built on its disks, and a restore in place would change them under every clone",
                fix: "restore the backup to a new machine (hv backup restore ID --name NEW)", details: ["name": machine, "state": "template"]
            )
        }
        let state = try domain.state()
        guard state == .shutoff else { throw Self.notStopped(machine, state) }
        let snapshots = try domain.snapshots().map(\.name)
        guard snapshots.isEmpty else {
            throw HVError(
                .invalidState,
                "'\(machine)' has snapshots (\(snapshots.joined(separator: ", "))): they live in its disk images, "
                    + "which a restore in place replaces, so they would be lost",
                fix: "delete them first ('hv snapshot delete \(machine) NAME'), or restore the backup to a new machine (hv backup restore ID --name NEW)",
                details: ["name": machine, "state": "snapshots"]
            )
        }
        var current: [String: (path: String, volume: StorageVolume)] = [:]
        for disk in try DomainFacts.read(domainXML: xml).disks where disk.device == "disk" && !disk.readOnly && disk.format == "qcow2" {
            guard let path = disk.sourcePath, let volume = try connection.storageVolume(path: path) else { continue }
            current[disk.target] = (path, volume)
        }
        let targets = try InPlaceRestore.select(
            requested, backup: Dictionary(manifest.disks.map { ($0.target, $0.size) }) { first, _ in first },
            machine: try current.mapValues { try $0.volume.info().capacity }
        )
        let disks = try targets.map { target in
            let (path, volume) = current[target]!
            let storagePool = try volume.pool()
            let overlays = try overlays(of: volume, in: storagePool)
            guard overlays.isEmpty else {
                throw HVError(
                    .invalidState, "\(volume.name) of '\(machine)' is the base of \(overlays.joined(separator: ", ")); a restore in place would change it under them",
                    fix: "restore the backup to a new machine (hv backup restore ID --name NEW)", details: ["name": machine, "state": "in use"]
                )
            }
            let pool = storagePool.name
            let base = volume.name.hasSuffix(".qcow2") ? String(volume.name.dropLast(".qcow2".count)) : volume.name
            return InPlaceDisk(
                path: path, volume: "\(pool)/\(volume.name)",
                new: RestoredDisk(target: target, pool: pool, volume: base + ".inplace.qcow2", size: try volume.info().capacity)
            )
        }
        return InPlacePlan(machine: machine, uuid: try domain.uuid(), disks: disks)
    }

    /// Puts the written volumes in place of the machine's and removes its checkpoints; on any
    /// failure puts the old files back. Returns how many checkpoints were removed.
    private func swapIn(_ plan: InPlacePlan, _ connection: Connection) throws -> Int {
        let domain = try self.domain(plan.machine, connection)
        let state = try domain.state()
        guard state == .shutoff else { throw Self.notStopped(plan.machine, state) }
        var moves: [FileSwap] = []
        for disk in plan.disks {
            guard let pool = try connection.storagePool(named: disk.new.pool), let written = try pool.volume(named: disk.new.volume) else {
                throw HVError(.failed, "the volume \(disk.new.volume) written for \(disk.new.target) is gone")
            }
            let swap = FileSwap(current: disk.path, written: try written.path())
            guard (swap.current as NSString).deletingLastPathComponent == (swap.written as NSString).deletingLastPathComponent else {
                throw HVError(
                    .failed, "the pool \(disk.new.pool) does not keep volumes as files of one directory, so \(disk.new.target) can't be replaced in place",
                    fix: "restore the backup to a new machine (hv backup restore ID --name NEW)"
                )
            }
            moves.append(swap)
        }
        var done: [FileSwap] = []
        do {
            for swap in moves {
                try swap.perform()
                done.append(swap)
            }
            // Their bitmaps were in the replaced images: only libvirt's records are left to remove.
            let checkpoints = try domain.checkpoints()
            for checkpoint in checkpoints.reversed() { try checkpoint.delete(flags: .metadataOnly) }
            for swap in done { swap.finish() }
            for name in Set(plan.disks.map(\.new.pool)) { try? connection.storagePool(named: name)?.refresh() }
            return checkpoints.count
        } catch {
            for swap in done.reversed() { swap.undo() }
            throw error
        }
    }

    static func notStopped(_ machine: String, _ state: Domain.State) -> HVError {
        HVError(
            .invalidState, "'\(machine)' is \(state.rawValue): a backup is restored in place only over a machine that is shut off",
            fix: "stop it first ('hv vm stop \(machine)', or 'hv vm kill \(machine)'), then restore again",
            details: ["name": machine, "state": state.rawValue]
        )
    }
}

/// What a restore in place writes: the machine's disks by target, and the volumes written for them.
struct InPlacePlan: Sendable {
    var machine: String
    var uuid: String
    var disks: [InPlaceDisk]
}

struct InPlaceDisk: Sendable {
    /// The machine's disk image now.
    var path: String
    /// Its volume, as `POOL/NAME`.
    var volume: String
    /// The volume the backup's disk is written into, beside it.
    var new: RestoredDisk
}

/// One file replaced by another of the same directory: the old one is kept under a second name
/// (`NAME.before-restore`) until `finish`, so `undo` can put it back.
struct FileSwap: Sendable {
    var current: String
    var written: String

    var kept: String { current + ".before-restore" }

    func perform() throws {
        guard link(current, kept) == 0 else {
            let code = errno
            throw HVError(
                .failed, "cannot keep \(current) while it is replaced: \(String(cString: strerror(code)))",
                fix: code == EEXIST ? "\(kept) is the disk as it was before a restore in place that was cut short: put it back or remove it, then retry" : nil
            )
        }
        guard rename(written, current) == 0 else {
            let code = errno
            unlink(kept)
            throw HVError(.failed, "cannot put the restored disk in place of \(current): \(String(cString: strerror(code)))")
        }
    }

    func undo() {
        rename(kept, current)
    }

    func finish() {
        unlink(kept)
    }
}
