import Foundation
import HVProtocol
import HVSpec
import Testing

@Suite struct SpecFileTests {
    @Test func theFullExampleParses() throws {
        let spec = try read(exampleYAML)
        #expect(spec.name == "web1")
        #expect(spec.description == "Web server for the lab")
        #expect(spec.tags == ["web", "lab"])
        #expect(spec.vcpus == 2)
        #expect(spec.memory == .gibibytes(2))
        #expect(spec.firmware == .bios)
        #expect(spec.machine == .q35)
        #expect(spec.disks == [
            DiskSpec(name: "root", size: .gibibytes(20), bus: .virtio, cache: .none),
            DiskSpec(name: "data", template: "debian-12", pool: "hypervisor-images"),
        ])
        #expect(spec.cdrom == "debian-12.iso")
        #expect(spec.networks == [NicSpec(network: "default", model: .virtio, mac: "52:54:00:12:34:56"), NicSpec(bridge: "br0")])
        #expect(spec.graphics == GraphicsSpec(type: .vnc, listen: .broker))
        #expect(spec.serial)
        #expect(!spec.tpm, "the example has no TPM, and a spec without the field has none")
        #expect(spec.autostart == AutostartSpec(enabled: true, order: 10))
        #expect(spec.cloudInit == CloudInitSpec(userData: "#cloud-config\nhostname: web1\n", metaData: "instance-id: web1\n"))
    }

    @Test func jsonFilesGiveTheSameSpec() throws {
        let yaml = try read(exampleYAML)
        let json = String(decoding: try JSONEncoder().encode(yaml), as: UTF8.self)
        #expect(try read(json, name: "web1.json") == yaml)
    }

    @Test func aMinimalFileAndOneWithEveryDefaultAreEqual() throws {
        let minimal = try read("name: web1\nvcpus: 1\nmemory: 512MiB\ncdrom: debian-12.iso\ndisks: [{name: root, template: debian-12}]")
        let explicit = try read("""
            name: web1
            tags: []
            vcpus: 1
            memory: 536870912
            firmware: bios
            machine: q35
            disks:
              - {name: root, template: debian-12, bus: virtio, cache: none}
            cdrom: debian-12.iso
            networks: []
            serial: true
            tpm: false
            """)
        #expect(minimal == explicit)
        #expect(minimal.normalized() == explicit.normalized())
        #expect(minimal.firmware == .bios && minimal.serial && minimal.disks[0].bus == .virtio)
    }

    @Test func aTPMIsAskedForWithTrue() throws {
        #expect(try read(minimal("tpm: true\n")).tpm)
        #expect(try !read(minimal("tpm: false\n")).tpm)
        let json = #"{"name": "web1", "vcpus": 2, "memory": "2GiB", "cdrom": "win11.iso", "tpm": true}"#
        #expect(try read(json, name: "web1.json").tpm)
    }

    @Test func normalizationLowersMacAddressesAndDropsEmptyText() throws {
        let spec = try read(minimal("description: ''\nnetworks: [{network: default, mac: '52:54:00:AB:CD:EF'}]\n"))
        #expect(spec.networks[0].mac == "52:54:00:ab:cd:ef")
        #expect(spec.description == nil)
    }

    /// A plain YAML scalar where the spec expects text is that text, not a number or a boolean.
    @Test func plainScalarsAreTextWhereTextIsExpected() throws {
        let spec = try read("name: 2024\nvcpus: 2\nmemory: 2GiB\ndescription: yes\ntags: [1, on]\ndisks: [{name: 1, size: 20GiB}]")
        #expect(spec.name == "2024")
        #expect(spec.description == "yes")
        #expect(spec.tags == ["1", "on"])
        #expect(spec.disks[0].name == "1")
    }

    /// `broker` is the only place a display listens; `socket`, the earlier default, is read as it.
    @Test(arguments: ["", ", listen: broker", ", listen: socket"])
    func aDisplayListensOnlyThroughTheBroker(listen: String) throws {
        let spec = try read(minimal("graphics: {type: spice\(listen)}\n"))
        #expect(spec.graphics == GraphicsSpec(type: .spice, listen: .broker))
        #expect(SpecFile.export(spec).contains("graphics: {type: spice, listen: broker}"))
    }

    /// What an earlier version recorded (`loopback`) still reads, so the machine can be shown and
    /// changed, but validation refuses it, naming the field, why, and what to write instead.
    @Test func aLoopbackDisplayIsReadButRefused() throws {
        let recorded = #"{"name":"web1","vcpus":2,"memory":"2GiB","cdrom":"a.iso","graphics":{"type":"vnc","listen":"loopback"}}"#
        let spec = try JSONDecoder().decode(MachineSpec.self, from: Data(recorded.utf8))
        #expect(spec.graphics == GraphicsSpec(type: .vnc, listen: .unsupported("loopback")))
        let error = try #require(validationError(spec))
        #expect(error.code == .invalidSpec)
        #expect(error.details["field"] == "graphics.listen")
        #expect(error.reason.contains("'loopback'"))
        #expect(error.reason.contains("no password"))
        #expect(error.reason.contains("anyone on the host could connect"))
        #expect(error.fix == "omit 'listen'; the console will be handed out by the broker")
        let exported = SpecFile.export(spec)
        #expect(exported.contains("graphics: {type: vnc, listen: loopback}"))
        #expect(readError(exported)?.details["field"] == "graphics.listen")
    }

    /// The example shipped in docs/examples reads and validates.
    @Test func theShippedExampleIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("docs/examples/web1.yaml").path
        let spec = try read(try String(contentsOfFile: path, encoding: .utf8))
        #expect(spec.name == "web1")
        #expect(spec.graphics?.listen == .broker)
    }

    @Test func fileLevelProblemsNameTheFile() throws {
        let empty = try #require(readError(""))
        #expect(empty.code == .invalidSpec)
        #expect(empty.reason == "web1.yaml: is empty")
        let broken = try #require(readError("name: [web1\n"))
        #expect(broken.reason.hasPrefix("web1.yaml: is not valid YAML"))
        let json = try #require(readError("{\"name\": ", name: "web1.json"))
        #expect(json.reason.hasPrefix("web1.json: is not valid JSON"))
        let list = try #require(readError("- name: web1\n"))
        #expect(list.reason.contains("a spec must be a mapping of fields, got a list"))
    }
}

@Suite struct SpecFileErrorNamingTests {
    /// `hv vm apply bad1.yaml` said "bad1.yaml: bad1.yaml: is empty".
    @Test func aFileLevelErrorNamesTheFileOnce() throws {
        let empty = try #require(readError("", name: "bad1.yaml"))
        #expect(SpecFile.error(empty, in: "bad1.yaml").reason == "bad1.yaml: is empty")
        let broken = try #require(readError("name: [web1\n", name: "bad1.yaml"))
        let named = SpecFile.error(broken, in: "bad1.yaml")
        #expect(named.reason.hasPrefix("bad1.yaml: is not valid YAML"))
        #expect(!named.reason.contains("bad1.yaml: bad1.yaml"))
    }

    @Test func aFieldErrorGetsTheFileInFront() throws {
        let error = try #require(readError("name: web1\nvcpus: 0\nmemory: 1GiB\n", name: "bad1.yaml"))
        let named = SpecFile.error(error, in: "bad1.yaml")
        #expect(named.reason.hasPrefix("bad1.yaml: vcpus: "), "\(named.reason)")
        #expect(named.details["file"] == "bad1.yaml")
        #expect(named.details["field"] == "vcpus")
    }
}
