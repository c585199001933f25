extension MachineSpec {
    func validateDisks() throws(HVError) {
        if disks.isEmpty && cdrom == nil {
            throw .invalidSpec(
                "disks", "a machine needs at least one disk, or a cdrom to boot from",
                fix: "add a disk, such as 'disks: [{name: root, size: 20GiB}]'"
            )
        }
        guard disks.count <= SpecLimits.diskCount else {
            throw .invalidSpec(
                "disks", "has \(disks.count) disks, the limit is \(SpecLimits.diskCount)", fix: "combine data onto fewer, larger disks"
            )
        }
        var names: [String: Int] = [:]
        var total: UInt64 = 0
        for (index, disk) in disks.enumerated() {
            let field = "disks[\(index)]"
            try disk.validate(field: field)
            if let first = names[disk.name] {
                let source = disk.template.map { " from template '\($0)'" } ?? ""
                throw .invalidSpec(
                    "\(field).name", "disks[\(first)] is already named '\(disk.name)'\(source); duplicate disks are not accepted",
                    fix: "give every disk its own name, such as '\(disk.name)2'"
                )
            }
            names[disk.name] = index
            total += disk.size?.bytes ?? 0
        }
        guard total <= SpecLimits.totalDiskSize.bytes else {
            throw .invalidSpec(
                "disks", "together the disks ask for \(ByteSize(bytes: total).readable); one machine may have at most "
                    + SpecLimits.totalDiskSize.readable,
                fix: "make the disks smaller, or spread the data over several machines"
            )
        }
    }

    func validateNetworks() throws(HVError) {
        guard networks.count <= SpecLimits.networkCount else {
            throw .invalidSpec(
                "networks", "has \(networks.count) interfaces, the limit is \(SpecLimits.networkCount)",
                fix: "use at most \(SpecLimits.networkCount) interfaces; VLANs can be handled inside the guest"
            )
        }
        var macs: [String: Int] = [:]
        for (index, nic) in networks.enumerated() {
            let field = "networks[\(index)]"
            try nic.validate(field: field)
            guard let mac = nic.mac.map(MacAddress.normalized) else { continue }
            if let first = macs[mac] {
                throw .invalidSpec(
                    "\(field).mac", "'\(mac)' is already the address of networks[\(first)]; duplicate MAC addresses are not accepted",
                    fix: "give each interface its own address, or leave mac out and one is chosen"
                )
            }
            macs[mac] = index
        }
    }
}

extension DiskSpec {
    func validate(field: String) throws(HVError) {
        try SpecName.validate(
            name, field: "\(field).name", kind: "disk", maximumLength: SpecLimits.shortNameLength, example: "root"
        )
        if let template {
            try SpecName.validate(template, field: "\(field).template", kind: "template volume", example: "debian-12")
        } else if size == nil {
            throw .invalidSpec(
                field, "disk '\(name)' needs a size (a new empty disk) or a template (a copy of a template volume)",
                fix: "add 'size: 20GiB', or 'template: debian-12' to start from a template"
            )
        }
        if let size, !SpecLimits.diskSize.contains(size) {
            let limits = SpecLimits.diskSize
            throw .invalidSpec(
                "\(field).size", "must be between \(limits.lowerBound.readable) and \(limits.upperBound.readable), got \(size.readable)",
                fix: "write a size such as 'size: 20GiB'"
            )
        }
        if let pool {
            try SpecName.validate(pool, field: "\(field).pool", kind: "storage pool", example: "hypervisor-images")
        }
    }
}

extension NicSpec {
    func validate(field: String) throws(HVError) {
        switch (network, bridge) {
        case (nil, nil):
            throw .invalidSpec(
                field, "an interface needs a network or a bridge",
                fix: "add 'network: default' (a managed network) or 'bridge: br0' (a bridge the admin allows)"
            )
        case (.some, .some):
            throw .invalidSpec(
                field, "an interface is on a network or on a bridge, not both",
                fix: "keep one of 'network' and 'bridge'; add a second interface for the other"
            )
        case (let network?, nil):
            try SpecName.validate(network, field: "\(field).network", kind: "network", example: "default")
        case (nil, let bridge?):
            try SpecName.validate(
                bridge, field: "\(field).bridge", kind: "bridge", maximumLength: SpecLimits.bridgeNameLength, example: "br0"
            )
        }
        if let mac { try MacAddress.validate(mac, field: "\(field).mac") }
    }
}

extension GraphicsSpec {
    /// A display listens only where the broker hands it out: VNC and SPICE on an address or a
    /// socket of their own ask for no password, so anyone on the host could connect.
    func validate(field: String) throws(HVError) {
        guard case .unsupported(let word) = listen else { return }
        throw .invalidSpec(
            "\(field).listen",
            "'\(VmName.printable(word))' would put the display on a port of its own with no password: anyone on the "
                + "host could connect and use the guest's keyboard and screen; a display listens only where the broker "
                + "hands it out ('\(GraphicsListen.brokerWord)')",
            fix: "omit 'listen'; the console will be handed out by the broker"
        )
    }
}
