import HVProtocol

/// The domain XML of what an administrator gives a machine from the host: `<memoryBacking>` with
/// hugepages, `<cputune>` with one `<vcpupin>` per pinned vCPU, and `<hostdev>` for each PCI or USB
/// device (managed, so libvirt detaches the device from its host driver at start and gives it back
/// at stop).
enum MachineHostXML {
    struct MemoryBacking: Encodable {
        var hugepages = Flag()
    }

    struct CPUTune: Encodable {
        var vcpupin: [Pin]

        struct Pin: AttributeKeys {
            static var attributeKeys: Set<String> { ["vcpu", "cpuset"] }
            var vcpu: Int
            var cpuset: String
        }
    }

    struct HostDev: AttributeKeys {
        static var attributeKeys: Set<String> { ["mode", "type", "managed"] }
        var mode = "subsystem"
        var type: String
        var managed = "yes"
        var source: Source

        struct Source: Encodable {
            var address: Address?
            var vendor: ID?
            var product: ID?
        }

        struct Address: AttributeKeys {
            static var attributeKeys: Set<String> { ["domain", "bus", "slot", "function"] }
            var domain: String
            var bus: String
            var slot: String
            var function: String
        }

        struct ID: AttributeKeys {
            static var attributeKeys: Set<String> { ["id"] }
            var id: String
        }

        /// `0000:01:00.0` (already checked by `HostFeatureSyntax.pciAddress`).
        static func pci(_ address: String) -> HostDev {
            let parts = address.split(separator: ":")
            let slotFunction = parts.count == 3 ? parts[2].split(separator: ".") : []
            let field = { (index: Int, from: [Substring]) in index < from.count ? "0x" + from[index] : "0x0" }
            return HostDev(
                type: "pci",
                source: Source(address: Address(
                    domain: field(0, parts), bus: field(1, parts), slot: field(0, slotFunction), function: field(1, slotFunction)
                ))
            )
        }

        /// `046d:c52b` (already checked by `HostFeatureSyntax.usbID`).
        static func usb(_ id: String) -> HostDev {
            let parts = id.split(separator: ":").map { "0x" + $0 }
            return HostDev(type: "usb", source: Source(vendor: ID(id: parts.first ?? ""), product: ID(id: parts.last ?? "")))
        }
    }

    static func memoryBacking(_ features: HostFeatures) -> MemoryBacking? {
        features.hugepages ? MemoryBacking() : nil
    }

    static func cputune(_ features: HostFeatures) -> CPUTune? {
        features.cpuPins.isEmpty ? nil : CPUTune(vcpupin: features.cpuPins.map { .init(vcpu: $0.vcpu, cpuset: $0.cpus) })
    }

    static func hostdevs(_ features: HostFeatures) -> [HostDev] {
        features.pciDevices.map(HostDev.pci) + features.usbDevices.map(HostDev.usb)
    }
}
