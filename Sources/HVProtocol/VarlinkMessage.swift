import Foundation

/// A Varlink method call as it arrives on the wire.
public struct VarlinkCall: Codable, Sendable, Hashable {
    public var method: String
    public var parameters: [String: JSONValue]?
    public var oneway: Bool?
    public var more: Bool?
    public var upgrade: Bool?

    public init(method: String, parameters: [String: JSONValue]? = nil, more: Bool? = nil) {
        self.method = method
        self.parameters = parameters
        self.more = more
    }

    /// The interface part of the method name: `org.hypernixos.Vm` for `org.hypernixos.Vm.Start`.
    public var interface: String {
        guard let dot = method.lastIndex(of: ".") else { return "" }
        return String(method[..<dot])
    }

    /// The member part of the method name: `Start` for `org.hypernixos.Vm.Start`.
    public var member: String {
        guard let dot = method.lastIndex(of: ".") else { return method }
        return String(method[method.index(after: dot)...])
    }
}

/// A Varlink reply: parameters, or an error name with its parameters.
public struct VarlinkReply: Codable, Sendable, Hashable {
    public var parameters: [String: JSONValue]?
    public var continues: Bool?
    public var error: String?

    public init(parameters: [String: JSONValue]? = nil, continues: Bool? = nil, error: String? = nil) {
        self.parameters = parameters
        self.continues = continues
        self.error = error
    }
}

/// The JSON codec of both sides of the socket. It reads and writes exactly what Foundation's
/// `JSONDecoder` and `JSONEncoder` (with `.sortedKeys` and `.withoutEscapingSlashes`) do, with
/// the same errors, but without their cost: messages are read in one pass into a `JSONValue`
/// (`JSONReader`), typed values are converted to and from `JSONValue` directly
/// (`JSONValueEncoder`, `JSONValueDecoder`) and written in one pass (`JSONWriter`). Input the
/// reader leaves alone (anything that is not plain UTF-8 JSON, and a few rare numbers) is handed to
/// Foundation, whose answer is then the answer.
public enum VarlinkJSON {
    public static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        try JSONValueEncoder.encode(value).bytes()
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        guard let value = JSONReader.read(bytes) else { return try JSONDecoder().decode(type, from: Data(bytes)) }
        return try JSONValueDecoder.decode(type, from: value)
    }

    /// Converts a JSON object into a typed value, as if it were written and read back.
    public static func convert<Value: Decodable>(_ value: some Encodable, to type: Value.Type) throws -> Value {
        let encoded = try JSONValueEncoder.encode(value)
        // A number `JSONValue` can't hold exactly is read back from its text, as before.
        guard !encoded.holdsNumberText else { return try JSONDecoder().decode(type, from: Data(encoded.bytes())) }
        return try JSONValueDecoder.decode(type, from: encoded.jsonValue())
    }

    /// Converts a JSON object (parameters as they arrived) into a typed value, as if it were written
    /// and read back, without writing it: its numbers are made what Foundation reads back, then it is
    /// decoded. The same values and errors as the generic conversion, in one pass. A type that
    /// reads itself (`JSONReadable`) does so first.
    public static func convert<Value: Decodable>(_ object: [String: JSONValue], to type: Value.Type) throws -> Value {
        if let readable = type as? any JSONReadable.Type, let value = readable.init(json: object) as? Value {
            return value
        }
        return try JSONValueDecoder.decode(type, from: JSONNumbers.normalized(.object(object), path: []))
    }

    /// Converts a typed value into a JSON object, as if it were written and read back.
    public static func object<Value: Encodable>(_ value: Value) throws -> [String: JSONValue] {
        try JSONValueDecoder.members(of: JSONValueEncoder.encode(value).jsonValue())
    }
}
