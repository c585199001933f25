import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Storage pools and volumes, by name; host paths never leave the broker.
extension LibvirtHypervisor {
    func poolList() async throws(HVError) -> PoolListReply {
        let pools = try await run { connection in
            _ = try self.imagePool(connection)
            var pools: [PoolInfo] = []
            for pool in try connection.storagePools() {
                let info = pool.isActive ? try pool.info() : nil
                pools.append(PoolInfo(
                    name: pool.name, active: pool.isActive, autostart: try pool.autostart(),
                    capacity: ByteSize(bytes: info?.capacity ?? 0), allocation: ByteSize(bytes: info?.allocation ?? 0),
                    available: ByteSize(bytes: info?.available ?? 0),
                    allowed: pool.name == self.layout.poolName || self.policy.pools.contains(pool.name)
                ))
            }
            return pools.sorted { $0.name < $1.name }
        }
        return PoolListReply(pools: pools)
    }

    func volumeList(_ poolName: String?) async throws(HVError) -> VolumeListReply {
        let volumes = try await run { connection in
            let pool = try self.allowedPool(poolName, connection)
            try pool.refresh()
            return try pool.volumes().map { try self.volumeInfo($0, pool: pool) }.sorted { $0.name < $1.name }
        }
        return VolumeListReply(volumes: volumes)
    }

    func volumeCreate(_ poolName: String?, name: String, size: ByteSize) async throws(HVError) -> VolumeReply {
        let volume = try await underPolicy { () throws(HVError) in try await self.run { connection in
            try self.checkVolumeSize(size, name: name)
            let pool = try self.allowedPool(poolName, connection)
            if try pool.volume(named: name) != nil {
                throw HVError(.alreadyExists, "pool \(pool.name) already has a volume named '\(name)'", fix: "choose another name", details: ["name": name])
            }
            return try self.volumeInfo(try pool.createVolume(xml: try VolumeXML.qcow2(name: name, capacity: size), flags: []), pool: pool)
        } }
        return VolumeReply(volume: volume)
    }

    func volumeResize(_ poolName: String?, name: String, size: ByteSize) async throws(HVError) -> VolumeReply {
        let volume = try await underPolicy { () throws(HVError) in try await self.run { connection in
            let pool = try self.allowedPool(poolName, connection)
            let volume = try self.volume(name, in: pool)
            let capacity = ByteSize(bytes: try volume.info().capacity)
            guard size > capacity else {
                throw HVError(
                    .invalidParameter, "\(name) is \(capacity.readable); it can only grow (shrinking would cut off data)",
                    fix: "give a size above \(capacity.readable)", details: ["parameter": "size"]
                )
            }
            if TemplateCatalog(stateDirectory: self.layout.stateDirectory).contains(pool: pool.name, volume: name) {
                throw HVError(.invalidState, "\(name) is a template; overlays depend on its size", fix: "clone it and grow the clone", details: ["name": name, "state": "template"])
            }
            try self.checkVolumeSize(size, name: name)
            try self.checkGrowth(of: name, pool: pool.name, by: ByteSize(bytes: size.bytes - capacity.bytes), connection)
            let path = try volume.path()
            if let running = try self.machines(using: path, connection, runningOnly: true).first {
                try connection.domain(named: running)?.blockResize(disk: path, to: size.bytes)
            } else {
                try volume.resize(to: size.bytes)
            }
            return try self.volumeInfo(try self.volume(name, in: pool), pool: pool)
        } }
        return VolumeReply(volume: volume)
    }

    func volumeDelete(_ poolName: String?, name: String) async throws(HVError) -> EmptyReply {
        try await run { connection in
            let pool = try self.allowedPool(poolName, connection)
            let volume = try self.volume(name, in: pool)
            let users = try self.machines(using: try volume.path(), connection, runningOnly: false) + (try self.overlays(of: volume, in: pool))
            guard users.isEmpty else {
                throw HVError(
                    .invalidState, "\(name) is used by \(users.joined(separator: ", "))",
                    fix: "delete or change those first", details: ["name": name, "state": "in use"]
                )
            }
            try volume.delete()
            try TemplateCatalog(stateDirectory: self.layout.stateDirectory).remove(pool: pool.name, volume: name)
            try ImportedTemplates(stateDirectory: self.layout.stateDirectory).remove(pool: pool.name, volume: name)
        }
        return EmptyReply()
    }

