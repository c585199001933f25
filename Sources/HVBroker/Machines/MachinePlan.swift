import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol

/// What applying a spec takes: the volumes to create, and the definition libvirt gets.
struct MachinePlan {
    /// A disk volume the machine needs and does not have yet.
    struct NewVolume {
        var pool: StoragePool
        var poolName: String
        var name: String
        var xml: String
    }

    var definition: MachineDefinition
    var newVolumes: [NewVolume]
    /// Disks to grow: (guest target index, pool volume, new size).
    var growths: [(index: Int, volume: StorageVolume, size: ByteSize)]
    var usage: Usage
}

extension LibvirtHypervisor {
    /// The volume name a spec disk gets: `MACHINE-DISK.qcow2`.
    static func volumeName(machine: String, disk: String) -> String { "\(machine)-\(disk).qcow2" }

    /// Resolves every name in `spec` against libvirt, the ISO library and the host policy, and
    /// works out the definition. Nothing is changed here.
    ///
    /// `ownVolumes` ("POOL/VOLUME") are the volumes this machine made: only those are attached
    /// again. Any other volume with the name a disk would get belongs to someone else (another
    /// machine whose name and disk name join to the same text, or a leftover) and is refused.
    func plan(
        _ spec: MachineSpec, metadata: MachineMetadata, uuid: String?, ownVolumes: Set<String>, _ connection: Connection
    ) throws -> MachinePlan {
        var disks: [MachineDisk] = []
        var newVolumes: [MachinePlan.NewVolume] = []
        var growths: [(Int, StorageVolume, ByteSize)] = []
        var diskTotal = ByteSize(bytes: 0)
        let templates = TemplateCatalog(stateDirectory: layout.stateDirectory)
        for (index, disk) in spec.disks.enumerated() {
            let field = "disks[\(index)]"
            let poolName = disk.pool ?? layout.poolName
            guard poolName == layout.poolName || policy.pools.contains(poolName) else {
                throw HVError(
                    .invalidSpec, "\(field).pool: '\(poolName)' is not a pool machines may use here",
                    fix: "use one of \(([layout.poolName] + policy.pools).joined(separator: ", ")), or ask an administrator to add it to 'pools' in the host policy",
                    details: ["field": "\(field).pool", "limit": "pools"]
                )
            }
            let pool = poolName == layout.poolName ? try imagePool(connection) : try existingPool(poolName, field: "\(field).pool", connection)
            let name = Self.volumeName(machine: spec.name, disk: disk.name)
            if let volume = try pool.volume(named: name) {
                guard ownVolumes.contains("\(poolName)/\(name)") else {
                    throw HVError(
                        .alreadyExists,
                        "\(field): the volume this disk would get, \(name) in pool \(poolName), already exists and was not made for '\(spec.name)'",
                        fix: "name the disk or the machine differently; if the volume is a leftover of a deleted machine, "
                            + "delete it with 'hv pool delete-volume \(name)'",
                        details: ["field": "\(field).name", "name": name]
                    )
                }
                let capacity = ByteSize(bytes: try volume.info().capacity)
                let size = disk.size ?? capacity
                if size > capacity { growths.append((index, volume, size)) }
                disks.append(MachineDisk(path: try volume.path(), format: .qcow2, bus: disk.bus, cache: disk.cache))
                diskTotal = ByteSize(bytes: diskTotal.bytes + max(size, capacity).bytes)
                continue
            }
            let path = try poolDirectory(pool) + "/" + name
            if let template = disk.template {
                guard templates.contains(pool: poolName, volume: template), let base = try pool.volume(named: template) else {
                    throw HVError(
                        .notFound, "\(field).template: no template volume '\(template)' in pool \(poolName)",
                        fix: "see the templates with 'hv pool volumes \(poolName)' (TEMPLATE column), or mark one with 'hv pool template NAME'",
                        details: ["field": "\(field).template", "name": template]
                    )
                }
                let baseInfo = try base.info()
                let size = max(disk.size ?? ByteSize(bytes: baseInfo.capacity), ByteSize(bytes: baseInfo.capacity))
                let basePath = try base.path()
                _ = try probeTemplate(path: basePath)
                newVolumes.append(.init(
                    pool: pool, poolName: poolName, name: name,
                    xml: try VolumeXML.overlay(name: name, capacity: size, backingPath: basePath, backingFormat: .qcow2)
                ))
                diskTotal = ByteSize(bytes: diskTotal.bytes + size.bytes)
                disks.append(MachineDisk(path: path, format: .qcow2, bus: disk.bus, cache: disk.cache, backingPath: basePath, backingFormat: .qcow2))
            } else {
                let size = disk.size ?? .gibibytes(10)
                newVolumes.append(.init(pool: pool, poolName: poolName, name: name, xml: try VolumeXML.qcow2(name: name, capacity: size)))
                diskTotal = ByteSize(bytes: diskTotal.bytes + size.bytes)
                disks.append(MachineDisk(path: path, format: .qcow2, bus: disk.bus, cache: disk.cache))
            }
        }

        var nics: [MachineNic] = []
        for (index, nic) in spec.networks.enumerated() {
            if let bridge = nic.bridge {
                guard policy.bridges.contains(bridge) else {
                    throw HVError(
                        .invalidSpec, "networks[\(index)].bridge: '\(bridge)' is not on this host's list of allowed bridges"
                            + (policy.bridges.isEmpty ? " (none are allowed)" : " (\(policy.bridges.joined(separator: ", ")))"),
                        fix: "use a managed network ('network: \(policy.defaultNetwork)'), or ask an administrator to add the bridge to 'bridges' in the host policy",
                        details: ["field": "networks[\(index)].bridge", "limit": "bridges"]
                    )
                }
                nics.append(MachineNic(source: .bridge(bridge), model: nic.model, mac: nic.mac))
            } else {
                let network = nic.network ?? policy.defaultNetwork
                guard let found = try connection.network(named: network) else {
                    throw HVError(
                        .notFound, "networks[\(index)].network: no network named '\(network)'",
                        fix: "see the networks with 'hv net list'; an administrator can create one with 'hv net create'",
                        details: ["field": "networks[\(index)].network", "name": network]
                    )
                }
                try checkForwarding(try NetworkFacts.read(xml: try found.xmlDescription()), field: "networks[\(index)].network")
                nics.append(MachineNic(source: .network(network), model: nic.model, mac: nic.mac))
            }
        }

        let kvm = kvmStatus()
        let definition = MachineDefinition(
            name: spec.name, uuid: uuid, domainType: DomainType(rawValue: domainType(kvm)) ?? .qemu, vcpus: spec.vcpus,
            memory: spec.memory, firmware: spec.firmware, machine: spec.machine, disks: disks,
            cdromPath: try spec.cdrom.map(libraryISO), seedPath: spec.cloudInit == nil ? nil : layout.seedPath(machine: spec.name),
            nics: nics, graphics: spec.graphics.map { MachineGraphics(type: $0.type) },
            serialLogPath: spec.serial ? layout.consoleLogPath(machine: spec.name) : nil, tpm: spec.tpm, metadata: metadata
        )
        return MachinePlan(
            definition: definition, newVolumes: newVolumes, growths: growths,
            usage: Usage(vms: 1, vcpus: spec.vcpus, memory: spec.memory, disk: diskTotal)
        )
    }

