import Foundation
import FoundationXML
import HVDomainXML
import Testing

@Suite struct DomainXMLTests {
    func definition(name: String = "web", iso: String? = "/var/lib/hypervisor/isos/d.iso", type: String = "qemu") -> DomainDefinition {
        DomainDefinition(
            name: name, domainType: type, vcpus: 2, memoryMiB: 768, diskPath: "/var/lib/hypervisor/images/web-disk0.qcow2",
            isoPath: iso, consoleLogPath: "/var/log/hypervisor/console/web.log"
        )
    }

    func parse(_ xml: String) throws -> XMLDocument {
        try XMLDocument(xmlString: xml)
    }

    func values(_ document: XMLDocument, _ xpath: String) throws -> [String] {
        try document.nodes(forXPath: xpath).map { $0.stringValue ?? "" }
    }

    @Test func domainHasTheDecidedShape() throws {
        let document = try parse(try DomainXML.domain(definition()))
        #expect(try values(document, "/domain/@type") == ["qemu"])
        #expect(try values(document, "/domain/name") == ["web"])
        #expect(try values(document, "/domain/memory") == ["768"])
        #expect(try values(document, "/domain/memory/@unit") == ["MiB"])
        #expect(try values(document, "/domain/vcpu") == ["2"])
        #expect(try values(document, "/domain/os/type") == ["hvm"])
        #expect(try values(document, "/domain/os/boot/@dev") == ["cdrom", "hd"])
        #expect(try values(document, "/domain/devices/disk/@device") == ["disk", "cdrom"])
        #expect(try values(document, "/domain/devices/disk[@device='disk']/driver/@type") == ["qcow2"])
        #expect(try values(document, "/domain/devices/disk[@device='disk']/source/@file") == ["/var/lib/hypervisor/images/web-disk0.qcow2"])
        #expect(try values(document, "/domain/devices/disk[@device='cdrom']/readonly").count == 1)
        #expect(try values(document, "/domain/devices/serial/@type") == ["pty"])
        #expect(try values(document, "/domain/devices/serial/log/@file") == ["/var/log/hypervisor/console/web.log"])
        #expect(try values(document, "/domain/devices/console/target/@type") == ["serial"])
        #expect(try values(document, "/domain/features/acpi").count == 1)
        #expect(try values(document, "/domain/cpu").isEmpty, "TCG guests get no host-passthrough CPU")
    }

    @Test func kvmGuestsPassTheHostCPUThrough() throws {
        let document = try parse(try DomainXML.domain(definition(type: "kvm")))
        #expect(try values(document, "/domain/cpu/@mode") == ["host-passthrough"])
    }

    @Test func noISOMeansNoCDROM() throws {
        let document = try parse(try DomainXML.domain(definition(iso: nil)))
        #expect(try values(document, "/domain/devices/disk/@device") == ["disk"])
        #expect(try values(document, "/domain/os/boot/@dev") == ["hd"])
    }

    /// Even a value validation would refuse can't add elements or attributes: the encoder escapes.
    @Test func metacharactersStayText() throws {
        let hostile = #"x</name><devices><disk type='block'><source dev='/dev/sda'/></disk></devices><name>"' &"#
        let xml = try DomainXML.domain(definition(name: hostile))
        let document = try parse(xml)
        #expect(try values(document, "/domain/name") == [hostile])
        #expect(try values(document, "//source/@dev").isEmpty)
        #expect(try document.nodes(forXPath: "/domain/devices").count == 1)
    }

    @Test func volumeAndPool() throws {
        let volume = try parse(try DomainXML.qcow2Volume(name: "web-disk0.qcow2", capacityGiB: 20))
        #expect(try values(volume, "/volume/name") == ["web-disk0.qcow2"])
        #expect(try values(volume, "/volume/capacity") == ["20"])
        #expect(try values(volume, "/volume/capacity/@unit") == ["GiB"])
        #expect(try values(volume, "/volume/target/format/@type") == ["qcow2"])
        let pool = try parse(try DomainXML.directoryPool(name: "hypervisor-images", path: "/var/lib/hypervisor/images"))
        #expect(try values(pool, "/pool/@type") == ["dir"])
        #expect(try values(pool, "/pool/target/path") == ["/var/lib/hypervisor/images"])
    }

    @Test func readsBackWhatLibvirtReturns() throws {
        let xml = """
            <domain type='qemu' id='3'>
              <name>web</name>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='qcow2'/>
                  <source file='/var/lib/hypervisor/images/web-disk0.qcow2' index='2'/>
                  <target dev='vda' bus='virtio'/>
                </disk>
                <disk type='file' device='cdrom'>
                  <source file='/var/lib/hypervisor/isos/d.iso'/>
                  <target dev='sda' bus='sata'/>
                  <readonly/>
                </disk>
                <serial type='pty'><target port='0'/></serial>
              </devices>
            </domain>
            """
        let description = try DomainDescription(xml: xml)
        #expect(description.domainType == "qemu")
        #expect(description.disks.map(\.target) == ["vda", "sda"])
        #expect(description.disks.map(\.source) == ["web-disk0.qcow2", "d.iso"], "clients see file names, never host paths")
        #expect(description.sourcePaths.map(\.path) == ["/var/lib/hypervisor/images/web-disk0.qcow2", "/var/lib/hypervisor/isos/d.iso"])
    }
}
