import Foundation
import HVProtocol

/// What the host has to give machines, read from `/sys` and `/proc`: online CPUs, memory,
/// reserved hugepages, free disk space, PCI devices with their IOMMU groups, and plugged-in USB
/// devices.
///
/// `root` is `/` on a real host; tests point it at a directory laid out the same way.
public struct HostHardware: Sendable {
    public var root: String

    public init(root: String = "/") {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// The CPUs the kernel has online (`/sys/devices/system/cpu/online`).
    public func onlineCPUs() throws(HVError) -> Set<Int> {
        let path = root + "/sys/devices/system/cpu/online"
        guard let text = read(path) else {
            throw HVError(.failed, "cannot read the host's online CPUs from \(path)", fix: "check that /sys is mounted")
        }
        return Set(try HostFeatureSyntax.cpus(text, field: "online"))
    }

    /// The default hugepage size and how many such pages the host reserves (`/proc/meminfo`).
    public func hugepages() -> (pageSize: ByteSize, total: UInt64)? {
        guard let memory = memoryInfo(), let size = memory["Hugepagesize"], let total = memory["HugePages_Total"] else { return nil }
        return (ByteSize(bytes: size), total)
    }

    /// `/proc/meminfo` by field name: sizes in bytes (`MemTotal`, `MemAvailable`, `Hugepagesize`),
    /// page counts as they are (`HugePages_Total`, `HugePages_Free`); nil when it can't be read.
    public func memoryInfo() -> [String: UInt64]? {
        guard let text = read(root + "/proc/meminfo") else { return nil }
        var fields: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == ":" })
            guard parts.count >= 2, let value = UInt64(parts[1]) else { continue }
            fields[String(parts[0])] = parts.count >= 3 && parts[2] == "kB" ? value * 1024 : value
        }
        return fields
    }

    /// The space left for files on the file system holding `directory` (or its nearest existing
    /// parent); nil when statvfs fails.
    public func freeSpace(at directory: String) -> ByteSize? {
        fileSystem(at: directory).map { ByteSize(bytes: UInt64($0.f_bavail) * UInt64($0.f_frsize)) }
    }

    /// The size of the file system holding `directory` (or its nearest existing parent); nil
    /// when statvfs fails.
    public func fileSystemSize(at directory: String) -> ByteSize? {
        fileSystem(at: directory).map { ByteSize(bytes: UInt64($0.f_blocks) * UInt64($0.f_frsize)) }
    }

    private func fileSystem(at directory: String) -> statvfs? {
        var path = root + directory
        var info = statvfs()
        while statvfs(path, &info) != 0 {
            guard errno == ENOENT, path.count > 1, path != root else { return nil }
            path = (path as NSString).deletingLastPathComponent
        }
        return info
    }

    /// A PCI device as the kernel lists it.
    public struct PciDevice: Sendable, Hashable {
        /// The 24-bit class code (`0x030000` is a VGA controller, `0x06xxxx` a bridge).
        public var classCode: UInt32?
        /// The IOMMU group number; nil when the IOMMU is off.
        public var iommuGroup: String?
    }

    /// The PCI device at a full address (`0000:01:00.0`); nil when there is none.
    public func pciDevice(_ address: String) -> PciDevice? {
        let directory = root + "/sys/bus/pci/devices/" + address
        guard FileManager.default.fileExists(atPath: directory) else { return nil }
        let classCode = read(directory + "/class").flatMap { UInt32($0.dropFirst(2), radix: 16) }
        let group = (try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/iommu_group"))
            .map { ($0 as NSString).lastPathComponent }
        return PciDevice(classCode: classCode, iommuGroup: group)
    }

    /// Whether a USB device with this `vendor:product` id is plugged in.
    public func usbDevicePresent(_ id: String) -> Bool {
        let directory = root + "/sys/bus/usb/devices"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.contains { entry in
            guard let vendor = read(directory + "/" + entry + "/idVendor"),
                let product = read(directory + "/" + entry + "/idProduct")
            else { return false }
            return "\(vendor.lowercased()):\(product.lowercased())" == id
        }
    }

    private func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
