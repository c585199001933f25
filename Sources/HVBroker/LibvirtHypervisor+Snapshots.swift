import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol

/// Snapshots: internal qcow2 snapshots of a machine's disks (and memory, while it runs).
extension LibvirtHypervisor {
    func snapshotList(_ vm: String) async throws(HVError) -> [String: JSONValue] {
        let snapshots = try await run { connection in
            try self.domain(vm, connection).snapshots().map(Self.snapshotInfo).sorted { ($0.created, $0.name) < ($1.created, $1.name) }
        }
        return try Self.reply(SnapshotListReply(snapshots: snapshots))
    }

    func snapshotCreate(_ vm: String, name: String, description: String?) async throws(HVError) -> [String: JSONValue] {
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
        return try Self.reply(SnapshotReply(snapshot: snapshot))
    }

    func snapshotRevert(_ vm: String, name: String) async throws(HVError) -> [String: JSONValue] {
        try await run { connection in try self.snapshot(vm, name, connection).revert() }
        return [:]
    }

    func snapshotDelete(_ vm: String, name: String) async throws(HVError) -> [String: JSONValue] {
        try await run { connection in try self.snapshot(vm, name, connection).delete() }
        return [:]
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
