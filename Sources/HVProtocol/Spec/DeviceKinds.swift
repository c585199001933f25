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

/// Where a display listens: never on a routable address.
public enum GraphicsListen: String, Codable, Sendable, Hashable, CaseIterable {
    /// A Unix socket libvirt creates for the machine (reached through the broker or an SSH tunnel).
    case socket
    /// 127.0.0.1 on an automatically chosen port.
    case loopback
}
