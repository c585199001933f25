/// What a machine takes from the host itself: hugepage-backed memory, vCPUs pinned to host CPUs,
/// and PCI or USB devices passed through. Only administrators set these (each has its own polkit
/// action); they are kept with the machine, survive `hv vm apply`, and are never part of a spec.
public struct HostFeatures: Codable, Sendable, Hashable {
    /// Guest memory comes from the host's reserved hugepages.
    public var hugepages: Bool
    /// vCPU to host CPU pins, by vCPU.
    public var cpuPins: [CpuPin]
    /// PCI devices by full address (`0000:01:00.0`).
    public var pciDevices: [String]
    /// USB devices by `vendor:product` (`046d:c52b`).
    public var usbDevices: [String]

    public init(hugepages: Bool = false, cpuPins: [CpuPin] = [], pciDevices: [String] = [], usbDevices: [String] = []) {
        self.hugepages = hugepages
        self.cpuPins = cpuPins
        self.pciDevices = pciDevices
        self.usbDevices = usbDevices
    }

    public var isEmpty: Bool { self == HostFeatures() }
}

/// One vCPU pinned to a set of host CPUs, written like the kernel's CPU lists (`2`, `2-3`, `0,4-5`).
public struct CpuPin: Codable, Sendable, Hashable {
    public var vcpu: Int
    public var cpus: String

    public init(vcpu: Int, cpus: String) {
        self.vcpu = vcpu
        self.cpus = cpus
    }
}

public struct VmHugepagesParameters: Codable, Sendable, Hashable {
    public var name: String
    public var enabled: Bool
    public init(name: String, enabled: Bool) {
        self.name = name
        self.enabled = enabled
    }
}

public struct VmPinCpusParameters: Codable, Sendable, Hashable {
    public var name: String
    /// The complete set of pins; empty removes every pin.
    public var pins: [CpuPin]
    public init(name: String, pins: [CpuPin]) {
        self.name = name
        self.pins = pins
    }
}

public struct VmPassthroughParameters: Codable, Sendable, Hashable {
    public var name: String
    /// The complete set of PCI devices; empty passes none.
    public var pci: [String]
    /// The complete set of USB devices; empty passes none.
    public var usb: [String]
    public init(name: String, pci: [String], usb: [String]) {
        self.name = name
        self.pci = pci
        self.usb = usb
    }
}

/// What a host-feature method leaves the machine with.
public struct VmHostFeaturesReply: Codable, Sendable, Hashable {
    public var hostFeatures: HostFeatures
    /// The machine is running; the change takes effect when it next starts.
    public var restartNeeded: Bool
    public init(hostFeatures: HostFeatures, restartNeeded: Bool) {
        self.hostFeatures = hostFeatures
        self.restartNeeded = restartNeeded
    }
}

/// One machine the boot-time autostart handled.
public struct AutostartResult: Codable, Sendable, Hashable {
    public var name: String
    public var order: Int
    /// `started`, `running` (it already was) or `failed`.
    public var result: String
    public var reason: String?
    public init(name: String, order: Int, result: String, reason: String? = nil) {
        self.name = name
        self.order = order
        self.result = result
        self.reason = reason
    }
}

public struct HostAutostartParameters: Codable, Sendable, Hashable {
    /// Seconds to wait after each order group before the next one starts; 0 to 600.
    public var groupDelaySeconds: Int?
    public init(groupDelaySeconds: Int? = nil) { self.groupDelaySeconds = groupDelaySeconds }

    public static let delayRange = 0...600
}

public struct HostAutostartReply: Codable, Sendable, Hashable {
    public var machines: [AutostartResult]
    public init(machines: [AutostartResult]) { self.machines = machines }
}
