import HVMetrics
import HVProtocol

/// Small, readable inputs shared by the metrics tests.
enum Fixtures {
    static let stat = """
        cpu  1000 20 300 8000 100 5 15 10 0 0
        cpu0 500 10 150 4000 50 3 7 5 0 0
        cpu1 500 10 150 4000 50 2 8 5 0 0
        intr 12345 0 0
        ctxt 999
        btime 1700000000
        processes 4242

        """

    static let meminfo = """
        MemTotal:       16384000 kB
        MemFree:         1024000 kB
        MemAvailable:    4096000 kB
        Buffers:          100000 kB

        """

    static let loadavg = "0.52 0.58 0.59 2/1234 56789\n"

    static let netDev = """
        Inter-|   Receive                                                |  Transmit
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
            lo:   16623     411    0    0    0     0          0         0    16623     411    0    0    0     0       0          0
          eth0: 177229225    3846    3    0    0     0          0         0   204470    2498    4    0    0     0       0          0
        virbr0:1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0
         vnet0:   500       5    0    0    0     0          0         0      700       7    0    0    0     0       0          0

        """

    static let mounts = """
        proc /proc proc rw,relatime 0 0
        sysfs /sys sysfs rw,relatime 0 0
        tmpfs /run tmpfs rw,nosuid,nodev 0 0
        /dev/vda1 / ext4 rw,relatime 0 0
        /dev/vda1 /srv/bind ext4 rw,relatime 0 0
        /dev/vdb /var/lib/my\\040disk xfs rw,relatime 0 0
        /dev/vdc /mnt/we"ird\\134name\\012x btrfs rw 0 0
        tank/vms /tank/vms zfs rw,xattr 0 0
        overlay /var/lib/containers overlay rw 0 0

        """

    static func host(
        user: Double = 10, idle: Double = 80, receive: Double = 1000, transmit: Double = 2000
    ) -> HostSample {
        HostSample(
            cpus: 2,
            cpu: CPUTimes(user: user, nice: 0, system: 5, idle: idle, iowait: 5, irq: 0, softirq: 0, steal: 0),
            memoryTotalBytes: Double(8 << 30), memoryAvailableBytes: Double(2 << 30), load1: 0.5, load5: 0.25,
            load15: 0.125,
            networkDevices: [
                NetworkDeviceCounters(
                    device: "eth0", receiveBytes: receive, transmitBytes: transmit, receiveErrors: 1, transmitErrors: 0),
                NetworkDeviceCounters(
                    device: "virbr0", receiveBytes: receive * 10, transmitBytes: transmit * 10, receiveErrors: 0,
                    transmitErrors: 0),
            ],
            filesystems: [
                FilesystemUsage(
                    mountpoint: "/", device: "/dev/vda1", fstype: "ext4", sizeBytes: 100, freeBytes: 30,
                    availableBytes: 20
                )
            ]
        )
    }

    static func domain(
        _ name: String = "web1", uuid: String = "11111111-2222-3333-4444-555555555555", state: String = "running",
        cpuTimeNs: Int64? = 10_000_000_000, readBytes: Int64? = 4096, receivedBytes: Int64 = 1000
    ) -> DomainStats {
        let running = state == "running"
        return DomainStats(
            name: name, uuid: uuid, state: state, stateReason: running ? "booted" : "shutdown", autostart: true,
            vcpus: 2, cpuTimeNs: running ? cpuTimeNs : nil, memoryMaxKiB: 1_048_576,
            memoryCurrentKiB: running ? 1_048_576 : nil, memoryRssKiB: running ? 524_288 : nil,
            memoryUsableKiB: running ? 900_000 : nil,
            disks: [
                DiskStats(
                    target: "vda", capacityBytes: 10 << 30, allocationBytes: 2 << 30,
                    readBytes: running ? readBytes : nil,
                    writtenBytes: running ? 8192 : nil, readRequests: running ? 10 : nil,
                    writeRequests: running ? 20 : nil
                )
            ],
            interfaces: running
                ? [
                    InterfaceStats(
                        name: "vnet0", receivedBytes: receivedBytes, transmittedBytes: 700, receivedPackets: 5,
                        transmittedPackets: 7, receiveErrors: 0, transmitErrors: 0, receiveDrops: 0, transmitDrops: 0
                    )
                ] : []
        )
    }

    static func stats(_ domains: [DomainStats]) -> HostStatsReply {
        HostStatsReply(
            domains: domains,
            pools: [
                PoolStats(name: "default", active: true, capacityBytes: 1000, allocationBytes: 250, availableBytes: 750)
            ],
            networks: [NetworkStatus(name: "default", active: true, autostart: false, bridge: "virbr0")]
        )
    }
}

extension [MetricSample] {
    /// The values of the samples with this name and these labels.
    func values(_ name: String, _ labels: [String: String] = [:]) -> [Double] {
        filter { $0.name == name && $0.labels == labels }.map(\.value)
    }

    func named(_ name: String) -> [MetricSample] { filter { $0.name == name } }
}
