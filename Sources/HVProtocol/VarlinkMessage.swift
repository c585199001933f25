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

/// Encoders and decoders configured the same way on both sides of the socket.
public enum VarlinkJSON {
    public static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    /// Converts a JSON object into a typed value, re-encoding through the same codec.
    public static func convert<Value: Decodable>(_ value: some Encodable, to type: Value.Type) throws -> Value {
        try decode(type, from: encode(value))
    }

    /// Converts a typed value into a JSON object.
    public static func object<Value: Encodable>(_ value: Value) throws -> [String: JSONValue] {
        try decode([String: JSONValue].self, from: encode(value))
    }
}
