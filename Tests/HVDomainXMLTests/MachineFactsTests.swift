import Foundation
import HVDomainXML
import HVProtocol
import HVTestSupport
import Testing

@Suite struct MachineFactsTests {
    /// A running UEFI machine as libvirt's QEMU driver describes it once it has filled in the firmware.
    static let running = """
        <domain type='kvm' id='7'>
          <name>web1</name>
          <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
          <description>Web &amp; more</description>
          <os>
            <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
            <loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.ms.fd</loader>
            <nvram template='/usr/share/OVMF/OVMF_VARS_4M.ms.fd'>/var/lib/libvirt/qemu/nvram/web1_VARS.fd</nvram>
            <boot dev='hd'/>
          </os>
          <devices>
            <disk type='file' device='disk'>
              <driver name='qemu' type='qcow2' cache='none'/>
              <source file='/var/lib/hypervisor/images/web1-root.qcow2' index='2'/>
              <backingStore type='file' index='3'>
                <format type='qcow2'/>
                <source file='/var/lib/hypervisor/images/debian-12.qcow2'/>
              </backingStore>
              <target dev='vda' bus='virtio'/>
            </disk>
            <disk type='file' device='cdrom'>
              <driver name='qemu' type='raw'/>
              <target dev='sda' bus='sata'/>
              <readonly/>
            </disk>
            <interface type='network'>
              <mac address='52:54:00:9A:1F:14'/>
              <source network='default' portid='1b5e' bridge='virbr0'/>
              <target dev='vnet3'/>
              <model type='virtio'/>
            </interface>
            <interface type='bridge'>
              <mac address='52:54:00:12:34:56'/>
              <source bridge='br0'/>
              <model type='e1000e'/>
            </interface>
            <interface type='user'>
              <mac address='52:54:00:00:00:01'/>
            </interface>
            <graphics type='vnc' socket='/var/lib/libvirt/qemu/domain-7-web1/vnc.sock'>
              <listen type='socket' socket='/var/lib/libvirt/qemu/domain-7-web1/vnc.sock'/>
            </graphics>
          </devices>
        </domain>
        """

    @Test func readsWhatLibvirtAssigned() throws {
        let facts = try DomainFacts.read(domainXML: Self.running)
        #expect(facts.name == "web1")
        #expect(facts.uuid == "6695eb01-f6a4-8304-79aa-97f2502e193f")
        #expect(facts.domainType == "kvm")
        #expect(facts.isEFI)
        #expect(facts.secureBoot)
        #expect(facts.nvramPath == "/var/lib/libvirt/qemu/nvram/web1_VARS.fd")
        #expect(facts.macAddresses == ["52:54:00:9a:1f:14", "52:54:00:12:34:56", "52:54:00:00:00:01"])
        #expect(facts.interfaces.map(\.source) == [.network("default"), .bridge("br0"), nil])
        #expect(facts.interfaces.map(\.model) == ["virtio", "e1000e", nil])
        #expect(facts.disks.map(\.target) == ["vda", "sda"])
        #expect(facts.disks.map(\.bus) == ["virtio", "sata"])
        #expect(facts.disks.map(\.device) == ["disk", "cdrom"])
        #expect(facts.disks.map(\.sourcePath) == ["/var/lib/hypervisor/images/web1-root.qcow2", nil])
        #expect(facts.disks.map(\.format) == ["qcow2", "raw"])
        #expect(facts.disks.map(\.readOnly) == [false, true])
        #expect(facts.graphics?.socketPath == "/var/lib/libvirt/qemu/domain-7-web1/vnc.sock")
        #expect(facts.graphics?.port == nil)
        #expect(facts.graphics?.listen == .unsupported("a Unix socket"))
    }

