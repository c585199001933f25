import Foundation
import HVBackupStore
import HVDomainXML
import HVLibvirt
import HVProtocol
import HVServer
import HVSystem
import HVWork

/// `Backup.Restore`: a new machine from a backup, checked and charged like `Vm.Create` to the
/// group of the machine backed up. Each disk is written from the backup into a raw volume through
/// a descriptor (zero chunks left as holes), copied by libvirt into the machine's qcow2 volume,
/// and the raw one deleted; the machine is defined last. Whatever fails takes back what was made.
extension LibvirtHypervisor {
    ///
    /// - Parameters:
    ///   - adjust: changes the restored spec before it is checked (a boot test's scratch machine).
    ///   - phase: how progress names the writing of a disk (`writing vda`).
    func backupRestore(
        _ id: String, repository: String?, as name: String, pool: String?, caller: Peer, adjust: (inout MachineSpec) -> Void = { _ in },
        phase: String = "writing"
    ) async throws(HVError) -> BackupRestoreReply {
        let (_, store) = try backups.repository(named: repository)
        let (reader, saved) = try await onPool(pools.libvirt) { _ in
            Result { () throws(HVError) -> (BackupReader, SavedMachine) in
                let reader = try BackupRepositories.store { () throws(HVBackupStore.BackupError) in try BackupReader(repository: store, backup: id) }
                return (reader, try SavedMachine.read(reader.manifest.spec, backup: id))
            }
        }
        let manifest = reader.manifest
        let targets = try saved.diskTargets(domainXML: manifest.domainXML)
        let sizes = targets.compactMapValues { manifest.disk($0)?.size }
        var adjusted = try saved.restoredSpec(name: name, pool: pool, sizes: sizes)
        adjust(&adjusted)
        try adjusted.validate()
        let spec = adjusted
        let groups = try await callerGroups(caller)
        let owner = saved.ownerGroup
        // Refused before anything is written: the name, the pool, the limits and the group's quota.
        _ = try await underPolicy { () throws(HVError) in
            try await self.run { connection in
                try self.applyPrepared(spec, dryRun: true, caller: caller, groups: groups, mustBeNew: true, chargedTo: owner, connection)
            }
        }
        let disks = spec.disks.map { disk in
            RestoredDisk(
                target: targets[disk.name] ?? disk.name, pool: disk.pool ?? layout.poolName,
                volume: Self.volumeName(machine: name, disk: disk.name), size: disk.size?.bytes ?? 0
            )
        }
        let journal = try pending.begin("Backup.Restore", machine: name, volumes: disks.flatMap { [$0.key, $0.rawKey] })
        let made = MadeVolumes()
        do {
            let written = try await onPool(pools.jobs) { context in
                self.perform { connection in try self.writeDisks(disks, from: reader, phase: phase, made: made, context: context, connection) }
            }
            let reply = try await underPolicy { () throws(HVError) in
                try await self.run { connection in
                    try self.applyPrepared(
                        spec, caller: caller, groups: groups, mustBeNew: true, ownVolumes: Set(disks.map(\.key.description)),
                        chargedTo: owner, connection
                    )
                }
            }
            pending.end(journal)
            guard let vm = reply.vm else { throw HVError(.failed, "the restored machine was defined but could not be read back") }
            return BackupRestoreReply(name: vm.name, uuid: vm.uuid, volumes: disks.map(\.key.description), bytesRestored: Int64(clamping: written))
        } catch {
            pending.abandon(journal)
            _ = try? await run { connection in try self.takeBack(journal, made: made, connection) }
            throw Self.backupFailure(error)
        }
    }

    /// Writes each disk from the backup, counting in `made` each volume it asks libvirt to make;
    /// returns the bytes written.
    func writeDisks(
        _ disks: [RestoredDisk], from reader: BackupReader, phase: String, made: MadeVolumes, context: JobContext, _ connection: Connection
    ) throws -> UInt64 {
        let total = disks.reduce(UInt64(0)) { $0 + $1.size }
        var before: UInt64 = 0
        var written: UInt64 = 0
        for disk in disks {
            guard !context.isCancelled else {
                throw HVError(.failed, "the restore was stopped: its caller went away", fix: "run it again")
            }
            let pool = try allowedPool(disk.pool, connection)
            for existing in [disk.volume, disk.rawVolume] where try pool.volume(named: existing) != nil {
                throw HVError(
                    .alreadyExists, "the volume \(existing) in pool \(pool.name) already exists", fix: "choose another name for the machine",
                    details: ["name": existing]
                )
            }
            let rawXML = try VolumeXML.raw(name: disk.rawVolume, capacity: ByteSize(bytes: disk.size))
            let raw = try made.making(disk.rawKey) { () throws(LibvirtError) in try pool.createVolume(xml: rawXML, flags: []) }
            let path = try raw.path()
            let file: Descriptor
            do {
                file = try Descriptor.open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
            } catch {
                throw HVError(.failed, "cannot open the new volume \(disk.rawVolume): \(error.reason)")
            }
            let phase = "\(phase) \(disk.target)"
            let offset = before
            let summary = try BackupRepositories.store { () throws(HVBackupStore.BackupError) in
                try reader.restore(disk: disk.target, to: file) { progress in
                    context.report(JobProgress(done: offset + progress.bytesDone, total: total, phase: phase))
                }
            }
            written += summary.bytes
            let qcow2XML = try VolumeXML.qcow2(name: disk.volume, capacity: ByteSize(bytes: disk.size))
            _ = try made.making(disk.key) { () throws(LibvirtError) in try pool.cloneVolume(xml: qcow2XML, from: raw) }
            try raw.delete()
            made.forget(disk.rawKey)
            before += disk.size
        }
        return written
    }
}

/// One disk a restore makes: the backup's disk `target` into `volume` in `pool`, through the raw
/// volume `rawVolume` beside it.
struct RestoredDisk: Sendable {
    var target: String
    var pool: String
    var volume: String
    var size: UInt64

    var rawVolume: String { volume.replacingOccurrences(of: ".qcow2", with: "") + ".restore.raw" }
    var key: VolumeKey { VolumeKey(pool: pool, name: volume) }
    var rawKey: VolumeKey { VolumeKey(pool: pool, name: rawVolume) }
}
