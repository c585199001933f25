import Foundation
import HVBroker
import HVProtocol
import HVServer
import HVTestSupport
import Logging
import Testing

/// The host policy on the state a change leaves behind, for every change path: at the limit, one
/// over, and two concurrent requests that each fit alone but not together. On libvirt's test driver.
@Suite(.serialized, .enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened")) struct PolicyPathsTests {
    let caller = MachineSpecBrokerTests.caller
    /// The caller runs as root, so root is the group its machines are charged to.
    static let group = CallerGroups.names(uid: 0).sorted().first ?? "root"

    func hypervisor(_ policy: HostPolicy, networks: String = "") throws -> LibvirtHypervisor {
        let directory = temporaryDirectory()
        let node = TestDriverNode.xml(domains: networks)
        return LibvirtHypervisor(
            uri: "test://" + (try TestDriverNode.write(node, in: directory)),
            layout: StorageLayout(stateDirectory: directory + "/state", consoleDirectory: directory + "/console"),
            policy: policy, pools: BulkTests.pools, logger: Logger(label: "test")
        )
    }

    func spec(_ name: String, vcpus: Int = 1, disk: ByteSize = .gibibytes(2), diskName: String = "root", network: String? = nil) -> MachineSpec {
        MachineSpec(
            name: name, vcpus: vcpus, memory: .mebibytes(256), disks: [DiskSpec(name: diskName, size: disk)],
            networks: network.map { [NicSpec(network: $0)] } ?? []
        ).normalized()
    }

    func apply(_ hypervisor: LibvirtHypervisor, _ spec: MachineSpec) async throws(HVError) {
        _ = try await hypervisor.perform(.vmApply(spec, dryRun: false), caller: caller)
    }

    func refusal(_ body: () async throws(HVError) -> Void) async -> HVError? {
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    static let quota = HostPolicy(limits: .init(vcpus: 2, memory: .gibibytes(1), disk: .gibibytes(10)), groups: [group: .init(vcpus: 3)])

    @Test func createObeysTheLimitsAndTheQuota() async throws {
        let hypervisor = try hypervisor(Self.quota)
        _ = try await hypervisor.create(VmSpec(name: "c1", vcpus: 2, memoryMiB: 256, diskGiB: 10), caller: caller)
        let over = await refusal { () throws(HVError) in _ = try await hypervisor.create(VmSpec(name: "c2", vcpus: 3, memoryMiB: 256, diskGiB: 1), caller: caller) }
        #expect(over?.code == .quotaExceeded && over?.details["limit"] == "limits.vcpus", "\(String(describing: over))")
        let disk = await refusal { () throws(HVError) in _ = try await hypervisor.create(VmSpec(name: "c3", vcpus: 1, memoryMiB: 256, diskGiB: 11), caller: caller) }
        #expect(disk?.details["limit"] == "limits.disk", "\(String(describing: disk))")
        let group = await refusal { () throws(HVError) in _ = try await hypervisor.create(VmSpec(name: "c4", vcpus: 2, memoryMiB: 256, diskGiB: 1), caller: caller) }
        #expect(group?.details["limit"] == "groups.\(Self.group).vcpus", "\(String(describing: group))")
        _ = try await hypervisor.create(VmSpec(name: "c5", vcpus: 1, memoryMiB: 256, diskGiB: 1), caller: caller)
        #expect(try await hypervisor.resolve(machine: "c5")?.ownerGroup == Self.group, "a created machine is charged to its maker's group")
    }

    @Test func twoAppliesThatFitAloneButNotTogether() async throws {
        let hypervisor = try hypervisor(Self.quota)
        async let first = refusal { () throws(HVError) in try await apply(hypervisor, spec("p1", vcpus: 2)) }
        async let second = refusal { () throws(HVError) in try await apply(hypervisor, spec("p2", vcpus: 2)) }
        let outcomes = await [first, second]
        #expect(outcomes.filter { $0 == nil }.count == 1, "exactly one fits: \(outcomes)")
        #expect(outcomes.compactMap { $0?.code } == [.quotaExceeded])
    }

    @Test func clonesCountAgainstTheQuota() async throws {
        let hypervisor = try hypervisor(Self.quota)
        try await apply(hypervisor, spec("base", vcpus: 2))
        let over = await refusal { () throws(HVError) in _ = try await hypervisor.perform(.vmClone(source: "base", name: "copy", linked: false), caller: caller) }
        #expect(over?.code == .quotaExceeded, "\(String(describing: over))")
        #expect(try await hypervisor.resolve(machine: "copy") == nil)
    }

    @Test func volumesObeyTheDiskLimit() async throws {
        let hypervisor = try hypervisor(Self.quota)
        _ = try await hypervisor.perform(.volumeCreate(pool: nil, name: "at-limit.qcow2", size: .gibibytes(10)), caller: caller)
        let create = await refusal { () throws(HVError) in
            _ = try await hypervisor.perform(.volumeCreate(pool: nil, name: "big.qcow2", size: .tebibytes(16)), caller: caller)
        }
        #expect(create?.details["limit"] == "limits.disk", "\(String(describing: create))")
        try await apply(hypervisor, spec("grow", disk: .gibibytes(8)))
        let resize = await refusal { () throws(HVError) in
            _ = try await hypervisor.perform(.volumeResize(pool: nil, name: "grow-root.qcow2", size: .gibibytes(11)), caller: caller)
        }
        #expect(resize?.details["limit"] == "limits.disk", "\(String(describing: resize))")
        // The machine's disks together: 8 GiB plus 3 more is over its 10 GiB, though 11 GiB alone is refused above too.
        try await apply(hypervisor, MachineSpec(
            name: "two", vcpus: 1, memory: .mebibytes(256), disks: [DiskSpec(name: "a", size: .gibibytes(5)), DiskSpec(name: "b", size: .gibibytes(5))]
        ).normalized())
        let total = await refusal { () throws(HVError) in
            _ = try await hypervisor.perform(.volumeResize(pool: nil, name: "two-a.qcow2", size: .gibibytes(6)), caller: caller)
        }
        #expect(total?.details["limit"] == "limits.disk" && total?.reason.contains("add up") == true, "\(String(describing: total))")
    }

    /// `rt` + `a-root` and `rt-a` + `root` name the same volume: the second machine may not take it.
    @Test func aDiskBelongsToTheMachineThatMadeIt() async throws {
        let hypervisor = try hypervisor(HostPolicy())
        try await apply(hypervisor, spec("rt-a", diskName: "root"))
        let taken = await refusal { () throws(HVError) in try await apply(hypervisor, spec("rt", diskName: "a-root")) }
        #expect(taken?.code == .alreadyExists && taken?.details["field"] == "disks[0].name", "\(String(describing: taken))")
        #expect(try await hypervisor.resolve(machine: "rt") == nil, "nothing was defined")
        #expect(try await hypervisor.resolve(volume: "rt-a-root.qcow2", pool: nil)?.name == "rt-a")
    }

    static let bridgedNetwork = """
        <network><name>lan</name><forward mode='bridge'/><bridge name='br0'/></network>
        """

    @Test func aNetworkOntoAHostBridgeObeysTheBridgeList() async throws {
        let refused = try hypervisor(HostPolicy(), networks: Self.bridgedNetwork)
        let error = await refusal { () throws(HVError) in try await apply(refused, spec("bridged", network: "lan")) }
        #expect(error?.details["limit"] == "bridges" && error?.reason.contains("br0") == true, "\(String(describing: error))")
        let allowed = try hypervisor(HostPolicy(bridges: ["br0"]), networks: Self.bridgedNetwork)
        try await apply(allowed, spec("bridged", network: "lan"))
        try await apply(allowed, spec("natted", network: "default"))
    }

    @Test func aRevertCantBringBackMoreThanTheQuotaAllows() async throws {
        let hypervisor = try hypervisor(Self.quota)
        try await apply(hypervisor, spec("rv", vcpus: 2))
        _ = try await hypervisor.perform(.snapshotCreate(vm: "rv", name: "two", description: nil), caller: caller)
        try await apply(hypervisor, spec("rv", vcpus: 1))
        try await apply(hypervisor, spec("other", vcpus: 2))
        let over = await refusal { () throws(HVError) in _ = try await hypervisor.perform(.snapshotRevert(vm: "rv", name: "two"), caller: caller) }
        #expect(over?.code == .quotaExceeded, "\(String(describing: over))")
        #expect(try await hypervisor.info("rv").vcpus == 1, "nothing changed")
        _ = try await hypervisor.delete("other", removeDisks: true)
        _ = try await hypervisor.perform(.snapshotRevert(vm: "rv", name: "two"), caller: caller)
        #expect(try await hypervisor.info("rv").vcpus == 2, "with room again, the revert goes through")
    }

    /// Pins an admin removed after a snapshot don't come back with it.
    @Test func aRevertCantBringBackHostFeatures() async throws {
        let host = try FakeHost()
        let directory = temporaryDirectory()
        let hypervisor = LibvirtHypervisor(
            uri: "test://" + (try TestDriverNode.write(TestDriverNode.xml(), in: directory)),
            layout: StorageLayout(stateDirectory: directory + "/state", consoleDirectory: directory + "/console"),
            hardware: HostHardware(root: host.root), pools: BulkTests.pools, logger: Logger(label: "test")
        )
        try await apply(hypervisor, spec("pinned", vcpus: 2))
        _ = try await hypervisor.perform(.vmPinCpus("pinned", pins: [CpuPin(vcpu: 0, cpus: "2")]), caller: caller)
        _ = try await hypervisor.perform(.snapshotCreate(vm: "pinned", name: "with-pins", description: nil), caller: caller)
        _ = try await hypervisor.perform(.vmPinCpus("pinned", pins: []), caller: caller)
        let refused = await refusal { () throws(HVError) in _ = try await hypervisor.perform(.snapshotRevert(vm: "pinned", name: "with-pins"), caller: caller) }
        #expect(refused?.code == .invalidState && refused?.reason.contains("CPU pins 0=2") == true, "\(String(describing: refused))")
        #expect(try await hypervisor.info("pinned").hostFeatures == nil, "the pins stay removed")
        // An administrator who wants the old state sets the features back first.
        _ = try await hypervisor.perform(.vmPinCpus("pinned", pins: [CpuPin(vcpu: 0, cpus: "2")]), caller: caller)
        _ = try await hypervisor.perform(.snapshotRevert(vm: "pinned", name: "with-pins"), caller: caller)
    }
}
