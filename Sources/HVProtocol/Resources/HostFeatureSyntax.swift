/// The forms of CPU lists, PCI addresses and USB ids a caller may send, checked before polkit is
/// asked. Whether they exist on this host is the broker's check (`HostHardware`).
public enum HostFeatureSyntax {
    public static let maximumPins = SpecLimits.vcpus.upperBound
    public static let maximumDevices = 16
    /// The largest host CPU number accepted in a CPU list (the kernel's default NR_CPUS is 8192).
    public static let maximumCPU = 8191

    /// The CPUs of a list such as `0-3,8`, sorted; throws naming `field` when it is malformed.
    public static func cpus(_ text: String, field: String) throws(HVError) -> [Int] {
        let fix = "write CPU numbers and ranges separated by commas, such as '2', '2-3' or '0,4-5'; "
            + "'hv host info' shows how many CPUs the host has"
        guard !text.isEmpty, text.utf8.count <= 256 else {
            throw .invalidParameter(field, "\(field): a CPU list must be 1 to 256 characters", fix: fix)
        }
        var cpus = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            let numbers = bounds.compactMap { $0.utf8.allSatisfy({ (48...57).contains($0) }) ? Int($0) : nil }
            guard (1...2).contains(bounds.count), numbers.count == bounds.count else {
                throw .invalidParameter(field, "\(field): '\(VmName.printable(text))' is not a CPU list", fix: fix)
            }
            let low = numbers[0]
            let high = numbers.last ?? low
            guard low <= high else {
                throw .invalidParameter(field, "\(field): the range \(low)-\(high) runs backwards", fix: "write it as \(high)-\(low)")
            }
            guard high <= maximumCPU else {
                throw .invalidParameter(field, "\(field): CPU \(high) is beyond \(maximumCPU)", fix: fix)
            }
            cpus.formUnion(low...high)
        }
        return cpus.sorted()
    }

    /// The kernel's compact spelling of a CPU set: `[0, 1, 2, 5]` is `0-2,5`.
    public static func cpuList(_ cpus: [Int]) -> String {
        var parts: [String] = []
        var index = 0
        let sorted = Array(Set(cpus)).sorted()
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            parts.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    /// A PCI address in full, lower-case form (`0000:01:00.0`); `01:00.0` means domain 0000.
    public static func pciAddress(_ text: String, field: String) throws(HVError) -> String {
        let lowered = text.lowercased()
        let full = lowered.split(separator: ":").count == 2 ? "0000:" + lowered : lowered
        let parts = full.split(separator: ":", omittingEmptySubsequences: false)
        let slotFunction = parts.count == 3 ? parts[2].split(separator: ".", omittingEmptySubsequences: false) : []
        guard parts.count == 3, slotFunction.count == 2, parts[0].utf8.count == 4, parts[1].utf8.count == 2,
            slotFunction[0].utf8.count == 2, slotFunction[1].utf8.count == 1,
            let slot = UInt8(slotFunction[0], radix: 16), slot <= 0x1f,
            let function = UInt8(slotFunction[1], radix: 16), function <= 7,
            UInt16(parts[0], radix: 16) != nil, UInt8(parts[1], radix: 16) != nil,
            full.utf8.allSatisfy({ isHex($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
        else {
            throw .invalidParameter(
                field, "\(field): '\(VmName.printable(text))' is not a PCI address",
                fix: "write it as lspci shows it, DOMAIN:BUS:SLOT.FUNCTION such as 0000:01:00.0 (or 01:00.0); "
                    + "the slot is 00-1f and the function 0-7"
            )
        }
        return full
    }

    /// A USB device id in lower-case `vendor:product` form (`046d:c52b`).
    public static func usbID(_ text: String, field: String) throws(HVError) -> String {
        let parts = text.lowercased().split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.utf8.count == 4 && $0.utf8.allSatisfy(isHex) }) else {
            throw .invalidParameter(
                field, "\(field): '\(VmName.printable(text))' is not a USB device id",
                fix: "write VENDOR:PRODUCT as lsusb shows it, four hex digits each, such as 046d:c52b"
            )
        }
        return text.lowercased()
    }

    /// Checks and canonicalizes a complete set of pins: vCPUs unique, lists well-formed.
    public static func pins(_ pins: [CpuPin]) throws(HVError) -> [CpuPin] {
        guard pins.count <= maximumPins else {
            throw .invalidParameter("pins", "at most \(maximumPins) pins, one per vCPU; got \(pins.count)")
        }
        var seen = Set<Int>()
        var result: [CpuPin] = []
        for (index, pin) in pins.enumerated() {
            let field = "pins[\(index)]"
            guard (0..<SpecLimits.vcpus.upperBound).contains(pin.vcpu) else {
                throw .invalidParameter(
                    "\(field).vcpu", "\(field).vcpu: \(pin.vcpu) is not a vCPU number (0 to \(SpecLimits.vcpus.upperBound - 1))"
                )
            }
            guard seen.insert(pin.vcpu).inserted else {
                throw .invalidParameter("\(field).vcpu", "\(field).vcpu: vCPU \(pin.vcpu) is pinned twice", fix: "give each vCPU one CPU list")
            }
            result.append(CpuPin(vcpu: pin.vcpu, cpus: cpuList(try cpus(pin.cpus, field: "\(field).cpus"))))
        }
        return result.sorted { $0.vcpu < $1.vcpu }
    }

    /// Checks and canonicalizes device lists: well-formed, each named once, at most 16 of each.
    public static func devices(pci: [String], usb: [String]) throws(HVError) -> (pci: [String], usb: [String]) {
        guard pci.count <= maximumDevices, usb.count <= maximumDevices else {
            throw .invalidParameter(pci.count > maximumDevices ? "pci" : "usb", "at most \(maximumDevices) devices of each kind")
        }
        var pciResult: [String] = []
        for (index, text) in pci.enumerated() {
            let address = try pciAddress(text, field: "pci[\(index)]")
            guard !pciResult.contains(address) else {
                throw .invalidParameter("pci[\(index)]", "pci[\(index)]: \(address) is listed twice", fix: "name each device once")
            }
            pciResult.append(address)
        }
        var usbResult: [String] = []
        for (index, text) in usb.enumerated() {
            let id = try usbID(text, field: "usb[\(index)]")
            guard !usbResult.contains(id) else {
                throw .invalidParameter("usb[\(index)]", "usb[\(index)]: \(id) is listed twice", fix: "name each device once")
            }
            usbResult.append(id)
        }
        return (pciResult, usbResult)
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (97...102).contains(byte) || (65...70).contains(byte)
    }
}
