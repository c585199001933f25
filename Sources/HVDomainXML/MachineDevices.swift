import HVProtocol

/// `<devices>` of a full machine: disks and CD-ROMs, controllers, interfaces, console, TPM, display.
struct MachineDevices: Encodable {
    var disk: [Disk]
    var controller: [Controller]
    var interface: [Interface]
    var serial: Domain.Serial?
    var console: Domain.Console?
    var tpm: TPM?
    var graphics: Graphics?
    var hostdev: [MachineHostXML.HostDev]
    var memballoon = Domain.MemBalloon(model: "virtio")

    init(_ definition: MachineDefinition) {
        let cdroms = [definition.cdromPath, definition.seedPath].compactMap { $0 }
        let names = Self.targetNames(buses: definition.disks.map(\.bus), cdroms: cdroms.count)
        disk = zip(definition.disks, names.disks).map { disk, target in
            Disk(
                type: "file", device: "disk",
                driver: .init(name: "qemu", type: disk.format.rawValue, cache: disk.cache.rawValue),
                source: .init(file: disk.path), target: .init(dev: target, bus: disk.bus.rawValue),
                readonly: disk.readOnly ? Flag() : nil
            )
        }
        disk += zip(cdroms, names.cdroms).map { path, target in
            Disk(
                type: "file", device: "cdrom", driver: .init(name: "qemu", type: "raw", cache: nil),
                source: .init(file: path), target: .init(dev: target, bus: "sata"), readonly: Flag()
            )
        }
        let scsi = definition.disks.contains { $0.bus == .scsi }
        controller = scsi ? [Controller(type: "scsi", model: "virtio-scsi")] : []
        interface = definition.nics.map(Interface.init)
        if let log = definition.serialLogPath {
            serial = Domain.Serial(type: "pty", log: .init(file: log, append: "off"), target: .init(port: 0))
            console = Domain.Console(type: "pty", target: .init(type: "serial", port: 0))
        }
        tpm = definition.tpm ? TPM(machine: definition.machine) : nil
        graphics = definition.graphics.map(Graphics.init)
        hostdev = MachineHostXML.hostdevs(definition.metadata.hostFeatures)
    }

    /// Guest device names: virtio disks are `vda, vdb…`; SATA and SCSI disks share the `sd` names
    /// (`sda, sdb…`), and the CD-ROMs, on SATA, take the `sd` names after them.
    static func targetNames(buses: [DiskBus], cdroms: Int) -> (disks: [String], cdroms: [String]) {
        var virtio = 0
        var sd = 0
        var disks: [String] = []
        for bus in buses {
            if bus == .virtio {
                disks.append("vd" + letters(virtio))
                virtio += 1
            } else {
                disks.append("sd" + letters(sd))
                sd += 1
            }
        }
        return (disks, (sd..<sd + cdroms).map { "sd" + letters($0) })
    }

    /// libvirt's disk-name suffix for a zero-based index: a…z, aa…az, ba…
    static func letters(_ index: Int) -> String {
        var index = index
        var suffix = ""
        repeat {
            suffix.insert(Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(index % 26))), at: suffix.startIndex)
            index = index / 26 - 1
        } while index >= 0
        return suffix
    }

    struct Disk: AttributeKeys {
        static var attributeKeys: Set<String> { ["type", "device"] }
        var type: String
        var device: String
        var driver: Driver
        var source: Domain.Disk.Source
        var target: Domain.Disk.Target
        var readonly: Flag?

        struct Driver: AttributeKeys {
            static var attributeKeys: Set<String> { ["name", "type", "cache"] }
            var name: String
            var type: String
            var cache: String?
        }
    }

    struct Controller: AttributeKeys {
        static var attributeKeys: Set<String> { ["type", "model"] }
        var type: String
        var model: String
    }

    struct Interface: AttributeKeys {
        static var attributeKeys: Set<String> { ["type"] }
        var type: String
        var mac: Address?
        var source: Source
        var model: Model

        init(_ nic: MachineNic) {
            switch nic.source {
            case .network(let network):
                type = "network"
                source = Source(network: network)
            case .bridge(let bridge):
                type = "bridge"
                source = Source(bridge: bridge)
            }
            mac = nic.mac.map { Address(address: $0.lowercased()) }
            model = Model(type: nic.model.rawValue)
        }

        struct Address: AttributeKeys {
            static var attributeKeys: Set<String> { ["address"] }
            var address: String
        }

        struct Source: AttributeKeys {
            static var attributeKeys: Set<String> { ["network", "bridge"] }
            var network: String?
            var bridge: String?
        }

        struct Model: AttributeKeys {
            static var attributeKeys: Set<String> { ["type"] }
            var type: String
        }
    }

    /// `<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>`: see `MachineTPM`.
    struct TPM: AttributeKeys {
        static var attributeKeys: Set<String> { ["model"] }
        var model: String
        var backend = Backend(type: MachineTPM.backend, version: MachineTPM.version)

        init(machine: MachineType) {
            model = MachineTPM.model(for: machine)
        }

        struct Backend: AttributeKeys {
            static var attributeKeys: Set<String> { ["type", "version"] }
            var type: String
            var version: String
        }
    }

    /// A display that listens nowhere: no TCP port and no socket (`<listen type='none'/>`), so the
    /// only way in is a connection the broker asks libvirt for (`virDomainOpenGraphicsFD`). There is
    /// no way to ask for an address or a socket.
    struct Graphics: AttributeKeys {
        static var attributeKeys: Set<String> { ["type"] }
        var type: String
        var listen = Listen(type: "none")

        init(_ graphics: MachineGraphics) {
            type = graphics.type.rawValue
        }

        struct Listen: AttributeKeys {
            static var attributeKeys: Set<String> { ["type"] }
            var type: String
        }
    }
}
