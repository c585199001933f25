import HVDomainXML
import HVProtocol
import Testing

/// One way a definition can be wrong, and the field the error must name.
struct Broken: CustomTestStringConvertible, Sendable {
    var field: String
    var change: @Sendable (inout MachineDefinition) -> Void
    var testDescription: String { field }

    init(_ field: String, _ change: @escaping @Sendable (inout MachineDefinition) -> Void) {
        self.field = field
        self.change = change
    }
}

@Suite struct MachineValidationTests {
    static let disk = MachineDisk(path: "/p/a.qcow2", format: .qcow2)

    static let broken: [Broken] = [
        Broken("name") { $0.name = "../etc/passwd" },
        Broken("name") { $0.name = "" },
        Broken("name") { $0.name = "web server" },
        Broken("name") { $0.name = String(repeating: "a", count: 65) },
        Broken("uuid") { $0.uuid = "not-a-uuid" },
        Broken("vcpus") { $0.vcpus = 0 },
        Broken("vcpus") { $0.vcpus = -2 },
        Broken("firmware") {
            $0.firmware = .uefiSecure
            $0.machine = .pc
        },
        Broken("memory") { $0.memory = ByteSize(bytes: 0) },
        Broken("memory") { $0.memory = ByteSize(bytes: 1000) },
        Broken("disks[0].path") { $0.disks = [MachineDisk(path: "images/a.qcow2", format: .qcow2)] },
        Broken("disks[0].path") { $0.disks = [MachineDisk(path: "/p/../../etc/shadow", format: .raw)] },
        Broken("disks[0].path") { $0.disks = [MachineDisk(path: "/p/a\n.qcow2", format: .qcow2)] },
        Broken("disks[1].path") { $0.disks = [disk, disk] },
        Broken("disks[0].backing_format") {
            $0.disks = [MachineDisk(path: "/p/a.qcow2", format: .qcow2, backingPath: "/p/t.qcow2")]
        },
        Broken("disks[0].backing_path") {
            $0.disks = [MachineDisk(path: "/p/a.qcow2", format: .qcow2, backingPath: "t.qcow2", backingFormat: .qcow2)]
        },
        Broken("cdrom") { $0.cdromPath = $0.disks[0].path },
        Broken("cdrom") { $0.cdromPath = "debian.iso" },
        Broken("cloud_init") { $0.seedPath = "" },
        Broken("serial") { $0.serialLogPath = "console.log" },
        Broken("networks[0].network") { $0.nics = [MachineNic(source: .network("a/b"))] },
        Broken("networks[0].bridge") { $0.nics = [MachineNic(source: .bridge("br0;reboot"))] },
        Broken("networks[0].bridge") { $0.nics = [MachineNic(source: .bridge("a-very-long-bridge"))] },
        Broken("networks[0].mac") { $0.nics = [MachineNic(source: .network("default"), mac: "52:54:00:12:34")] },
        Broken("networks[0].mac") { $0.nics = [MachineNic(source: .network("default"), mac: "+2:54:00:12:34:56")] },
        Broken("networks[0].mac") { $0.nics = [MachineNic(source: .network("default"), mac: "01:00:5e:00:00:01")] },
        Broken("networks[0].mac") { $0.nics = [MachineNic(source: .network("default"), mac: "00:00:00:00:00:00")] },
        Broken("networks[1].mac") {
            $0.nics = [
                MachineNic(source: .network("default"), mac: "52:54:00:aa:bb:cc"),
                MachineNic(source: .bridge("br0"), mac: "52:54:00:AA:BB:CC"),
            ]
        },
        Broken("description") { $0.metadata.description = "bell \u{7} in the text" },
        Broken("spec") { $0.metadata.specJSON = "{\u{0}}" },
        Broken("spec") { $0.metadata.specJSON = "" },
        Broken("owner_group") { $0.metadata.ownerGroup = "../wheel" },
        Broken("tags[1]") { $0.metadata.tags = ["web", "two words"] },
        Broken("tags[1]") { $0.metadata.tags = ["web", "web"] },
    ]

    @Test(arguments: broken) func refusesAndNamesTheField(broken: Broken) {
        var definition = Sample.definition()
        broken.change(&definition)
        let error = #expect(throws: HVError.self) { try DomainXML.machine(definition) }
        #expect(error?.code == .invalidSpec)
        #expect(error?.details["field"] == broken.field)
        #expect(error?.reason.hasPrefix("\(broken.field): ") == true)
        #expect(error?.fix != nil)
    }

    @Test func aCompleteDefinitionIsValid() throws {
        var definition = Sample.definition(
            seed: "/s/seed.iso", graphics: MachineGraphics(type: .spice)
        )
        definition.uuid = "6695EB01-F6A4-8304-79AA-97F2502E193F"
        definition.nics.append(MachineNic(source: .bridge("br0"), model: .rtl8139, mac: "52:54:00:12:34:56"))
        try definition.validate()
    }

    @Test func errorMessagesShowControlCharacters() {
        var definition = Sample.definition()
        definition.name = "web\n1"
        let error = #expect(throws: HVError.self) { try definition.validate() }
        #expect(error?.reason.contains(#""web\n1""#) == true)
    }
}