    /// A libvirt network that puts guests on a host interface (forward mode `bridge`, or macvtap's
    /// `private`, `vepa`, `passthrough`, `hostdev`) is a host bridge by another name: the `bridges`
    /// allow-list applies to it. NAT, routed, open and isolated networks have a bridge of their own.
    func checkForwarding(_ network: NetworkFacts, field: String) throws {
        guard let mode = network.forwardMode, !["nat", "route", "open"].contains(mode) else { return }
        if mode == "bridge", let bridge = network.bridge, policy.bridges.contains(bridge) { return }
        let onto = network.bridge.map { "host bridge '\($0)'" } ?? "a host interface"
        throw HVError(
            .invalidSpec, "\(field): network '\(network.name)' forwards (mode \(mode)) onto \(onto), which is not on this host's list of allowed bridges",
            fix: "use a NAT network ('network: \(policy.defaultNetwork)'), or ask an administrator to add the bridge to 'bridges' in the host policy",
            details: ["field": field, "limit": "bridges"]
        )
    }

    func existingPool(_ name: String, field: String, _ connection: Connection) throws -> StoragePool {
        guard let pool = try connection.storagePool(named: name) else {
            throw HVError(.notFound, "\(field): no storage pool named '\(name)'", fix: "see the pools with 'hv pool list'", details: ["field": field, "name": name])
        }
        if !pool.isActive { try pool.start() }
        return pool
    }
}
