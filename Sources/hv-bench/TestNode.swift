import Foundation
import HVDomainXML
import HVProtocol
import XMLCoder

/// A node file for libvirt's test driver (`test:///ABSOLUTE/PATH.xml`): `count` domains, all
/// running when the driver loads the file, each with one disk and one network interface.
///
/// Encoded with `XMLEncoder`, which escapes every value; the names are generated here
/// (`bench-0001`, ...), never taken from input.
struct TestNode: Encodable {
    var domain: [TestDomain]

    init(count: Int) {
        domain = (1...max(count, 1)).map(TestDomain.init(index:))
    }

    /// The name of the domain with 1-based `index`.
    static func name(_ index: Int) -> String {
        "bench-" + String(format: "%04d", index)
    }

    /// Writes the node file for `count` domains to `path` and returns its `test:///` URI.
    static func write(count: Int, to path: String) throws(BenchError) -> String {
        precondition(path.hasPrefix("/"), "the test driver needs an absolute path")
        let encoder = XMLEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        encoder.prettyPrintIndentation = .spaces(2)
        do {
            let data = try encoder.encode(TestNode(count: count), withRootKey: "node")
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw BenchError(.measurementFailed, "cannot write the test-driver node file \(path): \(error)")
        }
        return "test://" + path
    }
}

/// Encodes the listed coding keys as attributes, everything else as elements.
protocol XMLAttributes: Encodable, DynamicNodeEncoding {
    static var attributeKeys: Set<String> { get }
}

extension XMLAttributes {
    static func nodeEncoding(for key: any CodingKey) -> XMLEncoder.NodeEncoding {
        attributeKeys.contains(key.stringValue) ? .attribute : .element
    }
}

/// One `<domain type="test">`: 1 vCPU, 512 MiB, a qcow2 disk `vda` and an interface `vnetN`.
struct TestDomain: XMLAttributes {
    static var attributeKeys: Set<String> { ["type"] }

    var type = "test"
    var name: String
    var uuid: String
    var memory: Sized
    var currentMemory: Sized
    /// The broker's record, as a machine made from a spec has it (autostart enabled, order 10), so
    /// Host.Stats reads and parses it for every domain as it does on a real host.
    var metadata: MetadataElement
    var vcpu = 1
    var os = OS()
    var devices: Devices

    init(index: Int) {
        name = TestNode.name(index)
        // A fixed prefix and the index in the last group: stable across runs, unique per domain.
        uuid = "6862656e-6368-4000-8000-" + String(format: "%012x", index)
        memory = Sized(unit: "MiB", value: 512)
        currentMemory = memory
        metadata = MetadataElement(Self.record(name))
        let mac = [(index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff].map { String(format: "%02x", $0) }
        devices = Devices(
            disk: Disk(source: .init(file: "/var/lib/hv-bench/\(name).qcow2")),
            interface: Interface(
                mac: .init(address: "52:54:00:" + mac.joined(separator: ":")), target: .init(dev: "vnet\(index)")
            )
        )
    }

    static func record(_ name: String) -> MachineMetadata {
        let spec = MachineSpec(
            name: name, vcpus: 1, memory: .mebibytes(512), disks: [DiskSpec(name: "root", size: .gibibytes(10))],
            networks: [NicSpec(network: "default")], autostart: AutostartSpec(enabled: true, order: 10)
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(spec.normalized())).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return MachineMetadata(specJSON: json, ownerUID: 1000, ownerGroup: "hypervisor-operators", tags: ["bench"])
    }

    struct Sized: XMLAttributes {
        static var attributeKeys: Set<String> { ["unit"] }
        var unit: String
        var value: Int
        enum CodingKeys: String, CodingKey {
            case unit
            case value = ""
        }
    }

    struct OS: Encodable {
        var type = OSType()

        struct OSType: XMLAttributes {
            static var attributeKeys: Set<String> { ["arch"] }
            var arch = "x86_64"
            var value = "hvm"
            enum CodingKeys: String, CodingKey {
                case arch
                case value = ""
            }
        }
    }

    struct Devices: Encodable {
        var disk: Disk
        var interface: Interface
    }

    struct Disk: XMLAttributes {
        static var attributeKeys: Set<String> { ["type", "device"] }
        var type = "file"
        var device = "disk"
        var source: Source
        var target = Target()

        struct Source: XMLAttributes {
            static var attributeKeys: Set<String> { ["file"] }
            var file: String
        }

        struct Target: XMLAttributes {
            static var attributeKeys: Set<String> { ["dev", "bus"] }
            var dev = "vda"
            var bus = "virtio"
        }
    }

    struct Interface: XMLAttributes {
        static var attributeKeys: Set<String> { ["type"] }
        var type = "network"
        var mac: MAC
        var source = Source()
        var target: Target

        struct MAC: XMLAttributes {
            static var attributeKeys: Set<String> { ["address"] }
            var address: String
        }

        struct Source: XMLAttributes {
            static var attributeKeys: Set<String> { ["network"] }
            var network = "default"
        }

        struct Target: XMLAttributes {
            static var attributeKeys: Set<String> { ["dev"] }
            var dev: String
        }
    }
}
