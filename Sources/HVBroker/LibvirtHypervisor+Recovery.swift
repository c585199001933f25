import Foundation
import HVDomainXML
import HVImages
import HVLibvirt
import HVProtocol
import Logging

/// Half-done work: what a change that was cut short (the broker killed, libvirtd gone) left
/// behind, found at the next start or the next connection to libvirt, reported, and removed
/// where it is provably the broker's own.
extension LibvirtHypervisor {
    /// Removes the volumes named by records of changes that never finished, unless a machine uses
    /// them (the machine was defined before the change was cut short), and the records with them.
    /// Runs on every new connection to libvirt; a record is kept for the next one when libvirt
    /// fails meanwhile.
    func recoverInterruptedWork(_ connection: Connection) {
        let (records, unreadable) = pending.abandoned()
        for name in unreadable {
            logger.warning("removed a record of pending work that could not be read", metadata: ["file": "\(pending.directory)/\(name)"])
            pending.discardUnreadable(name)
        }
        for record in records {
            do {
                try takeBack(record, connection)
            } catch {
                logger.warning(
                    "half-done work could not be cleaned up yet; trying again on the next connection to libvirt",
                    metadata: ["operation": "\(record.operation)", "machine": "\(record.machine)", "error": "\(error)"]
                )
                return
            }
        }
    }

    /// Takes back what a failed change made: its record narrowed to `made` (rewritten, so that a
    /// later recovery removes no more), then those volumes that no machine uses.
    func takeBack(_ record: PendingRecord?, made: MadeVolumes, _ connection: Connection) throws {
        guard var record else { return }
        record.volumes = made.all
        pending.narrow(record)
        try takeBack(record, connection)
    }

    /// Deletes the record's volumes that exist and that no machine uses, then the record.
    func takeBack(_ record: PendingRecord, _ connection: Connection) throws {
        let used = Set(try Self.descriptions(connection, flags: .inactive).flatMap { domain in
            try DomainDescription(xml: domain.xml).sourcePaths.map(\.path)
        })
        for key in record.volumes {
            guard let pool = try connection.storagePool(named: key.pool) else { continue }
            try pool.refresh()
            guard let volume = try pool.volume(named: key.name) else { continue }
            let metadata: Logger.Metadata = [
                "operation": "\(record.operation)", "machine": "\(record.machine)", "volume": "\(key)",
                "started": "\(ISO8601DateFormatter().string(from: record.startedAt))",
            ]
            if used.contains(try volume.path()) {
                logger.notice("kept a volume of a change that was cut short: its machine was defined and uses it", metadata: metadata)
                continue
            }
            try volume.delete()
            logger.notice("removed a volume left by a change that was cut short", metadata: metadata)
        }
        pending.discard(record.id)
    }

    /// At start, before any request: partial uploads and records the ISO library was writing
    /// when the broker stopped, partial copies of images being imported, what killed backup
    /// writers left in the repositories, then (on the libvirt threads) half-done volumes, imported
    /// templates not yet recorded among them, and backup jobs, checkpoints and working
    /// directories of backups that were cut short.
    public func recoverAtStart() async {
        backups.openAll(logger: logger)
        for leftover in IsoLibrary(directory: layout.isoDirectory, logger: logger).removeLeftovers() {
            logger.notice(
                "removed a partial upload left by an interrupted Iso.Add",
                metadata: ["file": "\(layout.isoDirectory)/\(leftover.name)", "bytes": "\(leftover.bytes)"]
            )
        }
        for leftover in templateImport.removeLeftovers() {
            logger.notice(
                "removed a partial copy left by an interrupted Image.Import",
                metadata: ["file": "\(layout.imageDirectory)/\(leftover.name)", "bytes": "\(leftover.bytes)"]
            )
        }
        _ = try? await run { connection in self.recoverInterruptedBackups(connection) }
    }
}
