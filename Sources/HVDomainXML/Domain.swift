import XMLCoder

/// The subset of libvirt's domain schema the broker produces.
struct Domain: AttributeKeys {
    static var attributeKeys: Set<String> { ["type"] }

    var type: String
    var name: String
    var memory: Measured<Int>
    var currentMemory: Measured<Int>
    var vcpu: Int
    var os: OS
    var features: Features
    var cpu: CPU?
    var on_poweroff = "destroy"
    var on_reboot = "restart"
    var on_crash = "destroy"
    var devices: Devices

    init(_ definition: DomainDefinition) {
        type = definition.domainType
        name = definition.name
        memory = Measured(unit: "MiB", value: definition.memoryMiB)
        currentMemory = memory
        vcpu = definition.vcpus
        let bootDevices = definition.isoPath == nil ? ["hd"] : ["cdrom", "hd"]
        os = OS(type: .init(arch: "x86_64", machine: "q35", value: "hvm"), boot: bootDevices.map(OS.Boot.init))
        features = Features(acpi: Flag(), apic: Flag())
        cpu = definition.domainType == "kvm" ? CPU(mode: "host-passthrough") : nil
        var disks = [
            Disk(
                type: "file", device: "disk", driver: .init(name: "qemu", type: "qcow2"),
                source: .init(file: definition.diskPath), target: .init(dev: "vda", bus: "virtio"), readonly: nil
            )
        ]
        if let iso = definition.isoPath {
            disks.append(
                Disk(
                    type: "file", device: "cdrom", driver: .init(name: "qemu", type: "raw"),
                    source: .init(file: iso), target: .init(dev: "sda", bus: "sata"), readonly: Flag()
                )
            )
        }
        devices = Devices(
            disk: disks,
            serial: Serial(type: "pty", log: .init(file: definition.consoleLogPath, append: "off"), target: .init(port: 0)),
            console: Console(type: "pty", target: .init(type: "serial", port: 0)),
            memballoon: MemBalloon(model: "virtio")
        )
    }

    struct OS: Encodable {
        var type: OSType
        var boot: [Boot]

        struct OSType: AttributeKeys {
            static var attributeKeys: Set<String> { ["arch", "machine"] }
            var arch: String
            var machine: String
            var value: String
            enum CodingKeys: String, CodingKey {
                case arch, machine
                case value = ""
            }
        }

        struct Boot: AttributeKeys {
            static var attributeKeys: Set<String> { ["dev"] }
            var dev: String
        }
    }

    struct Features: Encodable {
        var acpi: Flag
        var apic: Flag
    }

    struct CPU: AttributeKeys {
        static var attributeKeys: Set<String> { ["mode"] }
        var mode: String
    }

    struct Devices: Encodable {
        var disk: [Disk]
        var serial: Serial
        var console: Console
        var memballoon: MemBalloon
    }

    struct Disk: AttributeKeys {
        static var attributeKeys: Set<String> { ["type", "device"] }
        var type: String
        var device: String
        var driver: Driver
        var source: Source
        var target: Target
        var readonly: Flag?

        struct Driver: AttributeKeys {
            static var attributeKeys: Set<String> { ["name", "type"] }
            var name: String
            var type: String
        }

        struct Source: AttributeKeys {
            static var attributeKeys: Set<String> { ["file"] }
            var file: String
        }

        struct Target: AttributeKeys {
            static var attributeKeys: Set<String> { ["dev", "bus"] }
            var dev: String
            var bus: String
        }
    }

    struct Serial: AttributeKeys {
        static var attributeKeys: Set<String> { ["type"] }
        var type: String
        var log: Log
        var target: Port

        struct Log: AttributeKeys {
            static var attributeKeys: Set<String> { ["file", "append"] }
            var file: String
            var append: String
        }
    }

    struct Port: AttributeKeys {
        static var attributeKeys: Set<String> { ["port"] }
        var port: Int
    }

    struct Console: AttributeKeys {
        static var attributeKeys: Set<String> { ["type"] }
        var type: String
        var target: Target

        struct Target: AttributeKeys {
            static var attributeKeys: Set<String> { ["type", "port"] }
            var type: String
            var port: Int
        }
    }

    struct MemBalloon: AttributeKeys {
        static var attributeKeys: Set<String> { ["model"] }
        var model: String
    }
}

struct Pool: AttributeKeys {
    static var attributeKeys: Set<String> { ["type"] }
    var type: String
    var name: String
    var target: Target

    struct Target: Encodable {
        var path: String
    }
}

struct Volume: Encodable {
    var name: String
    var capacity: Measured<Int>
    var target: Target

    struct Target: Encodable {
        var format: Format
        /// For qcow2: `1.1`, the version that can keep the bitmaps of checkpoints (incremental
        /// backups); libvirt would otherwise make version 2 (`0.10`) images.
        var compat: String?

        init(format: Format, compat: String? = nil) {
            self.format = format
            self.compat = compat
        }
    }

    struct Format: AttributeKeys {
        static var attributeKeys: Set<String> { ["type"] }
        var type: String
    }
}
