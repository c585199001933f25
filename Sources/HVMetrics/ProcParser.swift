/// Parsers for the `/proc` files the host collector reads. Each takes the file's text, so tests feed
/// fixtures and the collector feeds the real files.
public enum ProcParser {
    /// The aggregate `cpu` line of `/proc/stat` as seconds per mode, and the number of `cpuN` lines.
    /// - Parameter ticksPerSecond: `sysconf(_SC_CLK_TCK)`, the unit of `/proc/stat`.
    public static func cpu(stat: String, ticksPerSecond: Double) throws(MetricsError) -> (cpus: Int, times: CPUTimes) {
        var aggregate: [Double]?
        var cpus = 0
        for line in stat.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first, first.hasPrefix("cpu") else { continue }
            if first == "cpu" {
                aggregate = fields.dropFirst().compactMap { Double($0) }
            } else if Int(first.dropFirst(3)) != nil {
                cpus += 1
            }
        }
        guard let ticks = aggregate, ticks.count >= 4, ticksPerSecond > 0 else {
            throw MetricsError(.procMalformed, "/proc/stat has no aggregate cpu line with at least four fields")
        }
        func seconds(_ index: Int) -> Double { index < ticks.count ? ticks[index] / ticksPerSecond : 0 }
        let times = CPUTimes(
            user: seconds(0), nice: seconds(1), system: seconds(2), idle: seconds(3), iowait: seconds(4),
            irq: seconds(5),
            softirq: seconds(6), steal: seconds(7)
        )
        return (max(cpus, 1), times)
    }

    /// `MemTotal` and `MemAvailable` from `/proc/meminfo`, in bytes.
    public static func memory(meminfo: String) throws(MetricsError) -> (totalBytes: Double, availableBytes: Double) {
        var values: [Substring: Double] = [:]
        for line in meminfo.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            guard key == "MemTotal" || key == "MemAvailable" else { continue }
            let fields = line[line.index(after: colon)...].split(separator: " ")
            guard let number = fields.first.flatMap({ Double($0) }) else { continue }
            let multiplier: Double = fields.count > 1 && fields[1] == "kB" ? 1024 : 1
            values[key] = number * multiplier
        }
        guard let total = values["MemTotal"], let available = values["MemAvailable"] else {
            throw MetricsError(
                .procMalformed, "/proc/meminfo lacks MemTotal or MemAvailable",
                fix: "run on Linux 3.14 or newer, which reports MemAvailable"
            )
        }
        return (total, available)
    }

    /// The three load averages from `/proc/loadavg`.
    public static func load(loadavg: String) throws(MetricsError) -> (one: Double, five: Double, fifteen: Double) {
        let fields = loadavg.split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(3).compactMap { Double($0) }
        guard fields.count == 3 else {
            throw MetricsError(.procMalformed, "/proc/loadavg does not start with three numbers")
        }
        return (fields[0], fields[1], fields[2])
    }

    /// Per-device counters from `/proc/net/dev`, without the loopback device.
    public static func networkDevices(netDev: String) -> [NetworkDeviceCounters] {
        netDev.split(separator: "\n").compactMap { line -> NetworkDeviceCounters? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let device = line[..<colon].trimmingSpaces()
            let numbers = line[line.index(after: colon)...].split(separator: " ").compactMap { Double($0) }
            // Receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs …
            guard !device.isEmpty, device != "lo", numbers.count >= 11 else { return nil }
            return NetworkDeviceCounters(
                device: String(device), receiveBytes: numbers[0], transmitBytes: numbers[8],
                receiveErrors: numbers[2], transmitErrors: numbers[10]
            )
        }
    }

    /// One line of `/proc/self/mounts`.
    public struct Mount: Sendable, Hashable {
        public var device: String
        public var mountpoint: String
        public var fstype: String

        public init(device: String, mountpoint: String, fstype: String) {
            self.device = device
            self.mountpoint = mountpoint
            self.fstype = fstype
        }
    }

    /// Filesystem types that hold data on a disk (or a pool of disks). Pseudo filesystems (proc,
    /// sysfs, tmpfs, cgroup, overlay…) and network filesystems, whose `statvfs` can hang, are left out.
    public static let storageFilesystemTypes: Set<String> = [
        "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "bcachefs", "vfat", "exfat", "f2fs", "ntfs", "ntfs3", "jfs",
        "reiserfs", "hfsplus",
    ]

    /// The storage filesystems of `/proc/self/mounts`, one per device (the first mount of a device
    /// wins, so btrfs subvolumes and bind mounts are counted once). Octal escapes (`\040` for a
    /// space, `\012` for a newline) are decoded.
    public static func storageMounts(mounts: String) -> [Mount] {
        var seen: Set<String> = []
        var result: [Mount] = []
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let mount = Mount(
                device: unescape(fields[0]), mountpoint: unescape(fields[1]), fstype: String(fields[2])
            )
            guard storageFilesystemTypes.contains(mount.fstype), seen.insert(mount.device).inserted else { continue }
            result.append(mount)
        }
        return result
    }

    /// Decodes the kernel's `\ooo` octal escapes in a mounts field.
    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
                let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        let start = firstIndex(where: { $0 != " " }) ?? endIndex
        let end = lastIndex(where: { $0 != " " }).map { index(after: $0) } ?? start
        return start < end ? self[start..<end] : self[start..<start]
    }
}
