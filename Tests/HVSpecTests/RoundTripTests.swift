import Foundation
import HVProtocol
import HVSpec
import Testing

@Suite struct RoundTripTests {
    /// Specs that exercise every field and the awkward values: text YAML would read as another type,
    /// multi-line and unicode text, quotes, colons and comment signs.
    static let specs: [MachineSpec] = {
        var specs = [baseSpec]
        var full = baseSpec
        full.description = "Web server: the \"front\" one # not a comment\nsecond line\twith a tab\n"
        full.tags = ["web", "1", "true", "null", "on"]
        full.firmware = .uefiSecure
        full.machine = .pc
        full.disks = [
            DiskSpec(name: "root", size: ByteSize(bytes: (20 << 30) + (1 << 20)), bus: .sata, cache: .writeback),
            DiskSpec(name: "data", size: .tebibytes(2), template: "debian-12", pool: "fast", bus: .scsi, cache: .unsafe),
        ]
        full.cdrom = "debian-12.iso"
        full.networks = [NicSpec(bridge: "br0", model: .e1000e, mac: "52:54:00:AB:CD:EF"), NicSpec(network: "default", model: .rtl8139)]
        full.graphics = GraphicsSpec(type: .spice, listen: .broker)
        full.serial = false
        full.tpm = true
        full.autostart = AutostartSpec(enabled: false, order: 999)
        full.cloudInit = CloudInitSpec(
            userData: "#cloud-config\nusers:\n  - name: ops\n    ssh_authorized_keys: [\"ssh-ed25519 AAAA ops@lab\"]\n",
            metaData: "instance-id: web1-2\n", networkConfig: "version: 2\nethernets: {}"
        )
        specs.append(full)
        var odd = MachineSpec(name: "2024", description: "yes", vcpus: 64, memory: .mebibytes(1536), cdrom: "x.iso")
        odd.cloudInit = CloudInitSpec(userData: "#!/bin/sh\necho 'hello: world'  \n\n")
        specs.append(odd)
        specs.append(MachineSpec(name: "uber-ok", description: "Grüße, 日本 ✓", vcpus: 1, memory: .mebibytes(64), cdrom: "a.iso"))
        return specs
    }()

    @Test func theSpecsAreValid() {
        for spec in Self.specs { #expect(validationError(spec) == nil, "\(spec.name)") }
    }

    @Test(arguments: specs)
    func exportThenReadGivesTheNormalizedSpec(_ spec: MachineSpec) throws {
        let text = SpecFile.export(spec)
        let back = try read(text)
        #expect(back == spec.normalized(), "\(text)")
        #expect(SpecFile.export(back) == text)
    }

    @Test(arguments: specs)
    func jsonRoundTripsToo(_ spec: MachineSpec) throws {
        let json = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        #expect(try read(json, name: "spec.json") == spec.normalized())
    }

    @Test func theExampleExportsInAFixedReadableOrder() throws {
        let text = SpecFile.export(try read(exampleYAML))
        let expected = """
            name: web1
            description: Web server for the lab
            tags: [web, lab]
            vcpus: 2
            memory: 2GiB
            firmware: bios
            machine: q35
            disks:
            - name: root
              size: 20GiB
              bus: virtio
              cache: none
            - name: data
              template: debian-12
              pool: hypervisor-images
              bus: virtio
              cache: none
            cdrom: debian-12.iso
            networks:
            - network: default
              model: virtio
              mac: "52:54:00:12:34:56"
            - bridge: br0
              model: virtio
            graphics: {type: vnc, listen: broker}
            serial: true
            tpm: false
            autostart: {enabled: true, order: 10}
            cloud_init:
              user_data: |
                #cloud-config
                hostname: web1
              meta_data: |
                instance-id: web1

            """
        #expect(text == expected)
    }

    @Test func exportQuotesTextThatYAMLWouldReadAsSomethingElse() {
        let text = SpecFile.export(Self.specs[2])
        #expect(text.contains("name: '2024'"))
        #expect(text.contains("description: 'yes'"))
        #expect(text.contains("memory: 1536MiB"))
    }
}
