import Glibc
import HVSystem

/// Reads the host's CPU, memory, load, network and filesystem figures from `/proc` and `statvfs`.
///
/// `collect()` blocks on file reads and `statvfs`; call it off any event-loop thread.
public struct HostCollector: Sendable {
    /// Where procfs is mounted; tests point this at a directory of fixtures.
    public var procRoot: String
    /// The unit of `/proc/stat`, `sysconf(_SC_CLK_TCK)`.
    public var ticksPerSecond: Double
    /// Measures a mounted filesystem; `statvfs` unless replaced.
    public var measure: @Sendable (ProcParser.Mount) -> FilesystemUsage?

    public init(
        procRoot: String = "/proc",
        ticksPerSecond: Double = Double(sysconf(Int32(_SC_CLK_TCK))),
        measure: @escaping @Sendable (ProcParser.Mount) -> FilesystemUsage? = HostCollector.statvfsUsage
    ) {
        self.procRoot = procRoot
        self.ticksPerSecond = ticksPerSecond
        self.measure = measure
    }

    /// Takes one sample. Filesystems that cannot be measured (unmounted meanwhile, no permission)
    /// are left out rather than failing the sample.
    public func collect() throws(MetricsError) -> HostSample {
        let cpu = try ProcParser.cpu(stat: try read("stat"), ticksPerSecond: ticksPerSecond)
        let memory = try ProcParser.memory(meminfo: try read("meminfo"))
        let load = try ProcParser.load(loadavg: try read("loadavg"))
        let devices = ProcParser.networkDevices(netDev: try read("net/dev"))
        let filesystems = ProcParser.storageMounts(mounts: try read("self/mounts")).compactMap(measure)
        return HostSample(
            cpus: cpu.cpus, cpu: cpu.times, memoryTotalBytes: memory.totalBytes,
            memoryAvailableBytes: memory.availableBytes, load1: load.one, load5: load.five, load15: load.fifteen,
            networkDevices: devices, filesystems: filesystems
        )
    }

    /// Reads a procfs file. Their reported size is 0, so read until end of file.
    func read(_ relativePath: String) throws(MetricsError) -> String {
        let path = procRoot + "/" + relativePath
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        let file: Descriptor
        do {
            file = try Descriptor.open(path, O_RDONLY)
        } catch {
            throw MetricsError(.procUnreadable, error.description)
        }
        while true {
            let count: Int
            do {
                count = try file.read(into: &chunk)
            } catch {
                throw MetricsError(.procUnreadable, error.description)
            }
            if count == 0 { break }
            contents.append(contentsOf: chunk[0..<count])
            // procfs files stay small; anything larger than this is not one of them.
            guard contents.count <= 16 << 20 else {
                throw MetricsError(.procMalformed, "\(path) is larger than 16 MiB")
            }
        }
        return String(decoding: contents, as: UTF8.self)
    }

    /// Measures a filesystem with `statvfs`; nil when it cannot be measured or reports no blocks.
    @Sendable public static func statvfsUsage(_ mount: ProcParser.Mount) -> FilesystemUsage? {
        var info = statvfs()
        guard statvfs(mount.mountpoint, &info) == 0, info.f_blocks > 0 else { return nil }
        let fragment = Double(info.f_frsize)
        return FilesystemUsage(
            mountpoint: mount.mountpoint, device: mount.device, fstype: mount.fstype,
            sizeBytes: Double(info.f_blocks) * fragment, freeBytes: Double(info.f_bfree) * fragment,
            availableBytes: Double(info.f_bavail) * fragment
        )
    }
}
