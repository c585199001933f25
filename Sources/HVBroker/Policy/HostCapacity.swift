import HVProtocol

/// What this host can give one machine, read when the broker starts: its online CPUs, its memory
/// and the free space where disk images go. A per-machine limit the policy file does not set
/// follows it (docs/POLICY.md), so a machine the host could never run is refused when it is made.
public struct HostCapacity: Sendable, Hashable {
    public var cpus: Int
    /// `MemTotal` of `/proc/meminfo`.
    public var memory: ByteSize
    /// Space left on the file system holding `imageDirectory`.
    public var freeDisk: ByteSize
    public var imageDirectory: String

    public init(cpus: Int, memory: ByteSize, freeDisk: ByteSize, imageDirectory: String) {
        self.cpus = cpus
        self.memory = memory
        self.freeDisk = freeDisk
        self.imageDirectory = imageDirectory
    }

    /// Reads the host through `hardware` (`/sys/devices/system/cpu/online`, `/proc/meminfo`, and
    /// statvfs of the image directory).
    public init(reading hardware: HostHardware, imageDirectory: String) throws(HVError) {
        let cpus = try hardware.onlineCPUs().count
        guard let memory = hardware.memoryInfo()?["MemTotal"] else {
            throw HVError(.failed, "cannot read the host's memory (MemTotal) from \(hardware.root)/proc/meminfo", fix: "check that /proc is mounted")
        }
        guard let free = hardware.freeSpace(at: imageDirectory) else {
            throw HVError(.failed, "cannot read the free space under \(imageDirectory)", fix: "check that the state directory exists")
        }
        self.init(cpus: cpus, memory: ByteSize(bytes: memory), freeDisk: free, imageDirectory: imageDirectory)
    }

    /// What the host keeps for itself of `size`: 1 GiB or a tenth, whichever is larger.
    public static func margin(of size: ByteSize) -> ByteSize {
        ByteSize(bytes: max(ByteSize.gibibytes(1).bytes, size.bytes / 10))
    }

    /// The per-machine limits this host allows, each within what a spec may ask at all: every
    /// online CPU; memory less the margin, in whole MiB; free disk space less the margin, in
    /// whole GiB.
    public var limits: HostPolicy.Limits {
        func lessMargin(_ size: ByteSize, inWhole unit: ByteSize) -> ByteSize {
            ByteSize(bytes: size.bytes.subtractingClamped(Self.margin(of: size).bytes) / unit.bytes * unit.bytes)
        }
        let memory = lessMargin(self.memory, inWhole: .mebibytes(1))
        let disk = lessMargin(freeDisk, inWhole: .gibibytes(1))
        let spec = HostPolicy.Limits()
        return HostPolicy.Limits(
            vcpus: min(max(cpus, SpecLimits.vcpus.lowerBound), spec.vcpus),
            memory: min(max(memory, SpecLimits.memory.lowerBound), spec.memory),
            disk: min(max(disk, SpecLimits.diskSize.lowerBound), spec.disk)
        )
    }

    /// Why each limit is what it is, by setting, for the broker's start-up log and for refusals.
    public var reasons: [String: String] {
        [
            "limits.vcpus": "the host's \(cpus) online CPUs",
            "limits.memory": "the host's \(memory.readable) of memory less \(Self.margin(of: memory).readable) kept for the host",
            "limits.disk": "the \(freeDisk.readable) free under \(imageDirectory) less \(Self.margin(of: freeDisk).readable) kept free",
        ]
    }
}
