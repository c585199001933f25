import Foundation
import HVDomainXML
import HVImages
import HVLibvirt
import HVProtocol
import HVServer
import Logging

/// `hv vm apply` and `hv vm export`: machines from declarative specs.
extension LibvirtHypervisor {
    func apply(_ spec: MachineSpec, dryRun: Bool, caller: Peer) async throws(HVError) -> VmApplyReply {
        let spec = spec.normalized()
        let callerGroups = try await self.callerGroups(caller)
        let reply = try await underPolicy { () throws(HVError) in
            try await self.run { connection in try self.applyPrepared(spec, dryRun: dryRun, caller: caller, groups: callerGroups, connection) }
        }
        return reply
    }

    /// Applies a normalized spec on the libvirt thread, under `underPolicy`. `mustBeNew` refuses an
    /// existing name (`Vm.Create`); `ownVolumes` are volumes made for this machine by the caller
    /// (a full clone's copies, a restore's disks); `chargedTo` charges a new machine to that group
    /// rather than the caller's (a restore: the group of the machine backed up).
    func applyPrepared(
        _ requested: MachineSpec, dryRun: Bool = false, caller: Peer, groups: Set<String>, mustBeNew: Bool = false,
        ownVolumes extraVolumes: Set<String> = [], adoptingInto adoptedGroup: String? = nil, chargedTo: String? = nil,
        _ connection: Connection
    ) throws -> VmApplyReply {
        var spec = requested
        let existing = try connection.domain(named: spec.name)
        if existing != nil && mustBeNew {
            throw HVError(
                .alreadyExists, "a virtual machine named '\(spec.name)' already exists",
                fix: "choose another name, or delete the existing machine first", details: ["name": spec.name]
            )
        }
        var current: MachineSpec?
        var metadata = MachineMetadata(
            specJSON: try Self.canonicalJSON(spec), ownerUID: caller.uid,
            ownerGroup: chargeGroup(uid: caller.uid, gid: caller.gid, groups: groups),
            tags: spec.tags, description: spec.description, instance: instance
        )
        var uuid: String?
        if existing == nil, let chargedTo {
            metadata.ownerGroup = chargedTo
        }
        if let adoptedGroup, let existing {
            metadata.ownerGroup = adoptedGroup
            uuid = try existing.uuid()
        } else if let existing {
            guard let recorded = self.ownRecord(domainXML: try existing.xmlDescription(flags: .inactive)),
                let decoded = recorded.spec
            else {
                throw HVError(
                    .alreadyExists, "a machine named '\(spec.name)' exists but was not made from a spec, so apply won't change it",
                    fix: "choose another name, or delete it ('hv vm delete \(spec.name)') and apply the spec", details: ["name": spec.name]
                )
            }
            if recorded.template {
                throw HVError(
                    .invalidState, "'\(spec.name)' is a template; templates are not changed by apply",
                    fix: "clone it ('hv vm clone \(spec.name) NEW') and apply a spec to the clone", details: ["name": spec.name, "state": "template"]
                )
            }
            let definedXML = try existing.xmlDescription(flags: .inactive)
            let pinned = Self.pinningAssignedMACs(decoded, domainXML: definedXML)
            current = Self.withDisplayAsDefined(pinned, domainXML: definedXML)
            // An interface the spec gives no MAC keeps the one it has: a guest's address must not
            // change because its spec was applied again.
            spec = Self.keepingMACs(of: pinned, in: spec)
            metadata.specJSON = try Self.canonicalJSON(spec)
            uuid = try existing.uuid()
            metadata.ownerUID = recorded.ownerUID
            metadata.ownerGroup = recorded.ownerGroup
            // Host features are the administrator's, set apart from the spec; apply keeps them.
            metadata.hostFeatures = recorded.hostFeatures
        }

        let changes = current.map { SpecChanges.between(current: $0, desired: spec) } ?? []
        if let first = changes.first(where: { if case .refused = $0.effect { true } else { false } }),
            case .refused(let reason) = first.effect
        {
            throw HVError(
                .invalidSpec, "\(first.field): \(reason)",
                fix: "keep '\(first.field)' as it is (export the current spec with 'hv vm export \(spec.name)')",
                details: ["field": first.field]
            )
        }

        // Limits first: a request over them is refused before any name is looked up.
        try policy.checkMachine(Usage(vms: 1, vcpus: spec.vcpus, memory: spec.memory, disk: spec.declaredDiskSize))
        let ownVolumes = extraVolumes.union(current.map { self.volumeKeys(of: $0) } ?? [])
        let plan = try plan(spec, metadata: metadata, uuid: uuid, ownVolumes: ownVolumes, connection)
        try policy.checkMachine(plan.usage)
        let group = policy.groups[metadata.ownerGroup] == nil ? nil : metadata.ownerGroup
        let previous = try current.map { _ in try self.usage(ofMachine: spec.name, connection) } ?? Usage()
        try policy.checkGroup(group, current: try groupUsage(group, connection), removing: previous, adding: plan.usage)
        _ = try DomainXML.machine(plan.definition)
        if metadata.hostFeatures.hugepages && current?.memory != spec.memory {
            try checkHugepages(for: spec, connection)
        }
        if spec.tpm && (current?.tpm != true || current?.machine != spec.machine) {
            try checkTPM(for: spec, connection)
        }

        let active = try existing?.isActive() ?? false
        let restartNeeded = active && changes.contains { $0.effect == .nextBoot }
        if dryRun {
            return VmApplyReply(created: existing == nil, changes: changes, restartNeeded: restartNeeded, vm: try existing.map(details))
        }
        if current == spec, let existing {
            return VmApplyReply(created: false, changes: [], restartNeeded: false, vm: try details(existing))
        }

        let journal = try pending.begin(
            existing == nil ? "Vm.Apply" : "Vm.Apply (change)", machine: spec.name,
            volumes: plan.newVolumes.map { VolumeKey(pool: $0.poolName, name: $0.name) }
        )
        let made = MadeVolumes()
        do {
            for volume in plan.newVolumes {
                _ = try made.making(VolumeKey(pool: volume.poolName, name: volume.name)) { () throws(LibvirtError) in
                    try volume.pool.createVolume(xml: volume.xml, flags: [])
                }
            }
            for growth in plan.growths {
                if active {
                    try existing?.blockResize(disk: try growth.volume.path(), to: growth.size.bytes)
                } else {
                    try growth.volume.resize(to: growth.size.bytes)
                }
            }
            if let cloudInit = spec.cloudInit {
                try buildSeed(cloudInit, machine: spec.name)
            }
            let domain = try defineMachine(plan.definition, connection)
            // Never libvirt's own autostart, which has no order: `hv host autostart` starts spec
            // machines at boot, in the order their specs give.
            pending.end(journal)
            try domain.setAutostart(false)
            return VmApplyReply(created: existing == nil, changes: changes, restartNeeded: restartNeeded, vm: try details(domain))
        } catch {
            // New volumes are ours: a failed apply leaves none behind, including one libvirt was
            // making when it went away. When it can't be asked now, the journal keeps them for the
            // next connection.
            pending.abandon(journal)
            do {
                try takeBack(journal, made: made, connection)
            } catch {
                logger.warning(
                    "volumes made by a failed change could not be taken back; they are removed when libvirt answers again",
                    metadata: ["machine": "\(spec.name)", "volumes": "\(made.all.map(\.description))"]
                )
            }
            throw error
        }
    }

