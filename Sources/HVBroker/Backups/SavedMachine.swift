import Foundation
import HVDomainXML
import HVProtocol

/// The broker's record of a machine as a backup keeps it (the manifest's `spec`): its spec, the
/// group it is charged to and who made it, so that it can be rebuilt on a host that never saw it,
/// and so that who may read the backup is decided by the group it was charged to, never by a
/// caller. What an administrator granted from the host (hugepages, pins, passthrough) is not kept:
/// a restore does not bring it back.
struct SavedMachine: Codable, Hashable, Sendable {
    static let currentFormat = 1

    var format: Int
    var spec: MachineSpec
    var ownerGroup: String
    var ownerUID: UInt32

    init(spec: MachineSpec, ownerGroup: String, ownerUID: UInt32) {
        format = Self.currentFormat
        self.spec = spec
        self.ownerGroup = ownerGroup
        self.ownerUID = ownerUID
    }

    /// The record of a machine the broker made; nil when its spec can't be read.
    init?(_ record: MachineMetadata) {
        guard let spec = record.spec else { return nil }
        self.init(spec: spec, ownerGroup: record.ownerGroup, ownerUID: record.ownerUID)
    }

    /// As the manifest stores it.
    func text() throws(HVError) -> String {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            throw HVError(.failed, "the machine's record could not be written for the backup: \(error)")
        }
    }

    /// The record a manifest holds; `backup` names it in the error.
    static func read(_ text: String, backup: String) throws(HVError) -> SavedMachine {
        guard let saved = try? VarlinkJSON.decode(SavedMachine.self, from: Array(text.utf8)), saved.format == currentFormat else {
            throw HVError(
                .invalidState, "backup \(backup) holds no machine record this broker can read",
                fix: "restore it with the broker version that made it", details: ["name": backup, "state": "unreadable record"]
            )
        }
        return saved
    }

    /// The spec of a machine restored from this record as `name`: the same machine with a new
    /// name, no MAC addresses (libvirt makes new ones, and a new UUID), each disk a volume of its
    /// own of the size it had in the backup (never an overlay of a template) in `pool`, and no
    /// autostart (the copy does not start at boot beside the original). Validated like any spec.
    ///
    /// - Parameter sizes: the size of each disk in the backup, by the spec's disk name.
    func restoredSpec(name: String, pool: String?, sizes: [String: UInt64]) throws(HVError) -> MachineSpec {
        var restored = spec
        restored.name = name
        restored.autostart = nil
        restored.networks = spec.networks.map { NicSpec(network: $0.network, bridge: $0.bridge, model: $0.model, mac: nil) }
        restored.disks = try spec.disks.map { disk throws(HVError) in
            guard let size = sizes[disk.name] else {
                throw HVError(
                    .invalidState, "the backup holds no copy of disk \(disk.name) of \(spec.name)",
                    fix: "restore a backup that has every disk", details: ["name": disk.name, "state": "not in the backup"]
                )
            }
            var copy = disk
            copy.template = nil
            copy.size = ByteSize(bytes: size)
            copy.pool = pool
            return copy
        }
        let normalized = restored.normalized()
        try normalized.validate()
        return normalized
    }

    /// Which disk of the backup (by target, `vda`) holds each of the spec's disks (by name), read
    /// from the domain XML the backup keeps: a spec disk's volume is `MACHINE-DISK.qcow2`.
    func diskTargets(domainXML: String) throws(HVError) -> [String: String] {
        let facts = try DomainFacts.read(domainXML: domainXML)
        var targets: [String: String] = [:]
        for disk in spec.disks {
            let volume = LibvirtHypervisor.volumeName(machine: spec.name, disk: disk.name)
            if let found = facts.disks.first(where: { $0.device == "disk" && ($0.sourcePath as NSString?)?.lastPathComponent == volume }) {
                targets[disk.name] = found.target
            }
        }
        return targets
    }
}
