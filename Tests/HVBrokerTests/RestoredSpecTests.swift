import Foundation
import HVProtocol
import Testing

@testable import HVBroker

/// What a restore makes of a backup's record: the same machine under a new name, with new MAC
/// addresses (and so, being new, a new UUID), its disks volumes of their own, validated as any spec.
@Suite struct RestoredSpecTests {
    static let saved = SavedMachine(
        spec: MachineSpec(
            name: "web", description: "the shop", tags: ["prod"], vcpus: 2, memory: .gibibytes(2),
            disks: [DiskSpec(name: "root", template: "debian-12.qcow2"), DiskSpec(name: "data", size: .gibibytes(4), pool: "fast")],
            networks: [NicSpec(network: "default", mac: "52:54:00:12:34:56"), NicSpec(bridge: "br0", mac: "52:54:00:12:34:57")],
            autostart: AutostartSpec(enabled: true, order: 3)
        ),
        ownerGroup: "team-a", ownerUID: 1001
    )
    static let sizes: [String: UInt64] = ["root": 10 << 30, "data": 4 << 30]

    @Test func theCopyGetsTheNewNameNewMACsAndDisksOfItsOwn() throws {
        let spec = try Self.saved.restoredSpec(name: "web-restored", pool: nil, sizes: Self.sizes)
        #expect(spec.name == "web-restored")
        #expect(spec.networks.map(\.mac) == [nil, nil], "libvirt makes new addresses")
        #expect(spec.networks.map(\.network) == ["default", nil])
        #expect(spec.networks.map(\.bridge) == [nil, "br0"])
        #expect(spec.disks.map(\.name) == ["root", "data"])
        #expect(spec.disks.map(\.template) == [nil, nil], "never an overlay of a template: the backup holds the whole disk")
        #expect(spec.disks.map(\.size) == [.gibibytes(10), .gibibytes(4)])
        #expect(spec.disks.map(\.pool) == [nil, nil], "the broker's own pool unless one is named")
        #expect(spec.autostart == nil, "the copy does not start at boot beside the original")
        #expect(spec.vcpus == 2 && spec.memory == .gibibytes(2) && spec.tags == ["prod"] && spec.description == "the shop")
        #expect(try Self.saved.restoredSpec(name: "x", pool: "fast", sizes: Self.sizes).disks.map(\.pool) == ["fast", "fast"])
    }

    @Test func theSpecIsValidatedLikeAnyOther() throws {
        let tiny = #expect(throws: HVError.self) { try Self.saved.restoredSpec(name: "x", pool: nil, sizes: ["root": 4096, "data": 4 << 30]) }
        #expect(tiny?.code == .invalidSpec, "\(String(describing: tiny))")
        let name = #expect(throws: HVError.self) { try Self.saved.restoredSpec(name: "not a name", pool: nil, sizes: Self.sizes) }
        #expect(name?.code == .invalidSpec)
    }

    @Test func aDiskTheBackupLacksIsRefused() throws {
        let error = #expect(throws: HVError.self) { try Self.saved.restoredSpec(name: "x", pool: nil, sizes: ["root": 10 << 30]) }
        #expect(error?.reason.contains("no copy of disk data") == true)
    }

    @Test func theRecordRoundTripsAndAnotherFormatIsRefused() throws {
        let text = try Self.saved.text()
        #expect(try SavedMachine.read(text, backup: "b") == Self.saved)
        #expect(throws: HVError.self) { try SavedMachine.read(text.replacingOccurrences(of: "\"format\":1", with: "\"format\":2"), backup: "b") }
        #expect(throws: HVError.self) { try SavedMachine.read("{}", backup: "b") }
    }

    /// Each spec disk is found in the backup by its volume's name in the saved domain XML.
    @Test func disksAreFoundByTheirVolumes() throws {
        let xml = """
            <domain type='kvm'><name>web</name><devices>
              <disk type='file' device='disk'><source file='/var/lib/hypervisor/images/web-data.qcow2'/><target dev='vdb'/></disk>
              <disk type='file' device='cdrom'><source file='/var/lib/hypervisor/seeds/web-root.qcow2'/><target dev='sda'/></disk>
              <disk type='file' device='disk'><source file='/var/lib/hypervisor/images/web-root.qcow2'/><target dev='vda'/></disk>
            </devices></domain>
            """
        #expect(try Self.saved.diskTargets(domainXML: xml) == ["root": "vda", "data": "vdb"])
    }

    @Test(arguments: [
        ("user = \"libvirt-qemu\"\ngroup = \"kvm\"", "libvirt-qemu"),
        ("#user = \"root\"\n  user=\"qemu\"", "qemu"),
        ("user_name = \"x\"", nil),
        ("# user = \"root\"", nil),
    ])
    func qemuUserIsReadFromLibvirtsConfiguration(text: String, user: String?) {
        #expect(QemuUser.configured(in: text) == user)
    }
}
