import Foundation
import HVDomainXML
import HVProtocol
import HVTestSupport
import Testing

/// libvirt's own command-line tools, when installed: its schema validator and `virsh`.
enum LibvirtTools {
    static let virsh = find("virsh")
    /// `virt-xml-validate` is a shell script around `xmllint`; both must be there.
    static let validator = find("xmllint") == nil ? nil : find("virt-xml-validate")

    static func find(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(program)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// Writes `xml` to a temporary file for the duration of `body`.
    static func withFile<T>(_ xml: String, _ body: (String) throws -> T) throws -> T {
        let path = NSTemporaryDirectory() + "hv-xml-\(UUID().uuidString).xml"
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    /// Checks `xml` against libvirt's RELAX NG schema `schema`; returns the validator's output.
    static func validate(_ xml: String, schema: String) throws -> Output {
        try withFile(xml) { path in try run([validator ?? "virt-xml-validate", path, schema]) }
    }

    /// Defines the domain on a fresh `test:///default` connection and returns libvirt's XML for it.
    static func defineAndDump(_ xml: String, name: String) throws -> String {
        try withFile(xml) { path in
            let output = try run([virsh ?? "virsh", "-c", "test:///default", "define \(path); dumpxml \(name)"])
            guard output.status == 0, let start = output.stdout.range(of: "<domain") else {
                throw SetupError("virsh could not define the domain: \(output)")
            }
            return String(output.stdout[start.lowerBound...])
        }
    }
}

/// Everything the builders produce is valid against the schemas of the installed libvirt.
@Suite(
    .enabled(
        if: LibvirtTools.validator != nil,
        "virt-xml-validate or xmllint is not installed (packages libvirt-clients, libxml2-utils)"))
struct MachineSchemaTests {
    func expectValid(_ xml: String, _ schema: String) throws {
        let output = try LibvirtTools.validate(xml, schema: schema)
        #expect(output.status == 0, "\(schema) XML does not validate:\n\(xml)\n\(output)")
    }

    @Test(arguments: [(Firmware.bios, MachineType.q35), (.bios, .pc), (.uefi, .q35), (.uefi, .pc), (.uefiSecure, .q35)])
    func machineDomainsValidate(firmware: Firmware, machine: MachineType) throws {
        let disks = [
            MachineDisk(path: "/p/a.qcow2", format: .qcow2),
            MachineDisk(path: "/p/b.raw", format: .raw, bus: .sata, cache: .writeback),
            MachineDisk(path: "/p/c.qcow2", format: .qcow2, bus: .scsi, readOnly: true),
        ]
        let nics = [
            MachineNic(source: .network("default"), mac: "52:54:00:12:34:56"),
            MachineNic(source: .bridge("br0"), model: .rtl8139),
        ]
        var definition = Sample.definition(
            domainType: .kvm, firmware: firmware, machine: machine, disks: disks, seed: "/s/seed.iso", nics: nics
        )
        definition.uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f"
        try expectValid(try DomainXML.machine(definition), "domain")
    }

    @Test(arguments: MachineType.allCases)
    func tpmsValidate(machine: MachineType) throws {
        var definition = Sample.definition(machine: machine)
        definition.tpm = true
        try expectValid(try DomainXML.machine(definition), "domain")
    }

    @Test(arguments: GraphicsType.allCases)
    func displaysValidate(type: GraphicsType) throws {
        let definition = Sample.definition(disks: [], cdrom: nil, nics: [], graphics: MachineGraphics(type: type), serial: nil)
        try expectValid(try DomainXML.machine(definition), "domain")
    }

    @Test func networksValidate() throws {
        let ipv4 = IPv4Network(address: "192.168.100.1", prefix: 24)
        let dhcp = DHCPRange(start: "192.168.100.10", end: "192.168.100.200")
        try expectValid(try NetworkXML.nat(name: "lab", bridge: "virbr10", ipv4: ipv4, dhcp: dhcp), "network")
        try expectValid(try NetworkXML.isolated(name: "lab", bridge: nil, ipv4: ipv4, dhcp: nil), "network")
    }

    @Test func volumesAndPoolsValidate() throws {
        try expectValid(try VolumeXML.qcow2(name: "web1-root.qcow2", capacity: .gibibytes(20)), "storagevol")
        try expectValid(try VolumeXML.raw(name: "web1-data.raw", capacity: .mebibytes(512)), "storagevol")
        let overlay = try VolumeXML.overlay(
            name: "web1-root.qcow2", capacity: .gibibytes(20),
            backingPath: "/var/lib/hypervisor/images/debian-12.qcow2",
            backingFormat: .qcow2
        )
        try expectValid(overlay, "storagevol")
        try expectValid(
            try PoolXML.directory(name: "hypervisor-images", path: "/var/lib/hypervisor/images"), "storagepool"
        )
    }

    @Test func snapshotsValidate() throws {
        try expectValid(
            try SnapshotXML.create(name: "before-upgrade", description: "clean <install> & ready"), "domainsnapshot"
        )
        try expectValid(try SnapshotXML.create(name: "s1", description: nil), "domainsnapshot")
    }

    /// The validator itself refuses XML outside the schema, so a passing check means something.
    @Test func theValidatorRefusesInvalidXML() throws {
        let output = try LibvirtTools.validate("<domain type='qemu'><name>a</name><bogus/></domain>", schema: "domain")
        #expect(output.status != 0)
    }
}
