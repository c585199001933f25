import Foundation
import HVProtocol

/// What libvirt assigned or recorded for a domain, read from its XML: the UUID, each interface's
/// MAC, each disk's guest name and image, the firmware it picked, and where the display listens.
public struct DomainFacts: Sendable, Hashable {
    public var name: String
    public var uuid: String?
    /// `kvm`, `qemu`, `test`, … as libvirt reports it.
    public var domainType: String
    /// Disks and CD-ROMs in document order.
    public var disks: [DiskFacts]
    /// Network interfaces in document order.
    public var interfaces: [InterfaceFacts]
    /// Whether the machine boots UEFI firmware (auto-selected, or a pflash loader libvirt filled in).
    public var isEFI: Bool
    /// Whether the loader is marked secure (Secure Boot firmware).
    public var secureBoot: Bool
    /// The machine's own UEFI variable store, once libvirt has chosen it.
    public var nvramPath: String?
    /// The first display, if the machine has one.
    public var graphics: GraphicsFacts?

    /// The MAC address of each interface, in order (nil where libvirt has not assigned one yet).
    public var macAddresses: [String?] { interfaces.map(\.mac) }

    public init(
        name: String, uuid: String?, domainType: String, disks: [DiskFacts], interfaces: [InterfaceFacts],
        isEFI: Bool, secureBoot: Bool, nvramPath: String?, graphics: GraphicsFacts?
    ) {
        self.name = name
        self.uuid = uuid
        self.domainType = domainType
        self.disks = disks
        self.interfaces = interfaces
        self.isEFI = isEFI
        self.secureBoot = secureBoot
        self.nvramPath = nvramPath
        self.graphics = graphics
    }

    /// Reads the facts from domain XML that libvirt returned; throws `HVError.failed` when it is
    /// not a domain document.
    public static func read(domainXML: String) throws(HVError) -> DomainFacts {
        let domain = try ParsedXML.parse(domainXML, root: "domain", what: "domain")
        let devices = domain.child("devices")
        let os = domain.child("os")
        let loader = os?.child("loader")
        let nvram = os?.child("nvram")
        let nvramText = nvram?.trimmedText
        return DomainFacts(
            name: domain.value("name") ?? "",
            uuid: domain.value("uuid"),
            domainType: domain["type"] ?? "",
            disks: devices?.children("disk").map(DiskFacts.init) ?? [],
            interfaces: devices?.children("interface").map(InterfaceFacts.init) ?? [],
            isEFI: os?["firmware"] == "efi" || loader?["type"] == "pflash",
            secureBoot: loader?["secure"] == "yes",
            nvramPath: nvramText?.isEmpty == false ? nvramText : nvram?.child("source")?["file"],
            graphics: devices?.child("graphics").map(GraphicsFacts.init)
        )
    }
}

/// One disk or CD-ROM as libvirt describes it.
public struct DiskFacts: Sendable, Hashable {
    /// `disk` or `cdrom`.
    public var device: String
    /// The guest device name, such as `vda` or `sda`.
    public var target: String
    /// `virtio`, `sata`, `scsi`, …
    public var bus: String?
    /// The image's host path; nil for an empty CD-ROM drive.
    public var sourcePath: String?
    /// The format libvirt opens the image with (`qcow2`, `raw`).
    public var format: String?
    public var readOnly: Bool

    public init(device: String, target: String, bus: String?, sourcePath: String?, format: String?, readOnly: Bool) {
        self.device = device
        self.target = target
        self.bus = bus
        self.sourcePath = sourcePath
        self.format = format
        self.readOnly = readOnly
    }

    init(_ disk: ParsedXML) {
        let target = disk.child("target")
        let source = disk.child("source")
        self.init(
            device: disk["device"] ?? "disk", target: target?["dev"] ?? "", bus: target?["bus"],
            sourcePath: source?["file"] ?? source?["dev"], format: disk.child("driver")?["type"],
            readOnly: disk.child("readonly") != nil
        )
    }
}

/// One network interface as libvirt describes it.
public struct InterfaceFacts: Sendable, Hashable {
    /// The MAC address, in libvirt's lower-case form.
    public var mac: String?
    /// The managed network or bridge it is plugged into; nil for other kinds of interface.
    public var source: MachineNic.Source?
    /// The emulated card, such as `virtio`.
    public var model: String?

    public init(mac: String?, source: MachineNic.Source?, model: String?) {
        self.mac = mac
        self.source = source
        self.model = model
    }

    init(_ interface: ParsedXML) {
        let source = interface.child("source")
        let plugged: MachineNic.Source? =
            switch interface["type"] {
            case "network": source?["network"].map(MachineNic.Source.network)
            case "bridge": source?["bridge"].map(MachineNic.Source.bridge)
            default: nil
            }
        self.init(
            mac: interface.child("mac")?["address"]?.lowercased(), source: plugged,
            model: interface.child("model")?["type"]
        )
    }
}

/// Where a display listens, as libvirt reports it.
public struct GraphicsFacts: Sendable, Hashable {
    /// `vnc` or `spice`.
    public var type: String
    /// `broker` only when the display listens nowhere of its own (`<listen type='none'/>` and
    /// nothing else); an address, a socket or a network is a place no spec can express, named here
    /// as the domain gives it.
    public var listen: GraphicsListen
    /// The Unix socket, when the display listens on one and libvirt has created it (running machine).
    public var socketPath: String?
    /// The TCP port, when the display listens on an address and the machine is running.
    public var port: Int?
    /// The address it listens on, when it listens on one.
    public var listenAddress: String?

    public init(type: String, listen: GraphicsListen, socketPath: String?, port: Int?, listenAddress: String?) {
        self.type = type
        self.listen = listen
        self.socketPath = socketPath
        self.port = port
        self.listenAddress = listenAddress
    }

    init(_ graphics: ParsedXML) {
        let listens = graphics.children("listen")
        let listen = listens.first { $0["type"] != "none" }
        let port = graphics["port"].flatMap { Int($0) }
        let socketPath = listen?["socket"] ?? graphics["socket"]
        let address = listen?["address"] ?? graphics["listen"]
        let nowhere =
            !listens.isEmpty && listens.allSatisfy { $0["type"] == "none" } && graphics["socket"] == nil
            && graphics["listen"] == nil
        let place: GraphicsListen
        if nowhere {
            place = .broker
        } else if let address {
            place = .unsupported(address)
        } else if socketPath != nil || listen?["type"] == "socket" {
            place = .unsupported("a Unix socket")
        } else if let network = listen?["network"] {
            place = .unsupported("network \(network)")
        } else {
            // No listen element: QEMU listens on the address in qemu.conf.
            place = .unsupported("qemu.conf's address")
        }
        self.init(
            type: graphics["type"] ?? "", listen: place, socketPath: socketPath,
            port: port.flatMap { $0 > 0 ? $0 : nil }, listenAddress: address
        )
    }
}
