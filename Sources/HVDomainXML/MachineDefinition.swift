import HVProtocol

/// Everything the broker resolved for one machine, with the host paths it derived itself.
///
/// Built by the broker from a validated spec and its own configuration, never from a client's
/// paths. `DomainXML.machine(_:)` checks it again and encodes it with XMLCoder, so no value can add
/// elements or attributes to the domain XML.
public struct MachineDefinition: Sendable, Hashable {
    /// The libvirt domain name.
    public var name: String
    /// The domain's UUID; pass the existing one when redefining so libvirt keeps the same domain.
    public var uuid: String?
    /// The hypervisor driver that runs the machine.
    public var domainType: DomainType
    public var vcpus: Int
    /// Guest memory; a whole number of KiB.
    public var memory: ByteSize
    public var firmware: Firmware
    public var machine: MachineType
    /// Disks in guest order; the first one is the boot disk.
    public var disks: [MachineDisk]
    /// An installation ISO from the broker's library, attached as a read-only CD-ROM that boots first.
    public var cdromPath: String?
    /// A cloud-init NoCloud seed ISO the broker built, attached as a second read-only CD-ROM.
    public var seedPath: String?
    /// Network interfaces in guest order.
    public var nics: [MachineNic]
    /// The remote display, or nil for none.
    public var graphics: MachineGraphics?
    /// Where the serial console's output is logged; nil means the machine has no serial console.
    public var serialLogPath: String?
    /// An emulated TPM 2.0 (`MachineTPM`), whose device model follows the machine type.
    public var tpm: Bool
    /// What the broker records in the domain's `<metadata>` and `<description>`.
    public var metadata: MachineMetadata

    public init(
        name: String, uuid: String? = nil, domainType: DomainType, vcpus: Int, memory: ByteSize,
        firmware: Firmware = .bios, machine: MachineType = .q35, disks: [MachineDisk], cdromPath: String? = nil,
        seedPath: String? = nil, nics: [MachineNic] = [], graphics: MachineGraphics? = nil,
        serialLogPath: String? = nil, tpm: Bool = false, metadata: MachineMetadata
    ) {
        self.name = name
        self.uuid = uuid
        self.domainType = domainType
        self.vcpus = vcpus
        self.memory = memory
        self.firmware = firmware
        self.machine = machine
        self.disks = disks
        self.cdromPath = cdromPath
        self.seedPath = seedPath
        self.nics = nics
        self.graphics = graphics
        self.serialLogPath = serialLogPath
        self.tpm = tpm
        self.metadata = metadata
    }
}

/// The libvirt driver a domain runs under: `kvm` (hardware virtualization), `qemu` (TCG emulation)
/// or `test` (libvirt's in-memory test driver).
public enum DomainType: String, Sendable, Hashable, CaseIterable, Codable {
    case kvm
    case qemu
    case test
}

/// The on-disk format of an image; always stated, never probed from the image's content.
public enum ImageFormat: String, Sendable, Hashable, CaseIterable, Codable {
    case qcow2
    case raw
}

/// One disk of a machine.
public struct MachineDisk: Sendable, Hashable {
    /// The image's host path, in a storage pool the broker manages.
    public var path: String
    public var format: ImageFormat
    public var bus: DiskBus
    public var cache: CacheMode
    public var readOnly: Bool
    /// For an overlay, the template image it is based on. Recorded for the broker only: libvirt reads
    /// the backing chain from the image header, so it is not written into the domain XML.
    public var backingPath: String?
    /// The backing image's format, for the broker only (see `backingPath`).
    public var backingFormat: ImageFormat?

    public init(
        path: String, format: ImageFormat, bus: DiskBus = .virtio, cache: CacheMode = .none, readOnly: Bool = false,
        backingPath: String? = nil, backingFormat: ImageFormat? = nil
    ) {
        self.path = path
        self.format = format
        self.bus = bus
        self.cache = cache
        self.readOnly = readOnly
        self.backingPath = backingPath
        self.backingFormat = backingFormat
    }
}

/// One network interface of a machine.
public struct MachineNic: Sendable, Hashable {
    /// What the interface is plugged into.
    public enum Source: Sendable, Hashable {
        /// A managed libvirt network, by name.
        case network(String)
        /// A host bridge, by interface name.
        case bridge(String)
    }

    public var source: Source
    public var model: NicModel
    /// A fixed MAC address (`52:54:00:12:34:56`); nil lets libvirt assign one.
    public var mac: String?

    public init(source: Source, model: NicModel = .virtio, mac: String? = nil) {
        self.source = source
        self.model = model
        self.mac = mac
    }
}

/// The remote display of a machine. It listens nowhere of its own: the broker hands out
/// connections to it.
public struct MachineGraphics: Sendable, Hashable {
    public var type: GraphicsType

    public init(type: GraphicsType) {
        self.type = type
    }
}
