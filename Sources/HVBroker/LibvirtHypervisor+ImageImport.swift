import Foundation
import Glibc
import HVImages
import HVLibvirt
import HVProtocol
import HVServer
import HVSystem

/// Cloud images as templates: a qcow2 or raw disk image the caller hands over becomes a template
/// volume of the broker's pool, charged to a group.
extension LibvirtHypervisor {
    var templateImport: TemplateImport {
        TemplateImport(
            directory: layout.imageDirectory, probe: ImageProbe(runner: processRunner),
            policy: ImagePolicy(maximumVirtualSize: policy.limits.disk.bytes), logger: logger
        )
    }

    /// Imports the image behind `descriptor` (the caller's open file) as the template
    /// `parameters.name`, charged to `group`. What it occupies is checked against the group's
    /// `images` before the copy (what the file holds) and again before it is kept (what it
    /// occupies), counting the images others are adding. A journal record names the volume from
    /// before it exists until it is a template, so a broker stopped in between removes it at the
    /// next start.
    public func imageImport(
        _ parameters: ImageImportParameters, group: String, descriptor: Descriptor, caller: Peer
    ) async throws(HVError) -> ImportedImageInfo {
        let name = parameters.name
        let poolName = layout.poolName
        let free = try await run { connection in
            let pool = try self.imagePool(connection)
            try pool.refresh()
            return try pool.volume(named: name) == nil
        }
        guard free else {
            throw HVError(
                .alreadyExists, "pool \(poolName) already has a volume named '\(name)'",
                fix: "choose another --name, or delete the old one first with 'hv pool delete-volume \(name)'", details: ["name": name]
            )
        }
        let record = try pending.begin("Image.Import", machine: name, volumes: [VolumeKey(pool: poolName, name: name)])
        let imported: TemplateImport.Imported
        do throws(HVError) {
            imported = try await copyTemplate(parameters, group: group, descriptor: descriptor)
        } catch {
            pending.end(record)  // nothing was placed
            throw error
        }
        do throws(HVError) {
            try await run { connection in
                try self.imagePool(connection).refresh()
                try TemplateCatalog(stateDirectory: self.layout.stateDirectory).add(pool: poolName, volume: name)
                try ImportedTemplates(stateDirectory: self.layout.stateDirectory).add(
                    ImportedTemplate(
                        pool: poolName, volume: name, group: group, sha256: imported.sha256, sourceFormat: imported.sourceFormat.rawValue,
                        source: parameters.source, addedBy: caller.uid, addedAt: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
                    )
                )
            }
        } catch {
            // Placed but not recorded: the journal names the volume, and recovery removes it
            // (unless a machine uses it) now, or at the next connection to libvirt.
            try? TemplateCatalog(stateDirectory: layout.stateDirectory).remove(pool: poolName, volume: name)
            try? ImportedTemplates(stateDirectory: layout.stateDirectory).remove(pool: poolName, volume: name)
            pending.abandon(record)
            _ = try? await run { connection in self.recoverInterruptedWork(connection) }
            throw error
        }
        pending.end(record)
        return ImportedImageInfo(
            name: name, pool: poolName, sourceFormat: imported.sourceFormat.rawValue, virtualSize: ByteSize(bytes: imported.virtualSize),
            allocated: ByteSize(bytes: imported.allocated), sha256: imported.sha256, group: group, source: parameters.source
        )
    }

    /// The group the imported template `name` of `pool` (default: the broker's) is charged to.
    public func importedGroup(ofVolume name: String, pool: String?) async throws(HVError) -> String? {
        let poolName = pool ?? layout.poolName
        return try await fileWork { () throws(ImageError) in
            ImportedTemplates(stateDirectory: self.layout.stateDirectory).all().first { $0.pool == poolName && $0.volume == name }?.group
        }
    }

    /// The copy and its checks, on the jobs pool, holding a claim in the image ledger.
    private func copyTemplate(
        _ parameters: ImageImportParameters, group: String, descriptor: Descriptor
    ) async throws(HVError) -> TemplateImport.Imported {
        let policy = self.policy
        let (importer, ledger) = (templateImport, imageLedger)
        let format = parameters.format.flatMap(ImageFormat.init(rawValue:))
        return try await job { observer throws(ImageError) in
            let claim = ledger.open(group: group)
            defer { ledger.close(claim) }
            return try importer.run(
                from: descriptor, name: parameters.name, expectedSHA256: parameters.sha256, format: format,
                maximumBytes: policy.limits.disk.bytes, observer: observer
            ) { bytes throws(ImageError) in
                try ledger.hold(claim, bytes: bytes) { () throws(ImageError) in
                    try self.storedImages()
                } check: { others throws(ImageError) in
                    do throws(HVError) {
                        try policy.checkImage(bytes, group: group, stored: others, inLibrary: false)
                    } catch {
                        throw ImageError(quota: error)
                    }
                }
            }
        }
    }

    /// What stored images occupy: the ISO library's, each by its group, and the imported templates'.
    func storedImages() throws(ImageError) -> StoredImages {
        StoredImages(library: try isoLibrary.storedImages()) + importedTemplateImages()
    }

    /// What the imported templates occupy, by the group each is charged to; they don't count
    /// toward the ISO library's total (`iso.max_total`).
    func importedTemplateImages() -> StoredImages {
        var stored = StoredImages()
        for template in ImportedTemplates(stateDirectory: layout.stateDirectory).all() where template.pool == layout.poolName {
            var info = stat()
            guard lstat(layout.imageDirectory + "/" + template.volume, &info) == 0 else { continue }
            stored.groups[template.group, default: 0] &+= UInt64(max(0, info.st_blocks)) * 512
        }
        return stored
    }
}
