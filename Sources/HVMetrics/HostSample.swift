/// Cumulative CPU time per mode, summed over all CPUs, in seconds since boot (from `/proc/stat`).
public struct CPUTimes: Sendable, Hashable, Codable {
    public var user: Double
    public var nice: Double
    public var system: Double
    public var idle: Double
    public var iowait: Double
    public var irq: Double
    public var softirq: Double
    public var steal: Double

    public init(
        user: Double, nice: Double, system: Double, idle: Double, iowait: Double, irq: Double, softirq: Double,
        steal: Double
    ) {
        self.user = user
        self.nice = nice
        self.system = system
        self.idle = idle
        self.iowait = iowait
        self.irq = irq
        self.softirq = softirq
        self.steal = steal
    }

    /// Each mode with the label value it is exported under, in `/proc/stat` order.
    public var modes: [(mode: String, seconds: Double)] {
        [
            ("user", user), ("nice", nice), ("system", system), ("idle", idle), ("iowait", iowait), ("irq", irq),
            ("softirq", softirq), ("steal", steal),
        ]
    }

    /// All modes together.
    public var total: Double { modes.reduce(0) { $0 + $1.seconds } }

    /// Time the CPUs did work: everything except idle and iowait.
    public var busy: Double { total - idle - iowait }
}

/// One network device's counters from `/proc/net/dev`.
public struct NetworkDeviceCounters: Sendable, Hashable, Codable {
    public var device: String
    public var receiveBytes: Double
    public var transmitBytes: Double
    public var receiveErrors: Double
    public var transmitErrors: Double

    public init(
        device: String, receiveBytes: Double, transmitBytes: Double, receiveErrors: Double, transmitErrors: Double
    ) {
        self.device = device
        self.receiveBytes = receiveBytes
        self.transmitBytes = transmitBytes
        self.receiveErrors = receiveErrors
        self.transmitErrors = transmitErrors
    }
}

/// One mounted filesystem's space, from `statvfs`.
public struct FilesystemUsage: Sendable, Hashable, Codable {
    public var mountpoint: String
    public var device: String
    public var fstype: String
    /// The filesystem's size.
    public var sizeBytes: Double
    /// Free space, including the blocks reserved for root.
    public var freeBytes: Double
    /// Free space an unprivileged user can use.
    public var availableBytes: Double

    public init(
        mountpoint: String, device: String, fstype: String, sizeBytes: Double, freeBytes: Double, availableBytes: Double
    ) {
        self.mountpoint = mountpoint
        self.device = device
        self.fstype = fstype
        self.sizeBytes = sizeBytes
        self.freeBytes = freeBytes
        self.availableBytes = availableBytes
    }

    /// The share in use as `df` computes it: used / (used + available to users); nil for an empty filesystem.
    public var usedRatio: Double? {
        let used = sizeBytes - freeBytes
        let usable = used + availableBytes
        return usable > 0 ? used / usable : nil
    }
}

/// What the host looked like at one moment: CPU, memory, load, network devices and filesystems.
public struct HostSample: Sendable, Hashable, Codable {
    /// Online CPUs (the `cpuN` lines of `/proc/stat`).
    public var cpus: Int
    public var cpu: CPUTimes
    public var memoryTotalBytes: Double
    /// `MemAvailable`: what can be given to new work without swapping.
    public var memoryAvailableBytes: Double
    public var load1: Double
    public var load5: Double
    public var load15: Double
    /// Every device except `lo`.
    public var networkDevices: [NetworkDeviceCounters]
    public var filesystems: [FilesystemUsage]

    public init(
        cpus: Int, cpu: CPUTimes, memoryTotalBytes: Double, memoryAvailableBytes: Double, load1: Double, load5: Double,
        load15: Double, networkDevices: [NetworkDeviceCounters], filesystems: [FilesystemUsage]
    ) {
        self.cpus = cpus
        self.cpu = cpu
        self.memoryTotalBytes = memoryTotalBytes
        self.memoryAvailableBytes = memoryAvailableBytes
        self.load1 = load1
        self.load5 = load5
        self.load15 = load15
        self.networkDevices = networkDevices
        self.filesystems = filesystems
    }

    /// Memory in use: total minus available.
    public var memoryUsedBytes: Double { memoryTotalBytes - memoryAvailableBytes }

    /// Memory in use as a share of the total; nil when the total is unknown.
    public var memoryUsedRatio: Double? {
        memoryTotalBytes > 0 ? memoryUsedBytes / memoryTotalBytes : nil
    }
}
