import Foundation
import HVProtocol
import HVSpec
import Testing

/// Hostile or careless spec files: each is refused with a message that names the field.
@Suite struct AdversarialTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let yaml: String
        let field: String
        let reason: String
        var testDescription: String { yaml }
        init(_ yaml: String, _ field: String, _ reason: String) {
            self.yaml = yaml
            self.field = field
            self.reason = reason
        }
    }

    static let cases: [Case] = [
        // Markup where plain text belongs.
        .init("description: \"<![CDATA[x]]></description><devices><disk/>\"\n", "description", "descriptions are plain text"),
        .init("description: \"a &amp; b\"\n", "description", "'&'"),
        // Paths wherever a name goes.
        .init("disks:\n  - {name: ../etc/passwd, size: 1GiB}\n", "disks[0].name", "paths are not accepted"),
        .init("disks:\n  - {name: root, size: 20GiB}\n  - {name: x, template: /var/lib/images/base.qcow2}\n",
              "disks[1].template", "paths are not accepted"),
        .init("networks: [{bridge: ../br0}]\n", "networks[0].bridge", "paths are not accepted"),
        .init("networks: [{network: /etc/libvirt/qemu/networks/default.xml}]\n", "networks[0].network", "paths are not accepted"),
        .init("cdrom: ../../root/secret.iso\n", "cdrom", "paths are not accepted"),
        // Sizes that are enormous, negative or not sizes.
        .init("memory: 99999999TiB\n", "memory", "'99999999TiB' is far too large to be a size"),
        .init("memory: -1\n", "memory", "sizes cannot be negative, got '-1'"),
        .init("memory: 1e30\n", "memory", "'1e30' is not a size"),
        .init("memory: 1.5\n", "memory", "must be between 64 MiB and 1 TiB"),
        .init("disks:\n  - {name: root, size: -5GiB}\n", "disks[0].size", "sizes cannot be negative, got '-5GiB'"),
        .init("disks:\n  - {name: root, size: 99999999TiB}\n", "disks[0].size", "far too large"),
        .init("disks:\n  - {name: root, size: 1e30}\n", "disks[0].size", "'1e30' is not a size"),
        .init("disks:\n  - {name: root, size: 20 GB of disk}\n", "disks[0].size", "is not a size"),
        .init("vcpus: -1\n", "vcpus", "between 1 and 64, got -1"),
        .init("vcpus: 99999999999999999999999\n", "vcpus", "must be a whole number"),
        // Base-60 numbers (YAML 1.1) too large for 64 bits, found by the fuzzer: Yams trapped on them.
        .init("vcpus: 400000000004000004:4:44\n", "vcpus", "must be a whole number"),
        .init("vcpus: 1:0:0:0:0:0:0:0:0:0:0:0\n", "vcpus", "must be a whole number"),
        .init("vcpus: 1:0:0:0:0:0:0:0:0:0:0\n", "vcpus", "between 1 and 64, got 604661760000000000"),
        // Duplicates.
        .init("disks:\n  - {name: root, size: 20GiB}\n  - {name: root, size: 10GiB}\n", "disks[1].name", "duplicate disks"),
        .init("networks:\n  - {network: default, mac: '52:54:00:00:00:01'}\n  - {bridge: br0, mac: '52:54:00:00:00:01'}\n",
              "networks[1].mac", "duplicate MAC"),
        // Unknown fields, with suggestions where one is close.
        .init("disks:\n  - {name: root, sise: 20GiB}\n", "disks[0].sise", "unknown field 'sise'; did you mean 'size'?"),
        .init("cloudInit: {user_data: '#cloud-config'}\n", "cloudInit", "did you mean 'cloud_init'?"),
        .init("memroy: 2GiB\n", "memroy", "did you mean 'memory'?"),
        .init("networks: [{network: default, modle: virtio}]\n", "networks[0].modle", "did you mean 'model'?"),
        .init("hostdev: 0000:01:00.0\n", "hostdev", "unknown field 'hostdev'"),
        // A display anyone on the host could open: on loopback or any address, with no password.
        .init("graphics: {type: vnc, listen: loopback}\n", "graphics.listen", "anyone on the host could connect"),
        .init("graphics: {type: spice, listen: 127.0.0.1}\n", "graphics.listen", "anyone on the host could connect"),
        .init("graphics: {type: vnc, listen: 0.0.0.0}\n", "graphics.listen", "with no password"),
        .init("graphics: {type: vnc, listen: '::'}\n", "graphics.listen", "with no password"),
        .init("graphics: {type: vnc, listen: 5900}\n", "graphics.listen", "a port of its own with no password"),
        .init("firmware: uefi-secur\n", "firmware", "did you mean 'uefi-secure'?"),
        // Wrong types.
        .init("vcpus: two\n", "vcpus", "must be a whole number, got the text 'two'"),
        .init("vcpus: \"2\"\n", "vcpus", "must be a whole number, got the text '2'"),
        .init("serial: maybe\n", "serial", "must be true or false"),
        .init("tpm: maybe\n", "tpm", "must be true or false"),
        .init("tpm: 2.0\n", "tpm", "must be true or false"),
        .init("tpm: {version: 2.0}\n", "tpm", "must be true or false"),
        .init("tags: web\n", "tags", "must be a list, got the text 'web'"),
        .init("disks: {name: root}\n", "disks", "must be a list, got a mapping"),
        .init("disks: [root]\n", "disks[0]", "must be a mapping of fields, got the text 'root'"),
        .init("autostart: true\n", "autostart", "must be a mapping of fields, got true"),
        .init("graphics: {listen: socket}\n", "graphics.type", "is required but missing"),
        .init("disks:\n  - size: 20GiB\n", "disks[0].name", "is required but missing"),
    ]

    /// The cases replace or extend a valid minimal spec; later keys win by being the only ones.
    @Test(arguments: cases)
    func refusedWithTheFieldNamed(_ adversarial: Case) throws {
        let base = ["name: web1", "vcpus: 2", "memory: 2GiB", "disks:\n  - {name: root, size: 20GiB}"]
        let key = adversarial.yaml.prefix { $0 != ":" }
        let kept = base.filter { !$0.hasPrefix(key + ":") }
        let text = kept.joined(separator: "\n") + "\n" + adversarial.yaml
        let error = try #require(readError(text))
        #expect(error.code == .invalidSpec)
        #expect(error.details["field"] == adversarial.field, "\(error.reason)")
        #expect(error.reason.contains(adversarial.reason), "\(error.reason)")
        #expect(error.fix?.isEmpty == false)
    }

    @Test func typeErrorsShowHowToWriteTheField() throws {
        let entry = try #require(readError(minimal("networks: [default]\n")))
        #expect(entry.reason == "networks[0]: must be a mapping of fields, got the text 'default'")
        #expect(entry.fix == "write each entry like '- {network: default}'")
        let tag = try #require(readError(minimal("tags: [[web]]\n")))
        #expect(tag.fix == "write each entry like '- web'")
        let memory = try #require(readError("name: web1\nvcpus: 2\nmemory: [2GiB]\ncdrom: a.iso\n"))
        #expect(memory.reason == "memory: must be a size such as 20GiB, got a list")
        #expect(memory.fix == "write it like 'memory: 2GiB'")
    }

    @Test func unknownFieldsSuggestTheFix() throws {
        let error = try #require(readError(minimal().replacingOccurrences(of: "size:", with: "sise:")))
        #expect(error.reason == "disks[0].sise: unknown field 'sise'; did you mean 'size'?")
        #expect(error.fix == "write 'size' instead of 'sise'")
        let far = try #require(readError(minimal("xyzzy: 1\n")))
        #expect(far.fix?.contains("name, description, tags, vcpus, memory") == true)
    }

    @Test func aliasBombsAreRefusedBeforeTheyExpand() throws {
        var lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
        for level in 1...9 {
            let previous = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(level - 1)))
            let name = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(level)))
            lines.append("\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]")
        }
        let error = try #require(readError(minimal(lines.joined(separator: "\n") + "\ntags: *j\n")))
        #expect(error.reason.contains("anchors and aliases"))
        #expect(error.reason.contains("expand"))
        let harmless = try #require(readError("name: &n web1\nvcpus: 2\nmemory: 2GiB\ncdrom: debian-12.iso\n"))
        #expect(harmless.reason.contains("anchors and aliases"))
    }

    @Test func severalDocumentsAreRefused() throws {
        let error = try #require(readError(minimal() + "---\n" + minimal()))
        #expect(error.reason.contains("several YAML documents"))
        #expect(error.fix?.contains("file of its own") == true)
    }

    @Test func oversizedFilesAreRefusedUnread() throws {
        let padding = "# " + String(repeating: "x", count: 300 << 10) + "\n"
        let error = try #require(readError(minimal() + padding))
        #expect(error.reason.contains("spec files may be at most 256 KiB"))
    }

    @Test func deepNestingIsRefused() throws {
        let deep = String(repeating: "[", count: 900) + String(repeating: "]", count: 900)
        let error = try #require(readError(minimal("tags: \(deep)\n")))
        #expect(error.code == .invalidSpec)
        let tooDeep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        #expect(readError(minimal("tags: \(tooDeep)\n"))?.code == .invalidSpec)
    }

    @Test func duplicateKeysAreRefused() throws {
        let yaml = try #require(readError(minimal("vcpus: 4\n")))
        #expect(yaml.code == .invalidSpec)
        #expect(yaml.reason.contains("vcpus"))
    }

    @Test func jsonGetsTheSameStrictness() throws {
        let unknown = try #require(readError(#"{"name": "web1", "vcpus": 2, "memory": "2GiB", "cdrom": "a.iso", "vcpu": 1}"#, name: "w.json"))
        #expect(unknown.reason == "vcpu: unknown field 'vcpu'; did you mean 'vcpus'?")
        let types = try #require(readError(#"{"name": 5, "vcpus": 2, "memory": "2GiB", "cdrom": "a.iso"}"#, name: "w.json"))
        #expect(types.reason == "name: must be text, got the number 5")
        let negative = try #require(readError(#"{"name": "w", "vcpus": 2, "memory": -5, "cdrom": "a.iso"}"#, name: "w.json"))
        #expect(negative.reason == "memory: sizes cannot be negative, got '-5'")
        let twice = try #require(readError(
            #"{"name": "web1", "vcpus": 2, "memory": "2GiB", "disks": [{"name": "a", "size": 1}, {"size": 2, "na\u006de": "b", "name": "c"}]}"#,
            name: "w.json"
        ))
        #expect(twice.reason == "disks[1].name: appears twice in the same object")
        let escaped = try read(#"{"name": "web1", "description": "a \"name\": x, {", "vcpus": 2, "memory": "2GiB", "cdrom": "a.iso"}"#, name: "w.json")
        #expect(escaped.description == #"a "name": x, {"#)
        let huge = try #require(readError(#"{"name": "w", "vcpus": 2, "memory": 1e30, "cdrom": "a.iso"}"#, name: "w.json"))
        #expect(huge.reason.contains("far too large"))
    }

    /// Found by the fuzzer (scripts/fuzz.sh spec-json): Foundation's decoder accepts `0`, NUL bytes
    /// and a stray quote or bracket, and the duplicate-key scan then read past the end of the file
    /// or closed more than it had opened, a trap instead of an error.
    @Test(arguments: [" \"}", " \"", " ]]", "}"])
    func jsonTheDecoderWronglyAcceptsIsRefused(after zero: String) throws {
        let error = try #require(readError("0\0\0\0" + zero, name: "w.json"))
        #expect(error.code == .invalidSpec)
        #expect(error.reason.contains("a spec must be a mapping of fields"), "\(error.reason)")
    }
}
