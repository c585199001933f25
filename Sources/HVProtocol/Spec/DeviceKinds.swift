/// The closed sets of choices a machine spec offers. Raw values are what spec files and the wire use.

/// How the machine boots.
public enum Firmware: String, Codable, Sendable, Hashable, CaseIterable {
    case bios
    /// UEFI (OVMF) with a per-machine NVRAM variable store.
    case uefi
    /// UEFI with Secure Boot enforced, where the host's OVMF build has it.
    case uefiSecure = "uefi-secure"
}

/// The emulated chipset.
public enum MachineType: String, Codable, Sendable, Hashable, CaseIterable {
    case q35
    case pc
}

/// The bus a disk is attached to.
public enum DiskBus: String, Codable, Sendable, Hashable, CaseIterable {
    case virtio
    case sata
    case scsi
}

/// QEMU's host page-cache mode for a disk.
public enum CacheMode: String, Codable, Sendable, Hashable, CaseIterable {
    case none
    case writeback
    case writethrough
    case directsync
    case unsafe
}

/// The emulated network card.
public enum NicModel: String, Codable, Sendable, Hashable, CaseIterable {
    case virtio
    case e1000e
    case rtl8139
}

/// The remote display protocol.
public enum GraphicsType: String, Codable, Sendable, Hashable, CaseIterable {
    case vnc
    case spice
}

/// Where a display listens. A spec has one place, `broker`: no socket and no TCP port, so the
/// display is reached only through a connection the broker hands out (libvirt's
/// `virDomainOpenGraphicsFD`), to callers polkit allows.
///
/// Any other word is kept as written and refused by `MachineSpec.validate()`, so a machine recorded
/// with one by an earlier version (`loopback`) can still be read, shown and changed.
public enum GraphicsListen: Sendable, Hashable {
    /// libvirt's `<listen type='none'/>`; the default.
    case broker
    /// A place no spec may use (`loopback`, an address), as written.
    case unsupported(String)

    /// The word a spec uses for `broker`.
    public static let brokerWord = "broker"
    /// The earlier default, a Unix socket in libvirt's private directory; read as `broker`.
    public static let socketWord = "socket"

    /// The place a spec's word names; `socket` is read as `broker`.
    public init(word: String) {
        self = word == Self.brokerWord || word == Self.socketWord ? .broker : .unsupported(word)
    }

    /// The word spec files and the wire use.
    public var word: String {
        switch self {
        case .broker: Self.brokerWord
        case .unsupported(let word): word
        }
    }
}

extension GraphicsListen: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(word: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(word)
    }
}
