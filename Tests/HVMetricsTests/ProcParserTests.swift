import Foundation
import HVMetrics
import Testing

@Suite struct ProcParserTests {
    @Test func cpuSecondsPerModeAndCount() throws {
        let (cpus, times) = try ProcParser.cpu(stat: Fixtures.stat, ticksPerSecond: 100)
        #expect(cpus == 2)
        #expect(times.user == 10)
        #expect(times.nice == 0.2)
        #expect(times.system == 3)
        #expect(times.idle == 80)
        #expect(times.iowait == 1)
        #expect(times.irq == 0.05)
        #expect(times.softirq == 0.15)
        #expect(times.steal == 0.1)
        #expect(times.modes.map(\.mode) == ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"])
    }

    @Test func cpuWithoutAggregateLineFails() {
        #expect(throws: MetricsError.self) { try ProcParser.cpu(stat: "intr 1\n", ticksPerSecond: 100) }
    }

    @Test func memoryInBytes() throws {
        let memory = try ProcParser.memory(meminfo: Fixtures.meminfo)
        #expect(memory.totalBytes == 16_384_000 * 1024)
        #expect(memory.availableBytes == 4_096_000 * 1024)
    }

    @Test func memoryWithoutAvailableFails() {
        let error = #expect(throws: MetricsError.self) { try ProcParser.memory(meminfo: "MemTotal: 10 kB\n") }
        #expect(error?.code == .procMalformed)
    }

    @Test func loadAverages() throws {
        let load = try ProcParser.load(loadavg: Fixtures.loadavg)
        #expect(load.one == 0.52 && load.five == 0.58 && load.fifteen == 0.59)
        #expect(throws: MetricsError.self) { try ProcParser.load(loadavg: "garbage") }
    }

    @Test func networkDevicesSkipLoopbackAndReadErrors() {
        let devices = ProcParser.networkDevices(netDev: Fixtures.netDev)
        #expect(devices.map(\.device) == ["eth0", "virbr0", "vnet0"])
        #expect(
            devices[0]
                == NetworkDeviceCounters(
                    device: "eth0", receiveBytes: 177_229_225, transmitBytes: 204_470, receiveErrors: 3,
                    transmitErrors: 4))
        // No space after the colon, as older kernels print large counters.
        #expect(devices[1].receiveBytes == 1000 && devices[1].transmitBytes == 2000)
    }

    @Test func storageMountsAreDedupedUnescapedAndFiltered() {
        let mounts = ProcParser.storageMounts(mounts: Fixtures.mounts)
        #expect(
            mounts == [
                .init(device: "/dev/vda1", mountpoint: "/", fstype: "ext4"),
                .init(device: "/dev/vdb", mountpoint: "/var/lib/my disk", fstype: "xfs"),
                .init(device: "/dev/vdc", mountpoint: "/mnt/we\"ird\\name\nx", fstype: "btrfs"),
                .init(device: "tank/vms", mountpoint: "/tank/vms", fstype: "zfs"),
            ]
        )
    }

    @Test func collectorReadsAnInjectedProcRoot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("net"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("self"), withIntermediateDirectories: true)
        for (path, text) in [
            ("stat", Fixtures.stat), ("meminfo", Fixtures.meminfo), ("loadavg", Fixtures.loadavg),
            ("net/dev", Fixtures.netDev), ("self/mounts", Fixtures.mounts),
        ] {
            try text.write(to: root.appendingPathComponent(path), atomically: true, encoding: .utf8)
        }
        let collector = HostCollector(procRoot: root.path, ticksPerSecond: 100) { mount in
            mount.fstype == "zfs"
                ? nil
                : FilesystemUsage(
                    mountpoint: mount.mountpoint, device: mount.device, fstype: mount.fstype, sizeBytes: 1000,
                    freeBytes: 400, availableBytes: 300
                )
        }
        let sample = try collector.collect()
        #expect(sample.cpus == 2)
        #expect(sample.cpu.user == 10)
        #expect(sample.memoryAvailableBytes == 4_096_000 * 1024)
        #expect(sample.load15 == 0.59)
        #expect(sample.networkDevices.count == 3)
        #expect(sample.filesystems.map(\.mountpoint) == ["/", "/var/lib/my disk", "/mnt/we\"ird\\name\nx"])
        #expect(sample.filesystems[0].usedRatio == 600.0 / 900.0)
    }

    @Test func collectorReportsAMissingProcFile() {
        let collector = HostCollector(procRoot: "/nonexistent-proc")
        let error = #expect(throws: MetricsError.self) { try collector.collect() }
        #expect(error?.code == .procUnreadable)
    }

    @Test func collectorReadsTheRealHost() throws {
        let sample = try HostCollector().collect()
        #expect(sample.cpus >= 1)
        #expect(sample.memoryTotalBytes > 0)
        #expect(sample.cpu.total > 0)
        #expect(!sample.networkDevices.contains { $0.device == "lo" })
        #expect(sample.filesystems.allSatisfy { $0.sizeBytes > 0 && $0.availableBytes <= $0.sizeBytes })
    }
}
