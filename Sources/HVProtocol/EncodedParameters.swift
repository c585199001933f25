/// A reply's parameters written as JSON text once, when the reply is made. A typed reply reaches the
/// socket in one pass (`VarlinkJSON.reply`), instead of being turned into a `[String: JSONValue]`
/// and written again.
public struct EncodedParameters: Sendable {
    /// The text of one JSON object.
    public let bytes: [UInt8]

    /// Writes `value`, which must encode as a JSON object (Varlink's parameters are one). A value
    /// that writes itself (`JSONWritable`) does so; any other is encoded through `Encodable`.
    public init(_ value: some Encodable) throws {
        let bytes: [UInt8]
        if let writable = value as? any JSONWritable {
            var writer = JSONWriter(capacity: 4096)
            do {
                try writable.write(into: &writer)
            } catch {
                throw JSONNumbers.nonFinite(error.value, path: [])
            }
            bytes = writer.bytes
        } else {
            bytes = try VarlinkJSON.encode(value)
        }
        guard bytes.first == UInt8(ascii: "{") else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: [], debugDescription: "Varlink parameters must be a JSON object, not \(type(of: value))")
            )
        }
        self.bytes = bytes
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    /// `{}`: the parameters of a call that answers nothing.
    public static let none = EncodedParameters(bytes: Array("{}".utf8))
}

extension VarlinkJSON {
    /// The reply carrying `parameters`: byte for byte what encoding a `VarlinkReply` with the same
    /// parameters (and `continues: true` when `continues`) writes, keys in order.
    public static func reply(_ parameters: EncodedParameters, continues: Bool = false) -> [UInt8] {
        let head = continues ? #"{"continues":true,"parameters":"# : #"{"parameters":"#
        var bytes: [UInt8] = []
        bytes.reserveCapacity(head.utf8.count + parameters.bytes.count + 1)
        bytes.append(contentsOf: head.utf8)
        bytes.append(contentsOf: parameters.bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}
