import Foundation
import HVBroker
import HVProtocol
import HVServer
import HVTestSupport
import Logging
import Testing

/// A host laid out like /sys and /proc: 4 CPUs online, a GPU and a bridge on PCI, one USB device.
struct FakeHost {
    let root = temporaryDirectory() + "/host"

    init(hugepages: Int = 0, iommu: Bool = true) throws {
        try write("sys/devices/system/cpu/online", "0-3\n")
        try write("proc/meminfo", "MemTotal:       24000000 kB\nHugePages_Total:    \(hugepages)\nHugePages_Free:     \(hugepages)\nHugepagesize:       2048 kB\n")
        try write("sys/bus/pci/devices/0000:01:00.0/class", "0x030000\n")
        try write("sys/bus/pci/devices/0000:00:01.0/class", "0x060400\n")
        try write("sys/kernel/iommu_groups/7/type", "DMA\n")
        if iommu {
            for device in ["0000:01:00.0", "0000:00:01.0"] {
                try FileManager.default.createSymbolicLink(
                    atPath: "\(root)/sys/bus/pci/devices/\(device)/iommu_group", withDestinationPath: "../../../../kernel/iommu_groups/7"
                )
            }
        }
        try write("sys/bus/usb/devices/1-2/idVendor", "046d\n")
        try write("sys/bus/usb/devices/1-2/idProduct", "c52b\n")
        try write("sys/bus/usb/devices/1-2:1.0/bInterfaceClass", "03\n")
    }

    func write(_ path: String, _ text: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }
}