    @Test func readsAutoSelectedFirmwareAndALoopbackPort() throws {
        let xml = """
            <domain type='qemu'>
              <name>lab</name>
              <os firmware='efi'>
                <type arch='x86_64' machine='q35'>hvm</type>
                <nvram type='file'><source file='/var/lib/libvirt/qemu/nvram/lab_VARS.fd'/></nvram>
              </os>
              <devices>
                <graphics type='spice' port='5901' autoport='yes' listen='127.0.0.1'>
                  <listen type='address' address='127.0.0.1'/>
                </graphics>
              </devices>
            </domain>
            """
        let facts = try DomainFacts.read(domainXML: xml)
        #expect(facts.isEFI)
        #expect(!facts.secureBoot)
        #expect(facts.nvramPath == "/var/lib/libvirt/qemu/nvram/lab_VARS.fd")
        #expect(
            facts.graphics
                == GraphicsFacts(
                    type: "spice", listen: .unsupported("127.0.0.1"), socketPath: nil, port: 5901, listenAddress: "127.0.0.1"
                )
        )
        #expect(facts.uuid == nil)
        #expect(facts.interfaces.isEmpty)
    }

    @Test func anInactiveDisplayHasNoPortAndBIOSHasNoNVRAM() throws {
        let xml = """
            <domain type='qemu'><name>a</name><os><type>hvm</type></os>
            <devices><graphics type='vnc' port='-1' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics></devices>
            </domain>
            """
        let facts = try DomainFacts.read(domainXML: xml)
        #expect(facts.graphics?.port == nil)
        #expect(facts.graphics?.listen == .unsupported("127.0.0.1"))
        #expect(!facts.isEFI)
        #expect(facts.nvramPath == nil)
    }

    /// Only a display that listens nowhere of its own reads back as `broker`. An address (loopback
    /// too), a socket, a network, or no listen at all (QEMU's configured address) is a place no spec
    /// can express, named as the domain gives it.
    @Test(arguments: [
        ("<graphics type='vnc'><listen type='none'/></graphics>", GraphicsListen.broker),
        ("<graphics type='spice'><listen type='none'/></graphics>", .broker),
        ("<graphics type='vnc' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics>", .unsupported("127.0.0.1")),
        ("<graphics type='vnc' listen='0.0.0.0'><listen type='none'/></graphics>", .unsupported("0.0.0.0")),
        ("<graphics type='spice'><listen type='none'/><listen type='address' address='::1'/></graphics>", .unsupported("::1")),
        ("<graphics type='spice' autoport='yes'><listen type='network' network='default'/></graphics>", .unsupported("network default")),
        ("<graphics type='vnc'><listen type='socket'/></graphics>", .unsupported("a Unix socket")),
        ("<graphics type='vnc' socket='/run/vnc.sock'><listen type='none'/></graphics>", .unsupported("a Unix socket")),
        ("<graphics type='vnc' port='5900'/>", .unsupported("qemu.conf's address")),
    ])
    func onlyADisplayThatListensNowhereIsTheBrokers(graphics: String, listen: GraphicsListen) throws {
        let xml = "<domain type='kvm'><name>a</name><devices>\(graphics)</devices></domain>"
        #expect(try DomainFacts.read(domainXML: xml).graphics?.listen == listen)
    }

    @Test func theBrokersOwnDisplayReadsBackAsBroker() throws {
        for type in GraphicsType.allCases {
            let xml = try DomainXML.machine(Sample.definition(graphics: MachineGraphics(type: type)))
            #expect(try DomainFacts.read(domainXML: xml).graphics?.listen == .broker)
        }
    }

    @Test(arguments: ["", "<domain>", "<network><name>x</name></network>", "not xml at all"])
    func refusesWhatIsNotADomain(xml: String) {
        let error = #expect(throws: HVError.self) { try DomainFacts.read(domainXML: xml) }
        #expect(error?.code == .failed)
        #expect(MachineMetadata.read(domainXML: xml) == nil)
    }

    @Test func metadataIsFoundByNamespaceNotPrefix() {
        let xml = """
            <domain type='qemu'><name>a</name><description>Lab &lt;box&gt;</description>
              <metadata>
                <other:machine xmlns:other="https://example.org/other"><other:spec>{}</other:spec></other:machine>
                <x:machine xmlns:x="\(MachineMetadata.namespace)">
                  <x:spec>{"name":"a"}</x:spec>
                  <x:owner uid="1001" group="ops"/>
                  <x:template>false</x:template>
                  <x:tags><x:tag>db</x:tag></x:tags>
                </x:machine>
              </metadata>
            </domain>
            """
        let metadata = MachineMetadata.read(domainXML: xml)
        #expect(
            metadata
                == MachineMetadata(
                    specJSON: #"{"name":"a"}"#, ownerUID: 1001, ownerGroup: "ops", template: false, tags: ["db"],
                    description: "Lab <box>"
                )
        )
    }

    @Test(arguments: [
        "<domain><name>a</name></domain>",
        "<domain><metadata><machine><spec>{}</spec><owner uid='1' group='g'/></machine></metadata></domain>",
        "<domain><metadata><m:machine xmlns:m='\(MachineMetadata.namespace)'><m:owner uid='1' group='g'/></m:machine></metadata></domain>",
        "<domain><metadata><m:machine xmlns:m='\(MachineMetadata.namespace)'><m:spec>{}</m:spec><m:owner uid='-1' group='g'/></m:machine></metadata></domain>",
    ])
    func noOrIncompleteMetadataReadsAsNone(xml: String) {
        #expect(MachineMetadata.read(domainXML: xml) == nil)
    }

    /// libvirt's test driver accepts the XML and returns it with a UUID and MACs filled in; the
    /// readers find them, and the metadata survives libvirt's own formatting.
    @Test(.enabled(if: LibvirtTools.virsh != nil, "virsh (package libvirt-clients) is not installed"))
    func roundTripsThroughLibvirt() throws {
        var metadata = Sample.metadata
        metadata.description = "multi\nline <desc> & \"quotes\""
        metadata.specJSON = "{\n  \"name\" : \"web1\",\n  \"note\" : \"</hv:spec>\"\n}"
        let nics = [
            MachineNic(source: .network("default")),
            MachineNic(source: .bridge("br0"), model: .e1000e, mac: "52:54:00:12:34:56"),
        ]
        let definition = Sample.definition(
            domainType: .test, firmware: .uefiSecure, seed: "/s/seed.iso", nics: nics, metadata: metadata
        )
        let dumped = try LibvirtTools.defineAndDump(try DomainXML.machine(definition), name: "web1")
        let facts = try DomainFacts.read(domainXML: dumped)
        #expect(facts.uuid?.count == 36)
        #expect(facts.macAddresses.count == 2)
        #expect(facts.macAddresses.allSatisfy { $0?.hasPrefix("52:54:00:") == true })
        #expect(facts.macAddresses.last == "52:54:00:12:34:56")
        #expect(facts.disks.map(\.target) == ["vda", "sda", "sdb"])
        #expect(
            facts.disks.map(\.sourcePath) == [
                "/var/lib/hypervisor/images/web1-root.qcow2", "/var/lib/hypervisor/isos/debian-12.iso", "/s/seed.iso",
            ])
        #expect(facts.isEFI)
        #expect(facts.graphics?.listen == .broker)
        #expect(facts.graphics?.port == nil && facts.graphics?.socketPath == nil && facts.graphics?.listenAddress == nil)
        #expect(MachineMetadata.read(domainXML: dumped) == metadata)

        var redefined = definition
        redefined.uuid = facts.uuid
        let again = try LibvirtTools.defineAndDump(try DomainXML.machine(redefined), name: "web1")
        #expect(try DomainFacts.read(domainXML: again).uuid == facts.uuid)
    }
}
