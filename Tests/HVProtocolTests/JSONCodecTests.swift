import Foundation
@testable import HVProtocol
import Testing

/// The codec against Foundation's `JSONEncoder` and `JSONDecoder`, which it replaced: for the same
/// input, the same bytes, the same values and the same errors (kind, type, coding path, text).
@Suite struct JSONCodecTests {
    /// What `VarlinkJSON` was before: Foundation's coders, configured as on both sides of the socket.
    enum FoundationCodec {
        static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return Array(try encoder.encode(value))
        }

        static func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
            try JSONDecoder().decode(type, from: Data(bytes))
        }

        static func convert<Value: Decodable>(_ value: some Encodable, to type: Value.Type) throws -> Value {
            try decode(type, from: encode(value))
        }

        static func object<Value: Encodable>(_ value: Value) throws -> [String: JSONValue] {
            try decode([String: JSONValue].self, from: encode(value))
        }
    }

    /// An outcome to compare: the value, or the error as text with its kind, path and description.
    static func outcome<T: Equatable>(_ body: () throws -> T) -> Outcome<T> {
        do {
            return .value(try body())
        } catch {
            return .error(describe(error))
        }
    }

    enum Outcome<T: Equatable>: Equatable, CustomStringConvertible {
        case value(T)
        case error(String)

        var description: String {
            switch self {
            case .value(let value): "value \(value)"
            case .error(let text): "error \(text)"
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { key in key.intValue.map { "[\($0)|\(key.stringValue)]" } ?? key.stringValue }.joined(separator: ".")
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "keyNotFound \(key.stringValue) at \(path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.typeMismatch(let type, let context):
            return "typeMismatch \(type) at \(path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.valueNotFound(let type, let context):
            return "valueNotFound \(type) at \(path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            return "dataCorrupted at \(path(context.codingPath)): \(context.debugDescription)"
        case EncodingError.invalidValue(_, let context):
            return "invalidValue at \(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(type(of: error)): \(error)"
        }
    }

    // MARK: Reading

    static let texts: [String] = [
        #"{"method":"org.hypernixos.Vm.Info","parameters":{"name":"web"}}"#,
        #" { "a" : [ 1 , 2.5 , -3e2 , true , false , null , "x" ] , "b" : { } , "c" : [ ] } "#,
        #"{"s":"quote \" backslash \\ slash \/ controls \b\f\n\r\t \u0001 \u001f é \u00e9 \ud83d\ude00 😀"}"#,
        #"{"n":[0,-0,1.0,1.5,-1.5,1e2,1E2,1e-2,2.5e+3,9007199254740991,9007199254740992.0,1e16,1.5e16]}"#,
        #"{"n":[9223372036854775807,-9223372036854775808,9223372036854775808,-9223372036854775809,18446744073709551615]}"#,
        #"{"n":[1e308,1e309,-1e309,1e-400,-1e-400,4.9e-324,1.7976931348623157e308,0.1,0.30000000000000004]}"#,
        #"{"n":[12345678901234567.0,1.0000000000000001,123456789012345678901234567890]}"#,
        #"{"dup":1,"dup":2}"#,
        #"{"é":1,"é":2}"#,
        "\u{FEFF}{\"bom\":true}",
        "[1,2,3]", "\"text\"", "42", "-0", "true", "null", "",
        "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[01]", "[1.]", "[.5]", "[+1]", "[1e]", "[-]",
        "{\"a\":1} x", "{'a':1}", "{a:1}", "[\"\u{01}\"]", "[\"\\x\"]", "[\"\\u12\"]", "[\"\\ud800\"]", "[\"\\udc00\"]",
        "[\"\\ud800\\u0041\"]", "[NaN]", "[Infinity]", "[tru]", "[nul]", "[\"unterminated]",
        String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        "{\"a\":1}\n", "\t\r\n {}",
    ]

    @Test(arguments: texts)
    func readsJSONAsFoundationDoes(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(Self.outcome { try VarlinkJSON.decode(JSONValue.self, from: bytes) } == Self.outcome { try FoundationCodec.decode(JSONValue.self, from: bytes) })
        #expect(
            Self.outcome { try VarlinkJSON.decode(VarlinkCall.self, from: bytes) }
                == Self.outcome { try FoundationCodec.decode(VarlinkCall.self, from: bytes) }
        )
    }

    @Test func invalidUTF8IsLeftToFoundation() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x5B, 0x22, 0xC3, 0x28, 0x22, 0x5D], [0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D], [0x00, 0x7B, 0x00, 0x7D]] {
            #expect(JSONReader.read(bytes) == nil)
            #expect(Self.outcome { try VarlinkJSON.decode(JSONValue.self, from: bytes) } == Self.outcome { try FoundationCodec.decode(JSONValue.self, from: bytes) })
        }
    }

    /// The reader takes the common messages itself; Foundation is asked only about the rest.
    @Test func commonMessagesAreReadWithoutFoundation() {
        #expect(JSONReader.read(Array(Self.texts[0].utf8)) == .object(["method": .string("org.hypernixos.Vm.Info"), "parameters": .object(["name": .string("web")])]))
        #expect(JSONReader.read(Array(Self.texts[2].utf8)) != nil)
        #expect(JSONReader.read(Array(#"{"dup":1,"dup":2}"#.utf8)) == nil)
    }

    // MARK: Writing

    static let values: [JSONValue] = [
        .null, .bool(true), .int(0), .int(-1), .int(.max), .int(.min), .double(0.5), .double(-0.0), .double(1.0), .double(1e16),
        .double(1.5e16), .double(1e300), .double(5e-324), .double(0.1), .double(-2.5e-8), .double(9.2e18), .double(1.8446744073709552e19),
        .string(""), .string("a/b \"c\" \\ \u{0}\u{8}\u{c}\n\r\t\u{1f}\u{7f} é 😀"),
        .array([.int(1), .array([]), .object([:])]),
        .object(["b": .int(1), "a": .string("x"), "B": .null, "é": .bool(false), "aa": .array([.double(2.25)]), "": .int(3)]),
    ]

    @Test(arguments: values)
    func writesJSONValuesAsFoundationDoes(_ value: JSONValue) {
        #expect(Self.outcome { try VarlinkJSON.encode(value) } == Self.outcome { try FoundationCodec.encode(value) })
        #expect(Self.outcome { try VarlinkJSON.object(["v": value]) } == Self.outcome { try FoundationCodec.object(["v": value]) })
        #expect(
            Self.outcome { try VarlinkJSON.convert(["v": value], to: [String: JSONValue].self) }
                == Self.outcome { try FoundationCodec.convert(["v": value], to: [String: JSONValue].self) }
        )
    }

    @Test func nonFiniteNumbersAreRefusedLikeFoundation() {
        for number in [Double.nan, .infinity, -.infinity] {
            #expect(Self.outcome { try VarlinkJSON.encode(Everything.sample(double: number)) } == Self.outcome { try FoundationCodec.encode(Everything.sample(double: number)) })
            #expect(
                Self.outcome { try VarlinkJSON.object(Everything.sample(double: number)) }
                    == Self.outcome { try FoundationCodec.object(Everything.sample(double: number)) }
            )
        }
    }

    // MARK: Typed values

    /// A type with every kind of field the encoder and decoder treat differently.
    struct Everything: Codable, Equatable {
        enum Color: String, Codable { case red, green }
        var bool: Bool
        var int: Int
        var int8: Int8
        var uint64: UInt64
        var int32: Int32?
        var double: Double
        var float: Float
        var string: String
        var optional: String?
        var list: [Int]
        var nested: [[String: Int]]
        var map: [String: Double]
        var numbered: [Int: String]
        var color: Color
        var data: Data
        var url: URL
        var date: Date
        var decimal: Decimal
        var json: JSONValue
        var size: ByteSize

        static func sample(double: Double = 2.5) -> Everything {
            Everything(
                bool: true, int: -7, int8: 12, uint64: .max, int32: nil, double: double, float: 0.1, string: "a/b",
                optional: "o", list: [1, 2], nested: [["x": 1], [:]], map: ["half": 0.5, "whole": 3.0], numbered: [2: "two", 10: "ten"],
                color: .green, data: Data([0, 1, 255]), url: URL(string: "https://example.org/a?b=c")!,
                date: Date(timeIntervalSinceReferenceDate: 12.5), decimal: Decimal(string: "3.14")!, json: .array([.double(1e16), .null]),
                size: .gibibytes(2)
            )
        }
    }

    @Test func typedValuesEncodeAsFoundationDoes() {
        let sample = Everything.sample()
        #expect(Self.outcome { try VarlinkJSON.encode(sample) } == Self.outcome { try FoundationCodec.encode(sample) })
        #expect(Self.outcome { try VarlinkJSON.object(sample) } == Self.outcome { try FoundationCodec.object(sample) })
        #expect(Self.outcome { try VarlinkJSON.convert(sample, to: Everything.self) } == Self.outcome { try FoundationCodec.convert(sample, to: Everything.self) })
        let bytes = (try? FoundationCodec.encode(sample)) ?? []
        #expect(Self.outcome { try VarlinkJSON.decode(Everything.self, from: bytes) } == Self.outcome { try FoundationCodec.decode(Everything.self, from: bytes) })
    }

    /// A reply with typed parameters, as Foundation writes it in one pass.
    struct TypedReply<Parameters: Encodable>: Encodable {
        var parameters: Parameters
        var continues: Bool?
    }

    /// A reply written in one pass (the broker's way) is byte for byte the reply Foundation writes
    /// with the typed parameters in it, with and without `continues`; a client reads from it what it
    /// read from the reply written through the parameters' JSON object (the way it replaced), though
    /// numbers a `JSONValue` can't hold exactly (`UInt64.max`, a `Float`) are now written as typed.
    @Test func repliesWrittenInOnePassMatchFoundation() throws {
        let sample = Everything.sample()
        for continues in [false, true] {
            let written = VarlinkJSON.reply(try EncodedParameters(sample), continues: continues)
            #expect(written == (try FoundationCodec.encode(TypedReply(parameters: sample, continues: continues ? true : nil))))
            let before = try FoundationCodec.encode(VarlinkReply(parameters: try FoundationCodec.object(sample), continues: continues ? true : nil))
            #expect(try FoundationCodec.decode(VarlinkReply.self, from: written) == FoundationCodec.decode(VarlinkReply.self, from: before))
        }
        let stats = HostStatsReply(
            domains: [
                DomainStats(
                    name: "web", uuid: "6f1c3a0e-0000-4000-8000-000000000001", state: "running", stateReason: "booted", autostart: true,
                    vcpus: 2, cpuTimeNs: 12_345_678_901, memoryMaxKiB: 2_097_152, memoryCurrentKiB: 1_048_576, memoryRssKiB: nil,
                    memoryUsableKiB: 524_288, disks: [], interfaces: []
                ),
            ],
            pools: [], networks: []
        )
        #expect(VarlinkJSON.reply(try EncodedParameters(stats)) == (try FoundationCodec.encode(VarlinkReply(parameters: try FoundationCodec.object(stats)))))
        #expect(VarlinkJSON.reply(.none) == (try FoundationCodec.encode(VarlinkReply(parameters: [:]))))
        // Varlink's parameters are an object: anything else is refused when written.
        #expect(throws: EncodingError.self) { try EncodedParameters("text") }
        #expect(throws: EncodingError.self) { try EncodedParameters([1, 2]) }
    }

    /// Every field of `Everything` replaced in turn by every kind of value: the same value or the
    /// same error as Foundation.
    @Test func everyWrongFieldFailsAsInFoundation() throws {
        let sample = try FoundationCodec.object(Everything.sample())
        let replacements: [JSONValue?] = [
            nil, .null, .bool(false), .int(0), .int(-1), .int(300), .int(.max), .int(.min), .double(1.5), .double(-0.0), .double(1e16),
            .double(1e300), .double(1e-300), .string(""), .string("red"), .string("AAEC/w=="), .string("not base64!"), .string("2GiB"),
            .string("ht tp://bad url"), .array([]), .array([.int(1), .string("x")]), .array([.null]), .object([:]), .object(["x": .int(1)]),
        ]
        for key in sample.keys.sorted() {
            for replacement in replacements {
                var object = sample
                object[key] = replacement
                let expected = Self.outcome { try FoundationCodec.convert(object, to: Everything.self) }
                #expect(Self.outcome { try VarlinkJSON.convert(object, to: Everything.self) } == expected, "\(key) = \(String(describing: replacement))")
                let bytes = (try? FoundationCodec.encode(object)) ?? []
                #expect(
                    Self.outcome { try VarlinkJSON.decode(Everything.self, from: bytes) } == Self.outcome { try FoundationCodec.decode(Everything.self, from: bytes) },
                    "\(key) = \(String(describing: replacement))"
                )
            }
        }
    }

    /// The broker's parameter types and the spec, with the inputs their tests and hostile clients send.
    @Test func parametersDecodeAsWithFoundation() {
        let inputs: [[String: JSONValue]] = [
            [:], ["name": .string("web")], ["name": .int(1)], ["name": .null], ["name": .string("web"), "removeDisks": .bool(true)],
            ["name": .string("web"), "removeDisks": .string("yes")], ["name": .string("web"), "maxBytes": .double(1.5)],
            ["name": .string("web"), "maxBytes": .int(4096)], ["name": .string("web"), "maxBytes": .double(1e30)],
            ["name": .string("web"), "extra": .object(["deep": .array([.int(1)])])],
            ["spec": .object(["name": .string("a"), "vcpus": .int(2), "memoryMiB": .int(512), "diskGiB": .int(1)])],
            ["spec": .object(["name": .string("a"), "vcpus": .string("2"), "memoryMiB": .int(512), "diskGiB": .int(1)])],
            ["spec": .object(["name": .string("a"), "vcpus": .int(2)])], ["spec": .array([])], ["spec": .null],
            ["interface": .string("org.hypernixos.Vm")], ["interface": .array([.string("x")])],
        ]
        for input in inputs {
            Self.compare(VmNameParameters.self, input)
            Self.compare(VmDeleteParameters.self, input)
            Self.compare(VmConsoleParameters.self, input)
            Self.compare(VmCreateParameters.self, input)
            Self.compare(InterfaceDescriptionParameters.self, input)
            Self.compare(NoParameters.self, input)
            Self.compare(VarlinkCall.self, input)
        }
        let spec = (try? FoundationCodec.object(MachineSpec(name: "web", vcpus: 2, memory: .gibibytes(2), disks: [DiskSpec(name: "root", size: .gibibytes(10))]))) ?? [:]
        Self.compare(MachineSpec.self, spec)
        for key in spec.keys {
            for replacement: JSONValue in [.null, .int(-1), .string("x"), .double(0.5), .array([.object([:])]), .object([:])] {
                var changed = spec
                changed[key] = replacement
                Self.compare(MachineSpec.self, changed)
            }
        }
    }

    static func compare<T: Codable & Equatable>(_ type: T.Type, _ input: [String: JSONValue], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            outcome { try VarlinkJSON.convert(input, to: type) } == outcome { try FoundationCodec.convert(input, to: type) }, "\(type) from \(input)",
            sourceLocation: sourceLocation
        )
        if case .value(let decoded) = outcome({ try FoundationCodec.convert(input, to: type) }) {
            #expect(
                outcome { try VarlinkJSON.object(decoded) } == outcome { try FoundationCodec.object(decoded) }, "\(type) from \(input)",
                sourceLocation: sourceLocation
            )
        }
    }

    // MARK: Random values

    /// Random trees, written and read back both ways: the bytes, the values and the round trip agree.
    @Test func randomValuesRoundTripAsWithFoundation() {
        var generator = SeededGenerator(seed: 14)
        for _ in 0..<2_000 {
            let value = Self.randomValue(depth: 0, &generator)
            let written = Self.outcome { try VarlinkJSON.encode(value) }
            #expect(written == Self.outcome { try FoundationCodec.encode(value) }, "\(value)")
            guard case .value(let bytes) = written else { continue }
            #expect(Self.outcome { try VarlinkJSON.decode(JSONValue.self, from: bytes) } == Self.outcome { try FoundationCodec.decode(JSONValue.self, from: bytes) })
        }
    }

    static func randomValue(depth: Int, _ generator: inout SeededGenerator) -> JSONValue {
        let numbers: [Double] = [0, -0.0, 0.1, 1, 1e16, 9007199254740993, 1e21, 1e-7, 123.456, 9.223372036854776e18, 1.8446744073709552e19, 5e-324]
        switch Int.random(in: 0..<(depth > 3 ? 6 : 8), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .int(Int64.random(in: .min ... .max, using: &generator) >> Int64.random(in: 0...63, using: &generator))
        case 3:
            let scale = Double.random(in: -1...1, using: &generator) * pow(10, Double(Int.random(in: -30...30, using: &generator)))
            return .double(Bool.random(using: &generator) ? scale : numbers.randomElement(using: &generator)!)
        case 4:
            let scalars = (0..<Int.random(in: 0...8, using: &generator)).map { _ in
                Character(Unicode.Scalar([0x00, 0x1f, 0x22, 0x2f, 0x41, 0x5c, 0x7f, 0xe9, 0x2028, 0x1F600].randomElement(using: &generator)!)!)
            }
            return .string(String(scalars))
        case 5: return .double(Double(Int64.random(in: -(1 << 60)...(1 << 60), using: &generator)))
        case 6: return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in randomValue(depth: depth + 1, &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for index in 0..<Int.random(in: 0...4, using: &generator) { members["k\(index)\(["", "é", "/", "A"].randomElement(using: &generator)!)"] = randomValue(depth: depth + 1, &generator) }
            return .object(members)
        }
    }

    /// A small deterministic generator (SplitMix64), so a failure can be repeated.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var value = state
            value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
            return value ^ (value >> 31)
        }
    }
}