/// The admin-only host features through the broker's libvirt code, on a private test-driver node.
@Suite(.serialized, .enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened")) struct HostFeaturesBrokerTests {
    let caller = MachineSpecBrokerTests.caller

    func hypervisor(_ host: FakeHost) throws -> LibvirtHypervisor {
        let directory = temporaryDirectory()
        return LibvirtHypervisor(
            uri: "test://" + (try TestDriverNode.write(TestDriverNode.xml(), in: directory)),
            layout: StorageLayout(stateDirectory: directory + "/state", consoleDirectory: directory + "/console"),
            hardware: HostHardware(root: host.root), pools: BulkTests.pools, logger: Logger(label: "test")
        )
    }

    func apply(_ hypervisor: LibvirtHypervisor, _ name: String, vcpus: Int = 2, memory: ByteSize = .gibibytes(1)) async throws -> VmApplyReply {
        let spec = MachineSpec(name: name, vcpus: vcpus, memory: memory, disks: [DiskSpec(name: "root", size: .gibibytes(2))], networks: [NicSpec(network: "default")])
        return try VarlinkJSON.convert(try await hypervisor.perform(.vmApply(spec.normalized(), dryRun: false), caller: caller), to: VmApplyReply.self)
    }

    func perform(_ hypervisor: LibvirtHypervisor, _ request: ResourceRequest) async throws -> VmHostFeaturesReply {
        try VarlinkJSON.convert(try await hypervisor.perform(request, caller: caller), to: VmHostFeaturesReply.self)
    }

    func refusal(_ hypervisor: LibvirtHypervisor, _ request: ResourceRequest) async -> HVError? {
        await #expect(throws: HVError.self) { _ = try await hypervisor.perform(request, caller: caller) }
    }

    @Test func pinsAreCheckedAgainstTheHostAndKeptByApply() async throws {
        let hypervisor = try hypervisor(try FakeHost())
        _ = try await apply(hypervisor, "pinned")
        let pins = [CpuPin(vcpu: 0, cpus: "2"), CpuPin(vcpu: 1, cpus: "3")]
        let reply = try await perform(hypervisor, .vmPinCpus("pinned", pins: pins))
        #expect(reply.hostFeatures.cpuPins == pins && !reply.restartNeeded)
        #expect(try await hypervisor.info("pinned").hostFeatures?.cpuPins == pins)

        let offline = await refusal(hypervisor, .vmPinCpus("pinned", pins: [CpuPin(vcpu: 0, cpus: "2-9")]))
        #expect(offline?.reason.contains("host CPU 4 is not online (online: 0-3)") == true, "\(String(describing: offline))")
        let noSuchVCPU = await refusal(hypervisor, .vmPinCpus("pinned", pins: [CpuPin(vcpu: 2, cpus: "1")]))
        #expect(noSuchVCPU?.details["parameter"] == "pins[0].vcpu" && noSuchVCPU?.reason.contains("has 2 vCPUs") == true)

        // A re-apply keeps the pins; shrinking below a pinned vCPU is refused, naming vcpus.
        let again = try await apply(hypervisor, "pinned")
        #expect(again.changes.isEmpty && again.vm?.hostFeatures?.cpuPins == pins)
        let shrink = await #expect(throws: HVError.self) { _ = try await apply(hypervisor, "pinned", vcpus: 1) }
        #expect(shrink?.code == .invalidSpec && shrink?.details["field"] == "vcpus", "\(String(describing: shrink))")
        #expect(try await hypervisor.info("pinned").vcpus == 2, "a refused apply changes nothing")

        let cleared = try await perform(hypervisor, .vmPinCpus("pinned", pins: []))
        #expect(cleared.hostFeatures.isEmpty)
        #expect(try await hypervisor.info("pinned").hostFeatures == nil)
        #expect(try await apply(hypervisor, "pinned", vcpus: 1).vm?.vcpus == 1)
    }

    @Test func hugepagesMustBeReservedForEveryMachineUsingThem() async throws {
        let host = try FakeHost(hugepages: 256)
        let hypervisor = try hypervisor(host)
        _ = try await apply(hypervisor, "big")
        let short = await refusal(hypervisor, .vmHugepages("big", enabled: true))
        #expect(short?.code == .quotaExceeded && short?.details["limit"] == "hugepages", "\(String(describing: short))")
        #expect(short?.reason.contains("256 pages of 2 MiB") == true && short?.fix?.contains("vm.nr_hugepages\" = 512") == true, "\(String(describing: short))")
        #expect(try await hypervisor.info("big").hostFeatures == nil, "a refusal changes nothing")

        try host.write("proc/meminfo", "HugePages_Total:    768\nHugepagesize:       2048 kB\n")
        #expect(try await perform(hypervisor, .vmHugepages("big", enabled: true)).hostFeatures.hugepages)
        _ = try await apply(hypervisor, "second", memory: .mebibytes(1024))
        let shared = await refusal(hypervisor, .vmHugepages("second", enabled: true))
        #expect(shared?.reason.contains("with big") == true, "\(String(describing: shared))")
        // Growing a hugepage machine past the reservation is refused by apply too.
        let grow = await #expect(throws: HVError.self) { _ = try await apply(hypervisor, "big", memory: .gibibytes(2)) }
        #expect(grow?.details["limit"] == "hugepages")
    }

    @Test func devicesMustExistBeIsolatedAndGoToOneMachine() async throws {
        let hypervisor = try hypervisor(try FakeHost())
        _ = try await apply(hypervisor, "gpu")
        _ = try await apply(hypervisor, "other")
        let reply = try await perform(hypervisor, .vmPassthrough("gpu", pci: ["0000:01:00.0"], usb: ["046d:c52b"]))
        #expect(reply.hostFeatures.pciDevices == ["0000:01:00.0"] && reply.hostFeatures.usbDevices == ["046d:c52b"])

        let taken = await refusal(hypervisor, .vmPassthrough("other", pci: [], usb: ["046d:c52b"]))
        #expect(taken?.code == .invalidState && taken?.reason.contains("already passed to 'gpu'") == true, "\(String(describing: taken))")
        let bridge = await refusal(hypervisor, .vmPassthrough("other", pci: ["0000:00:01.0"], usb: []))
        #expect(bridge?.reason.contains("is a bridge") == true)
        let missing = await refusal(hypervisor, .vmPassthrough("other", pci: ["0000:09:00.0"], usb: []))
        #expect(missing?.code == .notFound && missing?.reason.contains("no PCI device 0000:09:00.0") == true)
        let unplugged = await refusal(hypervisor, .vmPassthrough("other", pci: [], usb: ["1234:5678"]))
        #expect(unplugged?.code == .notFound && unplugged?.reason.contains("usb[0]") == true)

        // Starting makes a change wait for the next start; clearing frees the device for another machine.
        try await hypervisor.start("gpu")
        #expect(try await perform(hypervisor, .vmPassthrough("gpu", pci: [], usb: [])).restartNeeded)
        #expect(try await perform(hypervisor, .vmPassthrough("other", pci: ["0000:01:00.0"], usb: [])).hostFeatures.pciDevices == ["0000:01:00.0"])
        try await hypervisor.kill("gpu")
    }

    @Test func withoutAnIOMMUPCIDevicesAreRefused() async throws {
        let hypervisor = try hypervisor(try FakeHost(iommu: false))
        _ = try await apply(hypervisor, "gpu")
        let error = await refusal(hypervisor, .vmPassthrough("gpu", pci: ["0000:01:00.0"], usb: []))
        #expect(error?.reason.contains("IOMMU is off") == true && error?.fix?.contains("intel_iommu=on") == true)
    }

    @Test func templatesAndUnknownMachinesGetNoFeatures() async throws {
        let hypervisor = try hypervisor(try FakeHost())
        _ = try await apply(hypervisor, "base")
        try await AutostartBrokerTests.makeTemplate(hypervisor, "base")
        let template = await refusal(hypervisor, .vmHugepages("base", enabled: false))
        #expect(template?.code == .invalidState && template?.reason.contains("template") == true)
        let unknown = await refusal(hypervisor, .vmHugepages("nope", enabled: true))
        #expect(unknown?.code == .notFound)
    }
}
