import Foundation
import FoundationXML
import HVDomainXML
import HVProtocol
import Testing

/// A machine definition with every kind of device, for the XML tests to vary.
enum Sample {
    static let metadata = MachineMetadata(
        specJSON: #"{"name":"web1","vcpus":2,"memory":"2GiB"}"#, ownerUID: 1000, ownerGroup: "lab-operators",
        template: false, tags: ["web", "lab"], description: "Web server for the lab"
    )

    static func definition(
        name: String = "web1", domainType: DomainType = .qemu, firmware: Firmware = .bios, machine: MachineType = .q35,
        disks: [MachineDisk] = [MachineDisk(path: "/var/lib/hypervisor/images/web1-root.qcow2", format: .qcow2)],
        cdrom: String? = "/var/lib/hypervisor/isos/debian-12.iso", seed: String? = nil,
        nics: [MachineNic] = [MachineNic(source: .network("default"))],
        graphics: MachineGraphics? = MachineGraphics(type: .vnc),
        serial: String? = "/var/log/hypervisor/console/web1.log", metadata: MachineMetadata = Sample.metadata
    ) -> MachineDefinition {
        MachineDefinition(
            name: name, domainType: domainType, vcpus: 2, memory: .gibibytes(2), firmware: firmware, machine: machine,
            disks: disks, cdromPath: cdrom, seedPath: seed, nics: nics, graphics: graphics, serialLogPath: serial,
            metadata: metadata
        )
    }
}

extension XMLDocument {
    /// The string value of every node `xpath` selects.
    func values(_ xpath: String) throws -> [String] {
        try nodes(forXPath: xpath).map { $0.stringValue ?? "" }
    }
}

/// Parses produced XML with Foundation's XMLDocument; a malformed document fails the test.
func parsed(_ xml: String) throws -> XMLDocument {
    try XMLDocument(xmlString: xml)
}

/// An XPath step selecting the broker's metadata element whatever its prefix.
let machineElement = "/domain/metadata/*[local-name()='machine' and namespace-uri()='\(MachineMetadata.namespace)']"

@Suite struct MachineXMLTests {
    @Test func domainHasTheDecidedShape() throws {
        let document = try parsed(try DomainXML.machine(Sample.definition()))
        #expect(try document.values("/domain/@type") == ["qemu"])
        #expect(try document.values("/domain/name") == ["web1"])
        #expect(try document.values("/domain/uuid").isEmpty)
        #expect(try document.values("/domain/description") == ["Web server for the lab"])
        #expect(try document.values("/domain/memory") == ["2097152"])
        #expect(try document.values("/domain/memory/@unit") == ["KiB"])
        #expect(try document.values("/domain/currentMemory") == ["2097152"])
        #expect(try document.values("/domain/vcpu") == ["2"])
        #expect(try document.values("/domain/os/type") == ["hvm"])
        #expect(try document.values("/domain/os/type/@machine") == ["q35"])
        #expect(try document.values("/domain/os/boot/@dev") == ["cdrom", "hd"])
        #expect(try document.values("/domain/features/acpi").count == 1)
        #expect(try document.values("/domain/features/smm").isEmpty)
        #expect(try document.values("/domain/cpu").isEmpty, "TCG guests get no host-passthrough CPU")
        #expect(try document.values("/domain/on_poweroff") == ["destroy"])
        #expect(try document.values("/domain/on_reboot") == ["restart"])
        #expect(try document.values("/domain/devices/memballoon/@model") == ["virtio"])
    }

    @Test func keepsTheUUIDAndPassesTheHostCPUToKVM() throws {
        var definition = Sample.definition(domainType: .kvm, machine: .pc)
        definition.uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f"
        let document = try parsed(try DomainXML.machine(definition))
        #expect(try document.values("/domain/uuid") == ["6695eb01-f6a4-8304-79aa-97f2502e193f"])
        #expect(try document.values("/domain/cpu/@mode") == ["host-passthrough"])
        #expect(try document.values("/domain/os/type/@machine") == ["pc"])
    }

