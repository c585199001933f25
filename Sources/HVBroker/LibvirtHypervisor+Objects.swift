import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol
import HVServer

/// The objects admission resolves before asking polkit, and the group a caller's machines are
/// charged to.
extension LibvirtHypervisor {
    public func resolve(machine name: String) async throws(HVError) -> MachineObject? {
        try await run { connection in
            guard let domain = try connection.domain(named: name) else { return nil }
            return Self.object(name: name, record: try self.record(of: domain))
        }
    }

    public func resolve(volume name: String, pool: String?) async throws(HVError) -> MachineObject? {
        try await run { connection in
            let poolName = pool ?? self.layout.poolName
            // A managed machine's disk, by its record: cheap, and true even while it is not attached.
            if let owner = try self.owner(ofVolume: name, pool: poolName, connection) {
                return Self.object(name: owner.name, record: owner.record)
            }
            // Any other domain that uses it: a foreign domain's disk is not an operator's to touch.
            guard let volume = try connection.storagePool(named: poolName)?.volume(named: name) else { return nil }
            let path = try volume.path()
            guard let user = try self.machines(using: path, connection, runningOnly: false).first,
                let domain = try connection.domain(named: user)
            else { return nil }
            return Self.object(name: user, record: try self.record(of: domain))
        }
    }

    /// The machine whose spec made the volume (`MACHINE-DISK.qcow2` in the disk's pool), with its record.
    func owner(ofVolume name: String, pool: String, _ connection: Connection) throws -> (name: String, record: MachineMetadata)? {
        try records(connection).first { _, record in
            record.spec.map { volumeKeys(of: $0).contains("\(pool)/\(name)") } ?? false
        }
    }

    static func object(name: String, record: MachineMetadata?) -> MachineObject {
        guard let record else { return MachineObject(name: name, managed: false, ownerGroup: nil, ownerUser: nil) }
        return MachineObject(
            name: name, managed: true, ownerGroup: record.ownerGroup, ownerUser: CallerGroups.userName(record.ownerUID),
            tags: record.tags, template: record.template
        )
    }

    /// The first group under the policy's `groups` the caller is in (alphabetically); else the role
    /// group that lets them make machines (operators, then admins); else their primary group.
    public func chargeGroup(for caller: Peer) async throws(HVError) -> String {
        try await onPool(pools.libvirt) { _ in
            .success(self.chargeGroup(uid: caller.uid, gid: caller.gid, groups: CallerGroups.names(uid: caller.uid)))
        }
    }

    /// The caller's groups, looked up in the user database (possibly a directory server, so on the
    /// libvirt pool, never on a Swift concurrency thread).
    func callerGroups(_ caller: Peer) async throws(HVError) -> Set<String> {
        try await onPool(pools.libvirt) { _ in .success(CallerGroups.names(uid: caller.uid)) }
    }

    func chargeGroup(uid: UInt32, gid: UInt32, groups: Set<String>) -> String {
        if let group = policy.quotaGroup(for: groups) { return group }
        for role in [Role.operators, .admins] where groups.contains(role.group) { return role.group }
        return CallerGroups.groupName(gid) ?? "root"
    }
}
