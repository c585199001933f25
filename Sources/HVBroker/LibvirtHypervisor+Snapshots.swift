import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol

/// Snapshots: internal qcow2 snapshots of a machine's disks (and memory, while it runs).
extension LibvirtHypervisor {
    func snapshotList(_ vm: String) async throws(HVError) -> SnapshotListReply {
        let snapshots = try await run { connection in
            try self.domain(vm, connection).snapshots().map(Self.snapshotInfo).sorted { ($0.created, $0.name) < ($1.created, $1.name) }
        }
        return SnapshotListReply(snapshots: snapshots)
    }

    func snapshotCreate(_ vm: String, name: String, description: String?) async throws(HVError) -> SnapshotReply {
        let snapshot = try await run { connection in
            let domain = try self.domain(vm, connection)
            if try domain.snapshot(named: name) != nil {
                throw HVError(
                    .alreadyExists, "'\(vm)' already has a snapshot named '\(name)'",
                    fix: "choose another name, or delete the old one with 'hv snapshot delete \(vm) \(name)'", details: ["name": name]
                )
            }
            return try Self.snapshotInfo(try domain.createSnapshot(xml: try SnapshotXML.create(name: name, description: description)))
        }
        return SnapshotReply(snapshot: snapshot)
    }

    /// Reverts, unless the snapshot would bring back what an administrator has since changed (host
    /// features, the owner group) or what the host policy no longer allows (limits, the group's
    /// quota): a revert restores the machine's definition as it was, so it is checked like an apply
    /// of that definition.
    func snapshotRevert(_ vm: String, name: String) async throws(HVError) -> EmptyReply {
        try await underPolicy { () throws(HVError) in
            try await self.run { connection in
                let domain = try self.domain(vm, connection)
                let snapshot = try self.snapshot(vm, name, connection)
                if let today = try self.record(of: domain) {
                    try self.checkRevert(vm, snapshot: name, then: MachineMetadata.read(snapshotXML: try snapshot.xmlDescription()), today: today, connection)
                }
                try snapshot.revert()
                self.recordCache.drop(uuid: try domain.uuid())
            }
        }
        return EmptyReply()
    }

    private func checkRevert(_ vm: String, snapshot: String, then: MachineMetadata?, today: MachineMetadata, _ connection: Connection) throws {
        func refuse(_ reason: String, fix: String, limit: String) -> HVError {
            HVError(
                .invalidState, "reverting '\(vm)' to '\(snapshot)' would \(reason), so it was refused; nothing changed",
                fix: fix, details: ["name": vm, "state": "snapshot differs", "limit": limit]
            )
        }
        guard let then, let thenSpec = then.spec else {
            throw refuse(
                "bring back a definition the broker did not make (the snapshot is older than the machine's record)",
                fix: "take a new snapshot, or ask an administrator to revert it with virsh", limit: "managed"
            )
        }
        if then.hostFeatures != today.hostFeatures {
            throw refuse(
                "bring back the host features it had then (\(Self.describe(then.hostFeatures))) in place of today's (\(Self.describe(today.hostFeatures)))",
                fix: "an administrator can first set the host features to what the snapshot had (hv vm pin, hv vm hugepages, hv vm passthrough), then revert",
                limit: "host features"
            )
        }
        if then.ownerGroup != today.ownerGroup {
            throw refuse(
                "charge it to group '\(then.ownerGroup)' again instead of '\(today.ownerGroup)'",
                fix: "take a new snapshot; an administrator decides which group a machine is charged to", limit: "owner"
            )
        }
        let adding = try usage(of: thenSpec, connection)
        try policy.checkMachine(adding)
        let group = policy.groups[today.ownerGroup] == nil ? nil : today.ownerGroup
        let removing = try today.spec.map { try usage(of: $0, connection) } ?? Usage()
        try policy.checkGroup(group, current: try groupUsage(group, connection), removing: removing, adding: adding)
    }

    static func describe(_ features: HostFeatures) -> String {
        var parts: [String] = []
        if features.hugepages { parts.append("hugepages") }
        if !features.cpuPins.isEmpty { parts.append("CPU pins " + features.cpuPins.map { "\($0.vcpu)=\($0.cpus)" }.joined(separator: " ")) }
        if !features.pciDevices.isEmpty { parts.append("PCI " + features.pciDevices.joined(separator: " ")) }
        if !features.usbDevices.isEmpty { parts.append("USB " + features.usbDevices.joined(separator: " ")) }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    func snapshotDelete(_ vm: String, name: String) async throws(HVError) -> EmptyReply {
        try await run { connection in try self.snapshot(vm, name, connection).delete() }
        return EmptyReply()
    }

    private func snapshot(_ vm: String, _ name: String, _ connection: Connection) throws -> DomainSnapshot {
        guard let snapshot = try domain(vm, connection).snapshot(named: name) else {
            throw HVError(
                .notFound, "'\(vm)' has no snapshot named '\(name)'", fix: "see its snapshots with 'hv snapshot list \(vm)'",
                details: ["name": name]
            )
        }
        return snapshot
    }

    static func snapshotInfo(_ snapshot: DomainSnapshot) throws -> SnapshotInfo {
        let facts = try SnapshotFacts.read(xml: try snapshot.xmlDescription())
        return SnapshotInfo(
            name: snapshot.name, description: facts.description, created: Int64(facts.creationTime?.timeIntervalSince1970 ?? 0),
            state: facts.state ?? "unknown", parent: try snapshot.parentName(), current: try snapshot.isCurrent()
        )
    }
}