    /// "POOL/VOLUME" for each disk of a spec.
    func volumeKeys(of spec: MachineSpec) -> Set<String> {
        Set(spec.disks.map { "\($0.pool ?? layout.poolName)/\(Self.volumeName(machine: spec.name, disk: $0.name))" })
    }

    func export(_ name: String, redactSecrets: Bool) async throws(HVError) -> VmExportReply {
        let spec = try await run { connection in
            let domain = try self.domain(name, connection)
            let xml = try domain.xmlDescription(flags: .inactive)
            guard let recorded = self.ownRecord(domainXML: xml),
                let spec = recorded.spec
            else {
                throw HVError(
                    .notFound, "'\(name)' was not made from a spec, so there is none to export",
                    fix: "write a spec for it (see docs/SPEC.md) and apply it to a new machine", details: ["name": name]
                )
            }
            // Pin what libvirt chose, so applying the export changes nothing.
            var exported = Self.pinningAssignedMACs(spec, domainXML: xml)
            if redactSecrets, var cloudInit = exported.cloudInit {
                cloudInit.userData = CloudInitSpec.redacted
                if cloudInit.metaData != nil { cloudInit.metaData = CloudInitSpec.redacted }
                if cloudInit.networkConfig != nil { cloudInit.networkConfig = CloudInitSpec.redacted }
                exported.cloudInit = cloudInit
            }
            return exported
        }
        return VmExportReply(spec: spec)
    }

