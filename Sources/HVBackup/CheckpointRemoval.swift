import HVDomainXML
import HVImages
import HVLibvirt

/// Deletes a machine's checkpoint whether it runs or not.
///
/// libvirt 9.0 deletes a checkpoint (its record and the bitmaps in the disk images) only while the
/// machine runs; for a stopped one it refuses ("cannot delete checkpoint for inactive domain") and
/// can only forget the record. So for a stopped machine each disk's bitmap is removed with
/// `qemu-img bitmap --remove` first, then libvirt's record (`metadataOnly`). Every bitmap of a
/// checkpoint records every write from its creation on, so no other checkpoint loses anything.
public struct CheckpointRemoval: Sendable {
    /// Runs qemu-img for a stopped machine's images.
    public var runner: ProcessRunner

    public init(runner: ProcessRunner = ProcessRunner()) {
        self.runner = runner
    }

    /// Deletes checkpoint `name` of `domain`; nothing happens when it has none by that name.
    public func delete(_ name: String, of domain: Domain) throws(BackupError) {
        let machine = domain.name
        do {
            guard let checkpoint = try domain.checkpoint(named: name), try !deletedByLibvirt(checkpoint, of: domain) else { return }
            let bitmaps = try CheckpointFacts.read(xml: try checkpoint.xmlDescription()).bitmaps
            let disks = try DomainFacts.read(domainXML: try domain.xmlDescription(flags: .inactive)).disks
            for (target, bitmap) in bitmaps.sorted(by: { $0.key < $1.key }) {
                guard let image = disks.first(where: { $0.target == target && $0.format == "qcow2" })?.sourcePath else { continue }
                let output = try runner.run(.qemuImg, ["bitmap", "--remove", "-f", "qcow2", image, bitmap], timeout: .seconds(60))
                // A bitmap already gone is what was wanted.
                guard output.succeeded || output.stderrText.contains("not found") else {
                    throw output.failure("remove bitmap \(bitmap) from \(image)", fix: "check that no program holds the image open")
                }
            }
            try checkpoint.delete(flags: .metadataOnly)
        } catch let error as LibvirtError {
            throw BackupError(.jobFailed, machine: machine, "cannot delete checkpoint \(name) of \(machine): \(error.message)")
        } catch let error as ImageError {
            throw BackupError(.jobFailed, machine: machine, "cannot delete checkpoint \(name) of \(machine): \(error.reason)", fix: error.fix)
        } catch {
            throw BackupError(.jobFailed, machine: machine, "cannot delete checkpoint \(name) of \(machine): \(error)")
        }
    }

    /// Deletes the checkpoint through libvirt; false when libvirt can't because the machine is stopped.
    private func deletedByLibvirt(_ checkpoint: DomainCheckpoint, of domain: Domain) throws(LibvirtError) -> Bool {
        do {
            try checkpoint.delete()
            return true
        } catch {
            guard error.isNoSupport, try !domain.isActive() else { throw error }
            return false
        }
    }
}
