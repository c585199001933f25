import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol
import HVServer

/// `hv vm adopt`: an administrator takes over a domain the broker did not make. It is read as a
/// spec would describe it; anything a spec can't express is refused by name, since applying the
/// spec would drop it. From then on it is managed like any machine: charged to a group, visible to
/// viewers, changed by operators of that group.
extension LibvirtHypervisor {
    func adopt(_ name: String, group: String?, caller: Peer) async throws(HVError) -> VmInfoReply {
        if let group, try await onPool(pools.libvirt, { _ in .success(CallerGroups.groupID(group)) }) == nil {
            throw HVError.invalidParameter("group", "there is no group named '\(group)' on this host", fix: "create it (groupadd \(group)) or name another")
        }
        let groups = try await callerGroups(caller)
        let reply = try await underPolicy { () throws(HVError) in
            try await self.run { connection in
                let domain = try self.domain(name, connection)
                if let other = try Self.anyRecord(of: domain) {
                    let owner = other.instance ?? StorageLayout.defaultPoolName
                    throw HVError(
                        .invalidState, owner == self.instance
                            ? "'\(name)' is already managed by the broker"
                            : "'\(name)' is managed by another broker on this host (the one whose pool is \(owner))",
                        fix: "nothing to adopt", details: ["name": name, "state": "managed"]
                    )
                }
                let (spec, volumes) = try self.adoptedSpec(domain, connection)
                let owner = group ?? self.chargeGroup(uid: caller.uid, gid: caller.gid, groups: groups)
                return try self.applyPrepared(spec, caller: caller, groups: groups, ownVolumes: volumes, adoptingInto: owner, connection)
            }
        }
        guard let vm = reply.vm else { throw HVError(.failed, "the machine was adopted but could not be read back") }
        return VmInfoReply(vm: vm)
    }

    /// The spec that describes the domain, and its disk volumes ("POOL/VOLUME").
    func adoptedSpec(_ domain: Domain, _ connection: Connection) throws -> (MachineSpec, Set<String>) {
        let name = domain.name
        let xml = try domain.xmlDescription(flags: .inactive)
        func refuse(_ what: String, fix: String) -> HVError {
            HVError(
                .invalidSpec, "'\(name)' can't be adopted: \(what), which a machine spec can't express",
                fix: fix, details: ["field": "domain", "name": name]
            )
        }
        let lost = try AdoptionCheck.unexpressible(domainXML: xml)
        if !lost.isEmpty {
            throw refuse(
                "it has \(lost.joined(separator: ", "))",
                fix: "remove them (virsh edit \(name)); host features can be set again afterwards with 'hv vm hugepages', 'hv vm pin', 'hv vm passthrough'"
            )
        }
        let facts = try DomainFacts.read(domainXML: xml)
        let info = try domain.info()
        var spec = MachineSpec(
            name: name, vcpus: Int(info.vcpus), memory: ByteSize(bytes: info.maxMemoryKiB * 1024), firmware: facts.isEFI ? .uefi : .bios
        )
        switch try AdoptionCheck.machineType(domainXML: xml) {
        case let type? where type.contains("q35"): spec.machine = .q35
        case let type? where type == "pc" || type.contains("i440fx"): spec.machine = .pc
        case let type?: throw refuse("its machine type is \(type)", fix: "use q35 or pc (i440fx)")
        case nil: break
        }
        guard let tpm = try AdoptionCheck.tpm(domainXML: xml, machine: spec.machine) else {
            throw refuse(
                "its TPM is not an emulated TPM \(MachineTPM.version) of model \(MachineTPM.model(for: spec.machine))",
                fix: "make it <tpm model='\(MachineTPM.model(for: spec.machine))'><backend type='\(MachineTPM.backend)' version='\(MachineTPM.version)'/></tpm>, or remove it (virsh edit \(name))"
            )
        }
        // The same UUID, so libvirt keeps the TPM's state for the adopted machine.
        spec.tpm = tpm
        var volumes: Set<String> = []
        for disk in facts.disks {
            guard let path = disk.sourcePath else { continue }
            let file = (path as NSString).lastPathComponent
            if disk.device == "cdrom" {
                guard path == layout.isoPath(file), spec.cdrom == nil else {
                    throw refuse("its CD-ROM \(path) is not an image of the ISO library", fix: "eject it (virsh change-media \(name) \(disk.target) --eject --config)")
                }
                spec.cdrom = file
                continue
            }
            let prefix = name + "-"
            // Only the broker's own pool: its directory is the one place the broker knows by path.
            let pool = layout.poolName
            guard disk.device == "disk", disk.format == "qcow2", file.hasPrefix(prefix), file.hasSuffix(".qcow2"), layout.isImage(path) else {
                throw refuse(
                    "its disk \(disk.target) is \(path)",
                    fix: "an adopted machine's disks are qcow2 volumes named \(name)-DISK.qcow2 in the broker's pool \(pool); move or rename it (virsh vol-clone) first"
                )
            }
            let diskName = String(file.dropFirst(prefix.count).dropLast(".qcow2".count))
            let bus = disk.bus.flatMap(DiskBus.init(rawValue:)) ?? .virtio
            guard let capacity = try connection.storagePool(named: pool)?.volume(named: file)?.info().capacity else {
                throw refuse("its disk \(disk.target) (\(file)) is not a volume of pool \(pool)", fix: "refresh the pool (virsh pool-refresh \(pool))")
            }
            spec.disks.append(DiskSpec(name: diskName, size: ByteSize(bytes: capacity), bus: bus))
            volumes.insert("\(pool)/\(file)")
        }
        for (index, interface) in facts.interfaces.enumerated() {
            let model = interface.model.flatMap(NicModel.init(rawValue:)) ?? .virtio
            switch interface.source {
            case .network(let network): spec.networks.append(NicSpec(network: network, model: model, mac: interface.mac))
            case .bridge(let bridge): spec.networks.append(NicSpec(bridge: bridge, model: model, mac: interface.mac))
            case nil: throw refuse("its interface \(index) is neither on a libvirt network nor on a bridge", fix: "attach it to a network (virsh edit \(name))")
            }
        }
        if let graphics = facts.graphics {
            guard let type = GraphicsType(rawValue: graphics.type) else {
                throw refuse("its display is \(graphics.type)", fix: "use VNC or SPICE, or remove the display")
            }
            spec.graphics = GraphicsSpec(type: type)
        }
        do {
            try spec.validate()
        } catch {
            throw HVError(
                .invalidSpec, "'\(name)' can't be adopted: as a spec it is invalid: \(error.reason)", fix: error.fix ?? "change the domain (virsh edit \(name))",
                details: error.details
            )
        }
        return (spec.normalized(), volumes)
    }
}