    /// The spec with the MAC addresses libvirt assigned filled in where it named none.
    static func pinningAssignedMACs(_ spec: MachineSpec, domainXML: String) -> MachineSpec {
        guard let facts = try? DomainFacts.read(domainXML: domainXML) else { return spec }
        var spec = spec
        for (index, mac) in facts.macAddresses.enumerated() where index < spec.networks.count && spec.networks[index].mac == nil {
            spec.networks[index].mac = mac
        }
        return spec.normalized()
    }

    /// `spec` with its display's place as the domain has it, so a display no spec can express (an
    /// address or a socket from an earlier version, or set by hand) shows as a change and is replaced.
    static func withDisplayAsDefined(_ spec: MachineSpec, domainXML: String) -> MachineSpec {
        guard spec.graphics != nil, let display = (try? DomainFacts.read(domainXML: domainXML))?.graphics else { return spec }
        var spec = spec
        spec.graphics?.listen = display.listen
        return spec
    }

    /// `spec` with each interface that names no MAC given the MAC of the same interface in `current`.
    static func keepingMACs(of current: MachineSpec, in spec: MachineSpec) -> MachineSpec {
        var spec = spec
        for index in spec.networks.indices where index < current.networks.count && spec.networks[index].mac == nil {
            spec.networks[index].mac = current.networks[index].mac
        }
        return spec.normalized()
    }

    /// The spec JSON kept in the domain's metadata: sorted keys, so equal specs give equal text.
    static func canonicalJSON(_ spec: MachineSpec) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(spec), as: UTF8.self)
    }

    func buildSeed(_ cloudInit: CloudInitSpec, machine: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: layout.seedDirectory, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: layout.seedPath(machine: machine))
            try CloudInitSeed(runner: processRunner).build(
                userData: cloudInit.userData, metaData: cloudInit.metaData, networkConfig: cloudInit.networkConfig,
                instanceID: machine, at: layout.seedPath(machine: machine)
            )
        } catch let error as ImageError {
            throw error.hvError
        }
    }

    /// What one spec-made machine takes, from its recorded spec.
    func usage(ofMachine name: String, _ connection: Connection) throws -> Usage {
        guard let spec = try connection.domain(named: name).flatMap(self.record(of:))?.spec else { return Usage() }
        return try usage(of: spec, connection)
    }

    func usage(of spec: MachineSpec, _ connection: Connection) throws -> Usage {
        var disk: UInt64 = 0
        for item in spec.disks {
            let pool = item.pool ?? layout.poolName
            let capacity = try connection.storagePool(named: pool)?.volume(named: Self.volumeName(machine: spec.name, disk: item.name))?.info().capacity
            disk += max(item.size?.bytes ?? 0, capacity ?? 0)
        }
        return Usage(vms: 1, vcpus: spec.vcpus, memory: spec.memory, disk: ByteSize(bytes: disk))
    }

    /// What the machines charged to `group` take now.
    func groupUsage(_ group: String?, _ connection: Connection) throws -> Usage {
        guard let group else { return Usage() }
        var total = Usage()
        for (_, record) in try records(connection) where record.ownerGroup == group {
            guard let spec = record.spec else { continue }
            total = total + (try usage(of: spec, connection))
        }
        return total
    }
}

extension MachineSpec {
    /// The sum of the sizes the spec states (template disks without a size count as nothing here).
    var declaredDiskSize: ByteSize {
        ByteSize(bytes: disks.reduce(UInt64(0)) { $0 &+ ($1.size?.bytes ?? 0) })
    }
}
