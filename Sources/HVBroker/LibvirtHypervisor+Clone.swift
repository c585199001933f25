import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol
import HVServer

/// Templates and clones. A clone is applied like any spec, so quotas, the policy and the audit
/// trail treat it exactly like a machine made by hand.
extension LibvirtHypervisor {
    func clone(_ source: String, to name: String, linked: Bool, caller: Peer) async throws(HVError) -> VmInfoReply {
        try await underPolicy { () throws(HVError) in try await self.clonePrepared(source, to: name, linked: linked, caller: caller) }
    }

    private func clonePrepared(_ source: String, to name: String, linked: Bool, caller: Peer) async throws(HVError) -> VmInfoReply {
        let (spec, journal) = try await run { connection in try self.cloneSpec(source, to: name, linked: linked, connection) }
        let groups = try await callerGroups(caller)
        let copies = linked ? [] : volumeKeys(of: spec)
        let reply = try await run { connection in
            do {
                let reply = try self.applyPrepared(spec, caller: caller, groups: groups, mustBeNew: true, ownVolumes: copies, connection)
                self.pending.end(journal)
                return reply
            } catch {
                // Full copies made for this clone are taken back if it could not be defined;
                // should libvirt be gone meanwhile, the journal keeps them for recovery.
                self.pending.abandon(journal)
                if let journal { try? self.takeBack(journal, connection) }
                throw error
            }
        }
        guard let vm = reply.vm else { throw HVError(.failed, "the clone was defined but could not be read back") }
        return VmInfoReply(vm: vm)
    }

    /// The clone's spec; for a full clone the disk copies are made here, recorded first in the
    /// journal of pending work (returned, to be ended once the clone is defined or taken back).
    private func cloneSpec(_ source: String, to name: String, linked: Bool, _ connection: Connection) throws -> (MachineSpec, PendingRecord?) {
        let domain = try self.domain(source, connection)
        guard let recorded = self.ownRecord(domainXML: try domain.xmlDescription(flags: .inactive)),
            var spec = recorded.spec
        else {
            throw HVError(.invalidState, "'\(source)' was not made from a spec, so it can't be cloned", fix: "clone a machine made with 'hv vm apply'", details: ["name": source, "state": "unmanaged"])
        }
        if try connection.domain(named: name) != nil {
            throw HVError(.alreadyExists, "a virtual machine named '\(name)' already exists", fix: "choose another name", details: ["name": name])
        }
        if linked && !recorded.template {
            throw HVError(
                .invalidState, "'\(source)' is not a template; a linked clone needs one, because its disks must never change",
                fix: "make it a template first ('hv vm template \(source)'), or make a full clone (without --linked)",
                details: ["name": source, "state": "not a template"]
            )
        }
        let state = try domain.state()
        if !linked && state.isActive {
            throw HVError(.invalidState, "'\(source)' is \(state.rawValue); a full clone copies its disks, so stop it first", fix: "hv vm stop \(source) --wait 60", details: ["name": source, "state": state.rawValue])
        }
        let originals = spec.disks
        let journal = linked ? nil : try pending.begin(
            "Vm.Clone", machine: name,
            volumes: originals.map { VolumeKey(pool: $0.pool ?? layout.poolName, name: Self.volumeName(machine: name, disk: $0.name)) }
        )
        spec.name = name
        spec.networks = spec.networks.map { NicSpec(network: $0.network, bridge: $0.bridge, model: $0.model, mac: nil) }
        let made = MadeVolumes()
        do {
            spec.disks = try copies(of: originals, from: source, to: name, linked: linked, made: made, connection)
        } catch {
            // Copies already made are taken back (never a volume that was there before); should
            // libvirt be gone, the journal keeps them until it answers again.
            pending.abandon(journal)
            try? takeBack(journal, made: made, connection)
            throw error
        }
        return (spec.normalized(), journal)
    }

    /// The clone's disks; for a full clone, copies made here, each counted in `made`. A copy whose
    /// name is taken is refused before anything is copied.
    private func copies(
        of originals: [DiskSpec], from source: String, to name: String, linked: Bool, made: MadeVolumes, _ connection: Connection
    ) throws -> [DiskSpec] {
        if !linked {
            for disk in originals {
                let volumeName = Self.volumeName(machine: name, disk: disk.name)
                let pool = try self.allowedPool(disk.pool, connection)
                if try pool.volume(named: volumeName) != nil {
                    throw HVError(
                        .alreadyExists, "the volume the clone's disk \(disk.name) would get, \(volumeName) in pool \(pool.name), already exists",
                        fix: "choose another name for the clone; if the volume is a leftover of a deleted machine, delete it with 'hv pool delete-volume \(volumeName)'",
                        details: ["name": volumeName]
                    )
                }
            }
        }
        return try originals.map { disk in
            let pool = try self.allowedPool(disk.pool, connection)
            let sourceVolume = try self.volume(Self.volumeName(machine: source, disk: disk.name), in: pool)
            var copy = disk
            if linked {
                copy.template = sourceVolume.name
                copy.size = nil
            } else {
                let capacity = ByteSize(bytes: try sourceVolume.info().capacity)
                let xml = try VolumeXML.qcow2(name: Self.volumeName(machine: name, disk: disk.name), capacity: capacity)
                _ = try made.making(VolumeKey(pool: pool.name, name: Self.volumeName(machine: name, disk: disk.name))) { () throws(LibvirtError) in
                    try pool.cloneVolume(xml: xml, from: sourceVolume)
                }
                copy.template = nil
                copy.size = capacity
            }
            return copy
        }
    }

    func makeTemplate(_ name: String, caller: Peer) async throws(HVError) -> EmptyReply {
        try await run { connection in
            let domain = try self.domain(name, connection)
            let state = try domain.state()
            guard !state.isActive else {
                throw HVError(.invalidState, "'\(name)' is \(state.rawValue); only a stopped machine can become a template", fix: "hv vm stop \(name) --wait 60", details: ["name": name, "state": state.rawValue])
            }
            guard var recorded = self.ownRecord(domainXML: try domain.xmlDescription(flags: .inactive)),
                let spec = recorded.spec
            else {
                throw HVError(.invalidState, "'\(name)' was not made from a spec", fix: "only machines made with 'hv vm apply' can become templates", details: ["name": name, "state": "unmanaged"])
            }
            recorded.template = true
            let catalog = TemplateCatalog(stateDirectory: self.layout.stateDirectory)
            for disk in spec.disks {
                let pool = try self.allowedPool(disk.pool, connection)
                let volume = try self.volume(Self.volumeName(machine: name, disk: disk.name), in: pool)
                let path = try volume.path()
                _ = try self.probeTemplate(path: path)
                guard chmod(path, 0o444) == 0 else { throw HVError(.failed, "cannot make \(volume.name) read-only: \(String(cString: strerror(errno)))") }
                try catalog.add(pool: pool.name, volume: volume.name)
            }
            let plan = try self.plan(spec, metadata: recorded, uuid: try domain.uuid(), ownVolumes: self.volumeKeys(of: spec), connection)
            _ = try self.defineMachine(plan.definition, connection)
            try domain.setAutostart(false)
        }
        return EmptyReply()
    }
}
