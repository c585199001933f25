import HVProtocol

/// What this host can give one machine, read when the broker starts: its online CPUs, its memory
/// and the free space where disk images go; and the size of the disk the ISO library is on. A
/// per-machine limit the policy file does not set follows it (docs/POLICY.md), so a machine the
/// host could never run is refused when it is made, and so does the library's total.
public struct HostCapacity: Sendable, Hashable {
    public var cpus: Int
    /// `MemTotal` of `/proc/meminfo`.
    public var memory: ByteSize
    /// Space left on the file system holding `imageDirectory`.
    public var freeDisk: ByteSize
    public var imageDirectory: String
    /// The size of the file system holding `isoDirectory`.
    public var libraryDisk: ByteSize
    public var isoDirectory: String

    public init(cpus: Int, memory: ByteSize, freeDisk: ByteSize, imageDirectory: String, libraryDisk: ByteSize, isoDirectory: String) {
        self.cpus = cpus
        self.memory = memory
        self.freeDisk = freeDisk
        self.imageDirectory = imageDirectory
        self.libraryDisk = libraryDisk
        self.isoDirectory = isoDirectory
    }

    /// Reads the host through `hardware` (`/sys/devices/system/cpu/online`, `/proc/meminfo`, and
    /// statvfs of the image and ISO directories).
    public init(reading hardware: HostHardware, imageDirectory: String, isoDirectory: String) throws(HVError) {
        let cpus = try hardware.onlineCPUs().count
        guard let memory = hardware.memoryInfo()?["MemTotal"] else {
            throw HVError(.failed, "cannot read the host's memory (MemTotal) from \(hardware.root)/proc/meminfo", fix: "check that /proc is mounted")
        }
        guard let free = hardware.freeSpace(at: imageDirectory), let libraryDisk = hardware.fileSystemSize(at: isoDirectory) else {
            throw HVError(.failed, "cannot read the file systems under \(imageDirectory) and \(isoDirectory)", fix: "check that the state directory exists")
        }
        self.init(
            cpus: cpus, memory: ByteSize(bytes: memory), freeDisk: free, imageDirectory: imageDirectory, libraryDisk: libraryDisk,
            isoDirectory: isoDirectory
        )
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

    /// What the ISO library may hold in all (`iso.max_total`): a quarter of the file system it is
    /// on, in whole MiB, so installation images alone never fill the disk machines need. It
    /// follows the disk's size, not what is free, so it does not shrink as machines' disks grow.
    public var isoTotal: ByteSize {
        ByteSize(bytes: libraryDisk.bytes / 4 / ByteSize.mebibytes(1).bytes * ByteSize.mebibytes(1).bytes)
    }

    /// Why each limit is what it is, by setting, for the broker's start-up log and for refusals.
    public var reasons: [String: String] {
        [
            "limits.vcpus": "the host's \(cpus) online CPUs",
            "limits.memory": "the host's \(memory.readable) of memory less \(Self.margin(of: memory).readable) kept for the host",
            "limits.disk": "the \(freeDisk.readable) free under \(imageDirectory) less \(Self.margin(of: freeDisk).readable) kept free",
            "iso.max_total": "a quarter of the \(libraryDisk.readable) file system holding \(isoDirectory)",
        ]
    }
}
