import Foundation
import HVDomainXML
import HVProtocol
import Testing

@Suite struct MachineTPMTests {
    private func definition(tpm: Bool, machine: MachineType = .q35) -> MachineDefinition {
        var definition = Sample.definition(machine: machine)
        definition.tpm = tpm
        return definition
    }

    @Test(arguments: [(MachineType.q35, "tpm-crb"), (.pc, "tpm-tis")])
    func aTPMIsAnEmulatedTPM2WhoseModelFollowsTheMachineType(machine: MachineType, model: String) throws {
        let document = try parsed(try DomainXML.machine(definition(tpm: true, machine: machine)))
        #expect(try document.values("/domain/devices/tpm/@model") == [model])
        #expect(try document.values("/domain/devices/tpm/backend/@type") == ["emulator"])
        #expect(try document.values("/domain/devices/tpm/backend/@version") == ["2.0"])
        // libvirt chooses where the state lives (its own swtpm directory, by UUID): no path is given.
        #expect(try document.values("/domain/devices/tpm//@*").count == 3)
        #expect(try document.values("/domain/devices/tpm/backend/*").isEmpty)
    }

    @Test func withoutTPMThereIsNoTPMDevice() throws {
        let document = try parsed(try DomainXML.machine(definition(tpm: false)))
        #expect(try document.values("/domain/devices/tpm").isEmpty)
    }

    /// Adopting a domain keeps exactly the TPM a spec would give it; any other TPM can't be written
    /// as a spec, and is not a device the adoption would silently drop either.
    @Test func adoptionReadsTheTPMASpecCanSay() throws {
        func domain(_ devices: String) -> String {
            "<domain type='kvm'><name>d</name><devices>\(devices)</devices></domain>"
        }
        let crb = "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"
        let tis = "<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>"
        #expect(try AdoptionCheck.tpm(domainXML: domain(""), machine: .q35) == false)
        #expect(try AdoptionCheck.tpm(domainXML: domain(crb), machine: .q35) == true)
        #expect(try AdoptionCheck.tpm(domainXML: domain(tis), machine: .pc) == true)
        #expect(try AdoptionCheck.tpm(domainXML: try DomainXML.machine(definition(tpm: true, machine: .pc)), machine: .pc) == true)
        for other in [
            tis,
            "<tpm model='tpm-crb'><backend type='emulator' version='1.2'/></tpm>",
            "<tpm model='tpm-crb'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>",
            crb + crb,
        ] {
            #expect(try AdoptionCheck.tpm(domainXML: domain(other), machine: .q35) == nil, "\(other)")
        }
        #expect(try AdoptionCheck.unexpressible(domainXML: domain(crb)).isEmpty)
    }

    @Test func theDescriptionSaysWhetherADomainHasATPM() throws {
        #expect(try DomainDescription(xml: try DomainXML.machine(definition(tpm: true))).hasTPM)
        #expect(try !DomainDescription(xml: try DomainXML.machine(definition(tpm: false))).hasTPM)
    }
}

/// `MachineTPM.check` over domain capabilities as libvirt reports them (`virsh domcapabilities`).
@Suite struct TPMCapabilityTests {
    /// The `<tpm>` part of libvirt 9.0's domain capabilities for QEMU 7.2 with swtpm installed;
    /// `change` edits it to describe other hosts.
    static func capabilities(supported: String = "yes", models: [String] = ["tpm-tis", "tpm-crb"],
                             backends: [String] = ["passthrough", "emulator", "external"],
                             versions: [String] = ["1.2", "2.0"]) -> String {
        func values(_ name: String, _ values: [String]) -> String {
            "<enum name='\(name)'>" + values.map { "<value>\($0)</value>" }.joined() + "</enum>"
        }
        return """
            <domainCapabilities>
              <path>/usr/bin/qemu-system-x86_64</path>
              <domain>qemu</domain>
              <machine>pc-q35-7.2</machine>
              <arch>x86_64</arch>
              <devices>
                <disk supported='yes'>\(values("diskDevice", ["disk", "cdrom"]))</disk>
                <tpm supported='\(supported)'>
                  \(values("model", models))
                  \(values("backendModel", backends))
                  \(values("backendVersion", versions))
                </tpm>
              </devices>
            </domainCapabilities>
            """
    }

    private func refusal(_ xml: String, machine: MachineType = .q35) -> HVError? {
        do {
            try MachineTPM.check(domainCapabilities: xml, machine: machine)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: MachineType.allCases)
    func aHostWithSwtpmCanGiveEitherMachineTypeATPM(machine: MachineType) {
        #expect(refusal(Self.capabilities(), machine: machine) == nil)
    }

    /// libvirt lists the emulator backend only when it found swtpm.
    @Test func withoutSwtpmATPMIsRefusedNamingTheFieldAndWhatToInstall() throws {
        let error = try #require(refusal(Self.capabilities(backends: ["passthrough", "external"])))
        #expect(error.code == .invalidState)
        #expect(error.details["field"] == "tpm")
        #expect(error.reason.hasPrefix("tpm: "))
        #expect(error.reason.contains("swtpm"))
        #expect(error.fix?.contains("apt-get install swtpm swtpm-tools") == true)
        #expect(error.fix?.contains("virtualisation.libvirtd.qemu.swtpm.enable = true") == true)
    }

    @Test func otherHostsThatCannotEmulateTheTPMRefuseIt() {
        let hosts = [
            Self.capabilities(supported: "no", models: [], backends: [], versions: []),
            Self.capabilities(versions: ["1.2"]),
            Self.capabilities(models: ["tpm-tis"]),
            // No <tpm> element at all: a libvirt that knows no TPMs.
            "<domainCapabilities><devices><disk supported='yes'/></devices></domainCapabilities>",
        ]
        for xml in hosts {
            #expect(refusal(xml)?.code == .invalidState, "\(xml)")
        }
        // tpm-tis is what a pc machine gets, so a host with only that model can still give it one.
        #expect(refusal(Self.capabilities(models: ["tpm-tis"]), machine: .pc) == nil)
    }

    @Test func capabilitiesThatAreNotDomainCapabilitiesAreAFailure() {
        #expect(refusal("<capabilities/>")?.code == .failed)
    }
}
