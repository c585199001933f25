import HVProtocol
import Testing

/// The shape readers check against must list exactly the keys the spec types encode.
@Suite struct SpecShapeTests {
    private func compare(_ value: JSONValue, _ shape: SpecShape, path: String) {
        switch (value, shape) {
        case (.object(let object), .record(let fields)):
            #expect(Set(object.keys) == Set(fields.map(\.name)), "\(path)")
            for field in fields {
                if let child = object[field.name] { compare(child, field.shape, path: "\(path).\(field.name)") }
            }
        case (.array(let items), .list(let element)):
            for item in items { compare(item, element, path: "\(path)[]") }
        case (.string, .text), (.string, .size), (.int, .integer), (.bool, .boolean):
            break
        case (.string(let word), .choice(let words)):
            #expect(words.contains(word), "\(path)")
        default:
            Issue.record("\(path): \(value) does not fit \(shape)")
        }
    }

    @Test func theShapeMatchesTheEncodedSpec() throws {
        var spec = RoundTripTests.specs[1]
        // Every optional field set, even where validation would not allow the combination.
        for index in spec.disks.indices {
            spec.disks[index].size = .gibibytes(1)
            spec.disks[index].template = "base"
            spec.disks[index].pool = "fast"
        }
        for index in spec.networks.indices {
            spec.networks[index].network = "default"
            spec.networks[index].bridge = "br0"
            spec.networks[index].mac = "52:54:00:00:00:0\(index)"
        }
        compare(.object(try VarlinkJSON.object(spec)), MachineSpec.shape, path: "")
    }

    @Test func requiredFieldsAreTheOnesWithoutDefaults() {
        guard case .record(let fields) = MachineSpec.shape else {
            Issue.record("the spec's shape is not a record")
            return
        }
        #expect(fields.filter(\.required).map(\.name) == ["name", "vcpus", "memory"])
        #expect(fields.map(\.name) == MachineSpec.CodingKeys.allCases.map(\.rawValue))
    }
}
