import HVProtocol
import Testing

@Suite struct StrictDecodingTests {
    @Test func decodesKnownFields() throws {
        let value = try StrictDecoding.decode(VmDeleteParameters.self, from: ["name": .string("web"), "removeDisks": .bool(true)])
        #expect(value == VmDeleteParameters(name: "web", removeDisks: true))
    }

    @Test func optionalFieldMayBeNullOrAbsent() throws {
        #expect(try StrictDecoding.decode(VmDeleteParameters.self, from: ["name": .string("web")]).removeDisks == nil)
        #expect(try StrictDecoding.decode(VmDeleteParameters.self, from: ["name": .string("web"), "removeDisks": .null]).removeDisks == nil)
    }

    @Test func unknownFieldIsNamed() {
        let error = #expect(throws: HVError.self) {
            try StrictDecoding.decode(VmNameParameters.self, from: ["name": .string("web"), "force": .bool(true)])
        }
        #expect(error?.code == .invalidParameter)
        #expect(error?.details["parameter"] == "force")
    }

    @Test func nestedUnknownFieldIsNamedWithItsPath() {
        let spec: JSONValue = .object([
            "name": .string("web"), "vcpus": .int(1), "memoryMiB": .int(512), "diskGiB": .int(1),
            "hostPath": .string("/etc/shadow"),
        ])
        let error = #expect(throws: HVError.self) { try StrictDecoding.decode(VmCreateParameters.self, from: ["spec": spec]) }
        #expect(error?.details["parameter"] == "spec.hostPath")
    }

    @Test func missingFieldIsNamed() {
        let error = #expect(throws: HVError.self) { try StrictDecoding.decode(VmNameParameters.self, from: [:]) }
        #expect(error?.details["parameter"] == "name")
        #expect(error?.reason.contains("missing") == true)
    }

    @Test(arguments: [
        ("name", JSONValue.int(5), "a string"),
        ("name", JSONValue.array([]), "a string"),
        ("removeDisks", JSONValue.string("yes"), "a boolean"),
    ])
    func mistypedFieldIsNamed(field: String, value: JSONValue, expected: String) {
        var object: [String: JSONValue] = ["name": .string("web")]
        object[field] = value
        let error = #expect(throws: HVError.self) { try StrictDecoding.decode(VmDeleteParameters.self, from: object) }
        #expect(error?.details["parameter"] == field)
        #expect(error?.reason.contains(expected) == true)
    }

    @Test func mistypedNestedNumberIsNamed() {
        let spec: JSONValue = .object([
            "name": .string("web"), "vcpus": .string("two"), "memoryMiB": .int(512), "diskGiB": .int(1),
        ])
        let error = #expect(throws: HVError.self) { try StrictDecoding.decode(VmCreateParameters.self, from: ["spec": spec]) }
        #expect(error?.details["parameter"] == "spec.vcpus")
    }

    @Test func hugeNumberIsRejectedNotWrapped() {
        let spec: JSONValue = .object([
            "name": .string("web"), "vcpus": .double(1e300), "memoryMiB": .int(512), "diskGiB": .int(1),
        ])
        #expect(throws: HVError.self) { try StrictDecoding.decode(VmCreateParameters.self, from: ["spec": spec]) }
    }
}
