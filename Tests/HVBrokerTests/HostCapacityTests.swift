import Foundation
import HVBroker
import HVProtocol
import Testing

/// Without a policy setting, the per-machine limits follow the host.
struct HostCapacityTests {
    static let imageDirectory = "/var/lib/hypervisor/images"
    static let isoDirectory = "/var/lib/hypervisor/isos"
    /// A 24 GiB, 2-CPU host with 100 GiB free where the images go, and the ISO library on a 200 GiB disk.
    static let host = HostCapacity(
        cpus: 2, memory: .gibibytes(24), freeDisk: .gibibytes(100), imageDirectory: imageDirectory, libraryDisk: .gibibytes(200),
        isoDirectory: isoDirectory
    )

    @Test func capacityIsReadFromProcSysAndTheImageFileSystem() throws {
        let fake = try FakeHost()
        let capacity = try HostCapacity(
            reading: HostHardware(root: fake.root), imageDirectory: Self.imageDirectory, isoDirectory: Self.isoDirectory
        )
        #expect(capacity.cpus == 4)
        #expect(capacity.memory == ByteSize.kibibytes(24_000_000))
        #expect(capacity.freeDisk.bytes > 0, "statvfs of the nearest existing directory under the fake root")
        #expect(capacity.libraryDisk >= capacity.freeDisk, "the file system's size, not what is free on it")
        #expect(capacity.imageDirectory == Self.imageDirectory && capacity.isoDirectory == Self.isoDirectory)
    }

    @Test func unreadableHostIsAnErrorNotAGuess() throws {
        let fake = try FakeHost()
        try FileManager.default.removeItem(atPath: fake.root + "/proc/meminfo")
        #expect(throws: HVError.self) {
            try HostCapacity(reading: HostHardware(root: fake.root), imageDirectory: Self.imageDirectory, isoDirectory: Self.isoDirectory)
        }
    }

    @Test(arguments: [
        // cpus, memory, free disk → vCPUs, memory, disk
        (2, ByteSize.gibibytes(24), ByteSize.gibibytes(100), 2, ByteSize.mebibytes(22118), ByteSize.gibibytes(90)),
        (8, .gibibytes(4), .gibibytes(5), 8, .gibibytes(3), .gibibytes(4)),
        (1, .mebibytes(512), .mebibytes(300), 1, .mebibytes(64), .gibibytes(1)),
        (256, .tebibytes(4), .tebibytes(40), 64, .tebibytes(1), .tebibytes(16)),
    ])
    func limitsKeepAMarginForTheHost(
        cpus: Int, memory: ByteSize, free: ByteSize, vcpus: Int, memoryLimit: ByteSize, diskLimit: ByteSize
    ) {
        let limits = HostCapacity(
            cpus: cpus, memory: memory, freeDisk: free, imageDirectory: Self.imageDirectory, libraryDisk: .gibibytes(1),
            isoDirectory: Self.isoDirectory
        ).limits
        #expect(limits == HostPolicy.Limits(vcpus: vcpus, memory: memoryLimit, disk: diskLimit))
    }

    @Test func missingPolicyFileFollowsTheHost() throws {
        let policy = try HostPolicy.load(path: "/nonexistent/policy.yaml", host: Self.host)
        #expect(policy.limits == Self.host.limits)
        #expect(policy.limits.memory < .tebibytes(1))
        #expect(Set(policy.hostDerived.keys) == ["limits.vcpus", "limits.memory", "limits.disk", "iso.max_total"])
        #expect(policy.hostDerived["limits.memory"] == "the host's 24 GiB of memory less 2.4 GiB kept for the host")
        #expect(policy.iso.maxTotal == .gibibytes(50))
        #expect(policy.hostDerived["iso.max_total"] == "a quarter of the 200 GiB file system holding /var/lib/hypervisor/isos")
        #expect(try HostPolicy.parse("", host: Self.host).limits == Self.host.limits, "an empty file too")
    }

    @Test func aPolicyFileSetsWhatItNamesAndTheRestFollowsTheHost() throws {
        let policy = try HostPolicy.parse("limits: {memory: 1TiB}\ngroups: {lab: {vms: 2}}\n", host: Self.host)
        #expect(policy.limits == HostPolicy.Limits(vcpus: 2, memory: .tebibytes(1), disk: .gibibytes(90)))
        #expect(Set(policy.hostDerived.keys) == ["limits.vcpus", "limits.disk", "iso.max_total"])
        let summary = policy.limitsInForce(otherwise: "set in /etc/hypernixos/policy.yaml")
        #expect(summary["limits.memory"] == "1 TiB (set in /etc/hypernixos/policy.yaml)")
        #expect(summary["limits.vcpus"] == "2 vCPUs (the host's 2 online CPUs)")
        #expect(summary["limits.disk"] == "90 GiB (the 100 GiB free under /var/lib/hypervisor/images less 10 GiB kept free)")

        let groupsOnly = try HostPolicy.parse("groups: {lab: {vms: 2}}\n", host: Self.host)
        #expect(groupsOnly.limits == Self.host.limits)
    }

    /// The ISO library's total follows the disk it is on (a quarter of it, in whole MiB) unless the
    /// file sets it; the file's other iso settings leave it following.
    @Test func theLibraryTotalFollowsItsDiskUnlessTheFileSetsIt() throws {
        let following = try HostPolicy.parse("iso: {max_size: 4GiB}\n", host: Self.host)
        #expect(following.iso.maxTotal == .gibibytes(50))
        #expect(following.limitsInForce(otherwise: "set")["iso.max_total"]
            == "50 GiB (a quarter of the 200 GiB file system holding /var/lib/hypervisor/isos)")
        let written = try HostPolicy.parse("iso: {max_total: 1TiB}\n", host: Self.host)
        #expect(written.iso.maxTotal == .tebibytes(1))
        #expect(written.hostDerived["iso.max_total"] == nil)
        let small = HostCapacity(
            cpus: 1, memory: .gibibytes(1), freeDisk: .gibibytes(1), imageDirectory: Self.imageDirectory,
            libraryDisk: ByteSize(bytes: 10 << 20 + 12345), isoDirectory: Self.isoDirectory
        )
        #expect(small.isoTotal == .mebibytes(2), "a quarter of 10 MiB and a bit, in whole MiB")
        #expect(HostPolicy().iso.maxTotal == nil, "without the host and the file, no total")
        #expect(HostPolicy().limitsInForce(otherwise: "set")["iso.max_total"] == "no limit (the host's disk could not be read)")
    }

    @Test func aMachineOverAHostLimitIsRefusedSayingWhatTheHostHas() throws {
        let policy = try HostPolicy.load(path: "/nonexistent/policy.yaml", host: Self.host)
        let error = #expect(throws: HVError.self) {
            try policy.checkMachine(Usage(vms: 1, vcpus: 1, memory: .tebibytes(1), disk: .gibibytes(10)))
        }
        #expect(error?.code == .quotaExceeded)
        #expect(error?.details["limit"] == "limits.memory")
        #expect(error?.reason.contains("at most 21.6 GiB of memory; this one asks for 1 TiB") == true, "\(String(describing: error))")
        #expect(error?.fix?.contains("the host's 24 GiB of memory") == true, "\(String(describing: error))")
        #expect(error?.fix?.contains("set limits.memory in the broker's policy file") == true)
    }
}
