/// The declarative description of one virtual machine: what `hv vm apply` creates or updates and
/// `hv vm export` writes back.
///
/// Spec files and the wire use snake_case keys (`cloud_init`). Fields with a default may be left out;
/// `normalized()` gives the canonical form, so a minimal file and one with every default written out
/// compare equal. Nothing here is trusted before `validate()` has passed.
public struct MachineSpec: Codable, Sendable, Hashable {
    public var name: String
    /// Plain text for people; never markup.
    public var description: String?
    public var tags: [String]
    public var vcpus: Int
    public var memory: ByteSize
    public var firmware: Firmware
    public var machine: MachineType
    public var disks: [DiskSpec]
    /// An ISO image from the broker's library, by name.
    public var cdrom: String?
    public var networks: [NicSpec]
    /// The display; none when absent.
    public var graphics: GraphicsSpec?
    /// A serial console (logged by the broker).
    public var serial: Bool
    /// An emulated TPM 2.0 (swtpm, run by libvirt), whose state lives as long as the machine.
    public var tpm: Bool
    public var autostart: AutostartSpec?
    /// A NoCloud seed the broker builds from this data.
    public var cloudInit: CloudInitSpec?

    public init(
        name: String,
        description: String? = nil,
        tags: [String] = [],
        vcpus: Int,
        memory: ByteSize,
        firmware: Firmware = .bios,
        machine: MachineType = .q35,
        disks: [DiskSpec] = [],
        cdrom: String? = nil,
        networks: [NicSpec] = [],
        graphics: GraphicsSpec? = nil,
        serial: Bool = true,
        tpm: Bool = false,
        autostart: AutostartSpec? = nil,
        cloudInit: CloudInitSpec? = nil
    ) {
        self.name = name
        self.description = description
        self.tags = tags
        self.vcpus = vcpus
        self.memory = memory
        self.firmware = firmware
        self.machine = machine
        self.disks = disks
        self.cdrom = cdrom
        self.networks = networks
        self.graphics = graphics
        self.serial = serial
        self.tpm = tpm
        self.autostart = autostart
        self.cloudInit = cloudInit
    }

    /// The keys in the order spec files are written.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case name, description, tags, vcpus, memory, firmware, machine, disks, cdrom, networks, graphics, serial
        case tpm, autostart
        case cloudInit = "cloud_init"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
        vcpus = try container.decode(Int.self, forKey: .vcpus)
        memory = try container.decode(ByteSize.self, forKey: .memory)
        firmware = try container.decodeIfPresent(Firmware.self, forKey: .firmware) ?? .bios
        machine = try container.decodeIfPresent(MachineType.self, forKey: .machine) ?? .q35
        disks = try container.decodeIfPresent([DiskSpec].self, forKey: .disks) ?? []
        cdrom = try container.decodeIfPresent(String.self, forKey: .cdrom)
        networks = try container.decodeIfPresent([NicSpec].self, forKey: .networks) ?? []
        graphics = try container.decodeIfPresent(GraphicsSpec.self, forKey: .graphics)
        serial = try container.decodeIfPresent(Bool.self, forKey: .serial) ?? true
        tpm = try container.decodeIfPresent(Bool.self, forKey: .tpm) ?? false
        autostart = try container.decodeIfPresent(AutostartSpec.self, forKey: .autostart)
        cloudInit = try container.decodeIfPresent(CloudInitSpec.self, forKey: .cloudInit)
    }

    /// The canonical form: MAC addresses in lower case and empty optional text left out. Defaults
    /// are already filled in by decoding and by `init`.
    public func normalized() -> MachineSpec {
        var spec = self
        if spec.description?.isEmpty == true { spec.description = nil }
        spec.networks = networks.map { nic in
            var nic = nic
            nic.mac = nic.mac.map { $0.lowercased() }
            return nic
        }
        if var cloudInit = spec.cloudInit {
            if cloudInit.metaData?.isEmpty == true { cloudInit.metaData = nil }
            if cloudInit.networkConfig?.isEmpty == true { cloudInit.networkConfig = nil }
            spec.cloudInit = cloudInit
        }
        return spec
    }
}
