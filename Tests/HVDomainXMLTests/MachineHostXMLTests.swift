import Foundation
import FoundationXML
import HVTestSupport
import HVDomainXML
import HVProtocol
import Testing

/// The administrator's host features in domain XML: hugepages, vCPU pins and host devices.
@Suite struct MachineHostXMLTests {
    static let features = HostFeatures(
        hugepages: true, cpuPins: [CpuPin(vcpu: 0, cpus: "2-3"), CpuPin(vcpu: 1, cpus: "5")],
        pciDevices: ["0000:01:00.1"], usbDevices: ["046d:c52b"]
    )

    static func definition(_ features: HostFeatures = features) -> MachineDefinition {
        var metadata = Sample.metadata
        metadata.hostFeatures = features
        return Sample.definition(domainType: .kvm, metadata: metadata)
    }

    @Test func featuresBecomeTheirElements() throws {
        let document = try parsed(try DomainXML.machine(Self.definition()))
        #expect(try document.nodes(forXPath: "/domain/memoryBacking/hugepages").count == 1)
        #expect(try document.values("/domain/cputune/vcpupin/@vcpu") == ["0", "1"])
        #expect(try document.values("/domain/cputune/vcpupin/@cpuset") == ["2-3", "5"])
        let pci = "/domain/devices/hostdev[@type='pci' and @mode='subsystem' and @managed='yes']/source/address"
        #expect(try document.values("\(pci)/@domain") == ["0x0000"])
        #expect(try document.values("\(pci)/@bus") == ["0x01"])
        #expect(try document.values("\(pci)/@slot") == ["0x00"])
        #expect(try document.values("\(pci)/@function") == ["0x1"])
        let usb = "/domain/devices/hostdev[@type='usb' and @managed='yes']/source"
        #expect(try document.values("\(usb)/vendor/@id") == ["0x046d"])
        #expect(try document.values("\(usb)/product/@id") == ["0xc52b"])
    }

    @Test func noFeaturesNoElements() throws {
        let document = try parsed(try DomainXML.machine(Self.definition(HostFeatures())))
        for path in ["/domain/memoryBacking", "/domain/cputune", "/domain/devices/hostdev", "\(machineElement)/*[local-name()='host']"] {
            #expect(try document.nodes(forXPath: path).isEmpty, "\(path)")
        }
    }

    @Test func featuresSurviveInTheMetadata() throws {
        let xml = try DomainXML.machine(Self.definition())
        #expect(MachineMetadata.read(domainXML: xml)?.hostFeatures == Self.features)
        #expect(MachineMetadata.read(domainXML: try DomainXML.machine(Self.definition(HostFeatures())))?.hostFeatures == HostFeatures())
    }

    /// The element alone, as virDomainGetMetadata returns it (without its namespace), reads the
    /// same, less the description.
    @Test func theMetadataElementAloneReadsTheSame() throws {
        var expected = MachineMetadata(specJSON: #"{"name":"a & b"}"#, ownerUID: 7, ownerGroup: "ops", template: true, tags: ["x"])
        expected.hostFeatures = Self.features
        let host = #"{"cpuPins":[{"cpus":"2-3","vcpu":0},{"cpus":"5","vcpu":1}],"hugepages":true,"pciDevices":["0000:01:00.1"],"usbDevices":["046d:c52b"]}"#
        let element = """
            <machine>
              <spec>{"name":"a &amp; b"}</spec>
              <owner uid="7" group="ops"/>
              <template>true</template>
              <tags><tag>x</tag></tags>
              <host>\(host)</host>
            </machine>
            """
        #expect(MachineMetadata.read(machineElement: element) == expected)
        #expect(MachineMetadata.read(machineElement: "<machine><spec>{}</spec></machine>") == nil, "no owner: not ours")
        #expect(MachineMetadata.read(machineElement: "<domain/>") == nil)
    }

    @Test func aPinBeyondTheVCPUsIsRefusedNamingVcpus() {
        let features = HostFeatures(cpuPins: [CpuPin(vcpu: 2, cpus: "1")])
        let error = #expect(throws: HVError.self) { _ = try DomainXML.machine(Self.definition(features)) }
        #expect(error?.code == .invalidSpec && error?.details["field"] == "vcpus", "\(String(describing: error))")
        #expect(error?.reason.contains("vCPU 2 is pinned") == true)
    }

    @Test func nonCanonicalListsNeverReachTheXML() {
        for features in [
            HostFeatures(cpuPins: [CpuPin(vcpu: 0, cpus: "1,0")]),
            HostFeatures(pciDevices: ["01:00.0"]),
            HostFeatures(usbDevices: ["046D:C52B"]),
            HostFeatures(pciDevices: ["0000:01:00.0'/><disk"]),
        ] {
            #expect(throws: HVError.self, "\(features)") { _ = try DomainXML.machine(Self.definition(features)) }
        }
    }

    @Test(.enabled(if: LibvirtTools.validator != nil, "virt-xml-validate is not installed"))
    func featuresValidateAgainstLibvirtsSchema() throws {
        let xml = try DomainXML.machine(Self.definition())
        let output = try LibvirtTools.validate(xml, schema: "domain")
        #expect(output.status == 0, "\(xml)\n\(output)")
    }
}