    func volumeMarkTemplate(_ poolName: String?, name: String) async throws(HVError) -> VolumeReply {
        let volume = try await run { connection in
            let pool = try self.allowedPool(poolName, connection)
            let volume = try self.volume(name, in: pool)
            let path = try volume.path()
            let users = try self.machines(using: path, connection, runningOnly: false)
            guard users.isEmpty else {
                throw HVError(
                    .invalidState, "\(name) is a disk of \(users.joined(separator: ", ")); a template must not change under its overlays",
                    fix: "turn the machine itself into a template with 'hv vm template \(users[0])', or copy the volume first",
                    details: ["name": name, "state": "in use"]
                )
            }
            _ = try self.probeTemplate(path: path)
            guard chmod(path, 0o444) == 0 else { throw HVError(.failed, "cannot make \(name) read-only: \(String(cString: strerror(errno)))") }
            try TemplateCatalog(stateDirectory: self.layout.stateDirectory).add(pool: pool.name, volume: name)
            return try self.volumeInfo(volume, pool: pool)
        }
        return VolumeReply(volume: volume)
    }

    /// One volume is never larger than a whole machine's disks may be (`limits.disk`).
    func checkVolumeSize(_ size: ByteSize, name: String) throws {
        guard size <= policy.limits.disk else {
            throw policy.overMachineLimit(
                "limits.disk", "a volume may be at most \(policy.limits.disk.readable), as a machine's disks together; \(name) would be \(size.readable)",
                field: "size"
            )
        }
    }

    /// Growing a managed machine's disk counts against the machine's limit and its group's quota.
    func checkGrowth(of volume: String, pool: String, by growth: ByteSize, _ connection: Connection) throws {
        guard let record = try owner(ofVolume: volume, pool: pool, connection)?.record, let spec = record.spec else { return }
        let now = try usage(of: spec, connection)
        let after = Usage(vms: now.vms, vcpus: now.vcpus, memory: now.memory, disk: ByteSize(bytes: now.disk.bytes &+ growth.bytes))
        try policy.checkMachine(after)
        let group = policy.groups[record.ownerGroup] == nil ? nil : record.ownerGroup
        try policy.checkGroup(group, current: try groupUsage(group, connection), removing: now, adding: after)
    }

    /// The named pool (default: the broker's own) if the host policy lets machines use it.
    func allowedPool(_ name: String?, _ connection: Connection) throws -> StoragePool {
        guard let name, name != layout.poolName else { return try imagePool(connection) }
        guard policy.pools.contains(name) else {
            throw HVError(
                .permissionDenied, "pool '\(name)' is not one machines may use on this host",
                fix: "use \(([layout.poolName] + policy.pools).joined(separator: ", ")), or ask an administrator to add it to 'pools' in the host policy",
                details: ["name": name, "limit": "pools"]
            )
        }
        return try existingPool(name, field: "pool", connection)
    }

    func volume(_ name: String, in pool: StoragePool) throws -> StorageVolume {
        guard let volume = try pool.volume(named: name) else {
            throw HVError(.notFound, "pool \(pool.name) has no volume named '\(name)'", fix: "see its volumes with 'hv pool volumes \(pool.name)'", details: ["name": name])
        }
        return volume
    }

    func volumeInfo(_ volume: StorageVolume, pool: StoragePool) throws -> VolumeInfo {
        let info = try volume.info()
        let document = try XMLDocument(xmlString: try volume.xmlDescription(), options: [])
        let format = try document.nodes(forXPath: "/volume/target/format/@type").first?.stringValue ?? "raw"
        let backing = try document.nodes(forXPath: "/volume/backingStore/path").first?.stringValue
        return VolumeInfo(
            pool: pool.name, name: volume.name, format: format, capacity: ByteSize(bytes: info.capacity),
            allocation: ByteSize(bytes: info.allocation),
            template: TemplateCatalog(stateDirectory: layout.stateDirectory).contains(pool: pool.name, volume: volume.name),
            backingTemplate: backing.map { ($0 as NSString).lastPathComponent }
        )
    }

    /// Machines whose disks include `path`.
    func machines(using path: String, _ connection: Connection, runningOnly: Bool) throws -> [String] {
        try Self.descriptions(connection, flags: .inactive, runningOnly: runningOnly).filter { domain in
            try DomainFacts.read(domainXML: domain.xml).disks.contains { $0.sourcePath == path }
        }.map(\.name).sorted()
    }

    /// Volumes in `pool` that are overlays of `volume`.
    func overlays(of volume: StorageVolume, in pool: StoragePool) throws -> [String] {
        let path = try volume.path()
        var found: [String] = []
        for candidate in try pool.volumes() {
            guard let xml = try Self.description(of: candidate) else { continue }  // deleted meanwhile
            let document = try XMLDocument(xmlString: xml, options: [])
            if try document.nodes(forXPath: "/volume/backingStore/path").first?.stringValue == path { found.append(candidate.name) }
        }
        return found.sorted()
    }

    /// The volume's XML, or nil when another request deleted it meanwhile.
    private static func description(of volume: StorageVolume) throws(LibvirtError) -> String? {
        do {
            return try volume.xmlDescription()
        } catch where error.isNoStorageVolume {
            return nil
        }
    }
}
