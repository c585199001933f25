import HVProtocol

extension Explanation {
    public static func hugepages(_ name: String, enabled: Bool) -> Explanation {
        Explanation(
            commands: [
                "\(uri) edit \(name)    # \(enabled ? "add <memoryBacking><hugepages/></memoryBacking>" : "remove <memoryBacking>")",
                "grep -i hugepages /proc/meminfo",
            ],
            why: "Hugepages cut the guest's page-table overhead for memory-heavy work; the host must reserve them first, so the broker checks that the reserved pages cover every machine that uses them.",
            operation: .vmHugepages
        )
    }

    public static func pin(_ name: String, pins: [CpuPin]) -> Explanation {
        let commands = pins.isEmpty
            ? ["\(uri) edit \(name)    # remove <cputune>"]
            : pins.map { "\(uri) vcpupin \(name) \($0.vcpu) \($0.cpus) --config" }
        return Explanation(
            commands: commands + ["lscpu -e"],
            why: "Pinning keeps each vCPU on chosen host CPUs, for steady latency and cache locality; the broker checks the CPUs are online and the vCPUs exist.",
            operation: .vmCpuPinning
        )
    }

    public static func passthrough(_ name: String, pci: [String], usb: [String]) -> Explanation {
        let pciCommands = pci.map { "\(uri) attach-device \(name) pci-\($0).xml --config    # <hostdev type='pci' managed='yes'>" }
        let usbCommands = usb.map { "\(uri) attach-device \(name) usb-\($0).xml --config    # <hostdev type='usb'> by vendor and product" }
        return Explanation(
            commands: (pciCommands + usbCommands).isEmpty ? ["\(uri) edit \(name)    # remove every <hostdev>"] : pciCommands + usbCommands + ["lspci -D", "lsusb"],
            why: "Gives the machine a real host device; libvirt detaches a PCI device from its host driver at start. The broker checks the device exists, sits in an IOMMU group and belongs to no other machine.",
            operation: .vmPassthrough
        )
    }

    public static func autostart() -> Explanation {
        Explanation(
            commands: ["\(uri) start NAME    # for each machine whose spec enables autostart, lowest order first"],
            why: "libvirt's own autostart has no order, so the broker starts spec machines itself, one order group after another; hypernixos-autostart.service runs this at boot.",
            operation: .hostAutostart
        )
    }
}