    @Test func disksGetTargetsByBusAndCDROMsFollowTheSDDisks() throws {
        let disks = [
            MachineDisk(path: "/p/a.qcow2", format: .qcow2, bus: .virtio, cache: .none),
            MachineDisk(path: "/p/b.raw", format: .raw, bus: .sata, cache: .writeback),
            MachineDisk(
                path: "/p/c.qcow2", format: .qcow2, bus: .virtio, cache: .unsafe,
                backingPath: "/p/template.qcow2", backingFormat: .qcow2
            ),
            MachineDisk(path: "/p/d.qcow2", format: .qcow2, bus: .scsi, cache: .directsync, readOnly: true),
        ]
        let definition = Sample.definition(disks: disks, cdrom: "/i/install.iso", seed: "/s/seed.iso")
        let document = try parsed(try DomainXML.machine(definition))
        let disk = "/domain/devices/disk"
        #expect(try document.values("\(disk)/@device") == ["disk", "disk", "disk", "disk", "cdrom", "cdrom"])
        #expect(try document.values("\(disk)/target/@dev") == ["vda", "sda", "vdb", "sdb", "sdc", "sdd"])
        #expect(try document.values("\(disk)/target/@bus") == ["virtio", "sata", "virtio", "scsi", "sata", "sata"])
        #expect(try document.values("\(disk)/driver/@type") == ["qcow2", "raw", "qcow2", "qcow2", "raw", "raw"])
        #expect(
            try document.values("\(disk)[@device='disk']/driver/@cache") == [
                "none", "writeback", "unsafe", "directsync",
            ])
        #expect(
            try document.values("\(disk)/source/@file") == [
                "/p/a.qcow2", "/p/b.raw", "/p/c.qcow2", "/p/d.qcow2", "/i/install.iso", "/s/seed.iso",
            ])
        #expect(
            try document.values("\(disk)[readonly]/source/@file") == ["/p/d.qcow2", "/i/install.iso", "/s/seed.iso"]
        )
        #expect(try document.values("//backingStore").isEmpty, "libvirt reads the backing chain from the image")
        #expect(try document.values("/domain/devices/controller/@type") == ["scsi"])
        #expect(try document.values("/domain/devices/controller/@model") == ["virtio-scsi"])
    }

    @Test func manyDisksContinueWithTwoLetterNames() throws {
        let disks = (0..<28).map { MachineDisk(path: "/p/\($0).qcow2", format: .qcow2) }
        let document = try parsed(try DomainXML.machine(Sample.definition(disks: disks, cdrom: nil)))
        let targets = try document.values("/domain/devices/disk/target/@dev")
        #expect(targets.prefix(2) == ["vda", "vdb"])
        #expect(targets.suffix(3) == ["vdz", "vdaa", "vdab"])
        #expect(try document.values("/domain/devices/controller").isEmpty, "no SCSI disk, no SCSI controller")
    }

    @Test func withoutAnInstallISOTheDiskBootsAndTheSeedIsTheOnlyCDROM() throws {
        let document = try parsed(try DomainXML.machine(Sample.definition(cdrom: nil, seed: "/s/seed.iso")))
        #expect(try document.values("/domain/os/boot/@dev") == ["hd"])
        #expect(try document.values("/domain/devices/disk[@device='cdrom']/target/@dev") == ["sda"])
        #expect(try document.values("/domain/devices/disk[@device='cdrom']/source/@file") == ["/s/seed.iso"])
    }

    @Test(arguments: Firmware.allCases) func firmwareIsAutoSelected(firmware: Firmware) throws {
        let document = try parsed(try DomainXML.machine(Sample.definition(firmware: firmware)))
        let features = try document.values("/domain/os/firmware/feature/@name")
        let enabled = try document.values("/domain/os/firmware/feature/@enabled")
        switch firmware {
        case .bios:
            #expect(try document.values("/domain/os/@firmware").isEmpty)
            #expect(try document.values("/domain/os/firmware").isEmpty)
            #expect(try document.values("/domain/os/loader").isEmpty)
            #expect(try document.values("/domain/features/smm").isEmpty)
        case .uefi:
            #expect(try document.values("/domain/os/@firmware") == ["efi"])
            #expect(features == ["secure-boot"])
            #expect(enabled == ["no"])
            #expect(try document.values("/domain/os/loader").isEmpty)
            #expect(try document.values("/domain/features/smm").isEmpty)
        case .uefiSecure:
            #expect(try document.values("/domain/os/@firmware") == ["efi"])
            #expect(features == ["secure-boot", "enrolled-keys"])
            #expect(enabled == ["yes", "yes"])
            #expect(try document.values("/domain/os/loader/@secure") == ["yes"])
            #expect(try document.values("/domain/features/smm/@state") == ["on"])
        }
        #expect(try document.values("/domain/os/nvram").isEmpty, "libvirt creates the NVRAM itself")
    }

    @Test func interfacesNameTheirSourceModelAndMAC() throws {
        let nics = [
            MachineNic(source: .network("default"), model: .virtio, mac: "52:54:00:AB:cd:01"),
            MachineNic(source: .bridge("br0"), model: .e1000e),
        ]
        let document = try parsed(try DomainXML.machine(Sample.definition(nics: nics)))
        let interface = "/domain/devices/interface"
        #expect(try document.values("\(interface)/@type") == ["network", "bridge"])
        #expect(try document.values("\(interface)/source/@network") == ["default"])
        #expect(try document.values("\(interface)/source/@bridge") == ["br0"])
        #expect(try document.values("\(interface)/model/@type") == ["virtio", "e1000e"])
        #expect(try document.values("\(interface)/mac/@address") == ["52:54:00:ab:cd:01"])
    }

    /// No port, no address, no socket: only a connection the broker asks libvirt for reaches the display.
    @Test(arguments: GraphicsType.allCases)
    func graphicsListenNowhere(type: GraphicsType) throws {
        let document = try parsed(try DomainXML.machine(Sample.definition(graphics: MachineGraphics(type: type))))
        #expect(try document.values("/domain/devices/graphics/@type") == [type.rawValue])
        #expect(try document.values("/domain/devices/graphics/listen/@type") == ["none"])
        for attribute in ["port", "tlsPort", "autoport", "address", "listen", "socket", "network", "passwd"] {
            #expect(try document.values("/domain/devices/graphics//@\(attribute)").isEmpty, "\(attribute)")
        }
        #expect(try document.values("/domain/devices/graphics/listen/@*").count == 1)
    }

    @Test func noGraphicsAndNoSerialMeanNoSuchDevices() throws {
        let document = try parsed(try DomainXML.machine(Sample.definition(graphics: nil, serial: nil)))
        #expect(try document.values("/domain/devices/graphics").isEmpty)
        #expect(try document.values("/domain/devices/serial").isEmpty)
        #expect(try document.values("/domain/devices/console").isEmpty)
    }

    @Test func serialConsoleIsAPTYWithALog() throws {
        let document = try parsed(try DomainXML.machine(Sample.definition()))
        #expect(try document.values("/domain/devices/serial/@type") == ["pty"])
        #expect(try document.values("/domain/devices/serial/log/@file") == ["/var/log/hypervisor/console/web1.log"])
        #expect(try document.values("/domain/devices/serial/log/@append") == ["off"])
        #expect(try document.values("/domain/devices/console/target/@type") == ["serial"])
    }

    @Test func metadataRecordsSpecOwnerTemplateAndTags() throws {
        var metadata = Sample.metadata
        metadata.template = true
        let xml = try DomainXML.machine(Sample.definition(metadata: metadata))
        let document = try parsed(xml)
        #expect(try document.nodes(forXPath: "/domain/metadata/*").count == 1)
        let child = { (name: String) in "\(machineElement)/*[local-name()='\(name)']" }
        #expect(try document.values(child("spec")) == [metadata.specJSON])
        #expect(try document.values(child("owner") + "/@uid") == ["1000"])
        #expect(try document.values(child("owner") + "/@group") == ["lab-operators"])
        #expect(try document.values(child("template")) == ["true"])
        #expect(try document.values(child("tags") + "/*[local-name()='tag']") == ["web", "lab"])
        #expect(MachineMetadata.read(domainXML: xml) == metadata)
    }

    /// Text that looks like markup stays text: it can't close an element or add devices.
    @Test func metacharactersInDescriptionAndSpecStayText() throws {
        let hostile =
            #"x</description><devices><disk type='block'><source dev='/dev/sda'/></disk></devices> & "q" 'a' ]]>"#
        var metadata = Sample.metadata
        metadata.description = hostile
        metadata.specJSON = #"{"description":"</hv:spec></hv:machine></metadata><devices><disk/></devices>"}"#
        let xml = try DomainXML.machine(Sample.definition(metadata: metadata))
        let document = try parsed(xml)
        #expect(try document.values("/domain/description") == [hostile])
        #expect(try document.values("\(machineElement)/*[local-name()='spec']") == [metadata.specJSON])
        #expect(try document.nodes(forXPath: "/domain/devices").count == 1)
        #expect(try document.nodes(forXPath: "/domain/metadata/*").count == 1)
        #expect(try document.values("//source/@dev").isEmpty)
        #expect(try document.values("/domain/devices/disk/@device") == ["disk", "cdrom"])
        #expect(MachineMetadata.read(domainXML: xml) == metadata)
    }
}
