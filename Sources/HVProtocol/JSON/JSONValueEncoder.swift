import Foundation

/// Encodes an `Encodable` value as Foundation's `JSONEncoder` does (default strategies), into a
/// tree that is then written as text (`JSONWriter`, byte for byte Foundation's with `.sortedKeys`
/// and `.withoutEscapingSlashes`) or handed over as the `JSONValue` Foundation would read back from
/// that text. Errors are Foundation's: a NaN or an infinity, a top-level value that encodes nothing.
enum JSONValueEncoder {
    static func encode<T: Encodable>(_ value: T) throws -> EncodedJSON {
        guard let encoded = try ValueEncoding.box(value, path: .root) else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        return encoded
    }
}

/// What a value encoded to: JSON already built, the exact text of a number `JSONValue` has no case
/// for (an unsigned integer above `Int64.max`, a `Float`, a `Decimal`), or containers still open
/// to their encoders.
indirect enum EncodedJSON {
    case value(JSONValue)
    case number(String)
    case array(EncodedArray)
    case object(EncodedObject)
    /// What a super encoder left, once it is done.
    case slot(EncodedSlot)

    /// The JSON text, as `JSONEncoder` writes it with `.sortedKeys` and `.withoutEscapingSlashes`.
    func bytes() throws -> [UInt8] {
        var writer = JSONWriter()
        try write(into: &writer)
        return writer.bytes
    }

    private func write(into writer: inout JSONWriter) throws {
        switch self {
        case .value(let value):
            do {
                try writer.write(value)
            } catch {
                throw JSONNumbers.nonFinite(error.value, path: [])
            }
        case .number(let text):
            writer.write(number: text)
        case .array(let array):
            writer.openArray()
            for (position, element) in array.elements.enumerated() {
                if position > 0 { writer.separate() }
                try element.write(into: &writer)
            }
            writer.closeArray()
        case .object(let object):
            writer.openObject()
            for (position, key) in JSONWriter.sortedKeys(object.members.keys).enumerated() {
                if position > 0 { writer.separate() }
                writer.write(key: key)
                try object.members[key]!.write(into: &writer)
            }
            writer.closeObject()
        case .slot(let slot):
            try (slot.content ?? .value(.object([:]))).write(into: &writer)
        }
    }

    /// Whether it holds a number `JSONValue` has no case for (`.number`).
    var holdsNumberText: Bool {
        switch self {
        case .value: false
        case .number: true
        case .array(let array): array.elements.contains { $0.holdsNumberText }
        case .object(let object): object.members.values.contains { $0.holdsNumberText }
        case .slot(let slot): slot.content?.holdsNumberText ?? false
        }
    }

    /// The `JSONValue` Foundation reads back from the text.
    func jsonValue() throws -> JSONValue {
        switch self {
        case .value(let value): try JSONNumbers.normalized(value, path: [])
        case .number(let text): try JSONNumbers.foundationValue(ofText: text)
        case .array(let array): .array(try array.elements.map { try $0.jsonValue() })
        case .object(let object): .object(try object.members.mapValues { try $0.jsonValue() })
        case .slot(let slot): try (slot.content ?? .value(.object([:]))).jsonValue()
        }
    }
}

/// An array whose encoder may still add elements.
final class EncodedArray {
    var elements: [EncodedJSON] = []
}

/// An object whose encoder may still add members.
final class EncodedObject {
    var members: [String: EncodedJSON] = [:]
}

/// Where a super encoder puts what it encodes.
final class EncodedSlot {
    var content: EncodedJSON?
}

/// One value being encoded: what it asked for (a keyed, unkeyed or single-value container) and
/// what it put there.
private final class ValueEncoding: Encoder, SingleValueEncodingContainer {
    let path: CodingPath
    var codingPath: [any CodingKey] { path.keys }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// What was encoded; nil while nothing was.
    var content: EncodedJSON? {
        didSet { slot?.content = content }
    }
    private let slot: EncodedSlot?

    init(path: CodingPath, slot: EncodedSlot? = nil) {
        self.path = path
        self.slot = slot
    }

    /// `value` encoded at `path`; nil when it encoded nothing. The types Foundation writes in a way
    /// of their own come first.
    static func box<T: Encodable>(_ value: T, path: @autoclosure () -> CodingPath) throws -> EncodedJSON? {
        // Comparing types is cheap; casting every value to each of them is not.
        if T.self == JSONValue.self { return .value(value as! JSONValue) }
        if T.self == [String: JSONValue].self { return .value(.object(value as! [String: JSONValue])) }
        if T.self == String.self { return .value(.string(value as! String)) }
        if T.self == Data.self { return .value(.string((value as! Data).base64EncodedString())) }
        if T.self == URL.self { return .value(.string((value as! URL).absoluteString)) }
        if T.self == Decimal.self { return .number((value as! Decimal).description) }
        let encoder = ValueEncoding(path: path())
        try value.encode(to: encoder)
        return encoder.content
    }

    // MARK: Encoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let object: EncodedObject
        if case .object(let existing) = content {
            object = existing
        } else {
            object = EncodedObject()
            content = .object(object)
        }
        return KeyedEncodingContainer(KeyedMembers<Key>(object: object, path: path))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let array: EncodedArray
        if case .array(let existing) = content {
            array = existing
        } else {
            array = EncodedArray()
            content = .array(array)
        }
        return UnkeyedElements(array: array, path: path)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    // MARK: SingleValueEncodingContainer

    func encodeNil() { content = .value(.null) }
    func encode(_ value: Bool) { content = .value(.bool(value)) }
    func encode(_ value: String) { content = .value(.string(value)) }
    func encode(_ value: Double) throws { content = try Self.number(value, path: path) }
    func encode(_ value: Float) throws { content = try Self.number(value, path: path) }
    func encode(_ value: Int) { content = Self.number(value) }
    func encode(_ value: Int8) { content = Self.number(value) }
    func encode(_ value: Int16) { content = Self.number(value) }
    func encode(_ value: Int32) { content = Self.number(value) }
    func encode(_ value: Int64) { content = Self.number(value) }
    func encode(_ value: UInt) { content = Self.number(value) }
    func encode(_ value: UInt8) { content = Self.number(value) }
    func encode(_ value: UInt16) { content = Self.number(value) }
    func encode(_ value: UInt32) { content = Self.number(value) }
    func encode(_ value: UInt64) { content = Self.number(value) }
    func encode<T: Encodable>(_ value: T) throws { content = try Self.box(value, path: path) ?? .value(.object([:])) }

    static func number(_ value: some BinaryInteger) -> EncodedJSON {
        Int64(exactly: value).map { .value(.int($0)) } ?? .number(String(value))
    }

    static func number(_ value: Double, path: @autoclosure () -> CodingPath) throws -> EncodedJSON {
        guard value.isFinite else { throw JSONNumbers.nonFinite(value, path: path().keys) }
        return .value(.double(value))
    }

    static func number(_ value: Float, path: @autoclosure () -> CodingPath) throws -> EncodedJSON {
        guard value.isFinite else { throw JSONNumbers.nonFinite(value, path: path().keys) }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .number(text)
    }
}

/// A keyed container's members, written into an object.
private struct KeyedMembers<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: EncodedObject
    let path: CodingPath
    var codingPath: [any CodingKey] { path.keys }

    private func set(_ value: EncodedJSON, _ key: Key) {
        object.members[key.stringValue] = value
    }

    mutating func encodeNil(forKey key: Key) { set(.value(.null), key) }
    mutating func encode(_ value: Bool, forKey key: Key) { set(.value(.bool(value)), key) }
    mutating func encode(_ value: String, forKey key: Key) { set(.value(.string(value)), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(try ValueEncoding.number(value, path: path.appending(key)), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(try ValueEncoding.number(value, path: path.appending(key)), key) }
    mutating func encode(_ value: Int, forKey key: Key) { set(ValueEncoding.number(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) { set(ValueEncoding.number(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) { set(ValueEncoding.number(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) { set(ValueEncoding.number(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) { set(ValueEncoding.number(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) { set(ValueEncoding.number(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) { set(ValueEncoding.number(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) { set(ValueEncoding.number(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) { set(ValueEncoding.number(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) { set(ValueEncoding.number(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try ValueEncoding.box(value, path: path.appending(key)) ?? .value(.object([:])), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = EncodedObject()
        set(.object(nested), key)
        return KeyedEncodingContainer(KeyedMembers<NestedKey>(object: nested, path: path.appending(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = EncodedArray()
        set(.array(nested), key)
        return UnkeyedElements(array: nested, path: path.appending(key))
    }

    mutating func superEncoder() -> any Encoder {
        superEncoder(named: IndexKey.superKey)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        superEncoder(named: key)
    }

    private func superEncoder(named key: some CodingKey) -> any Encoder {
        let slot = EncodedSlot()
        object.members[key.stringValue] = .slot(slot)
        return ValueEncoding(path: path.appending(key), slot: slot)
    }
}

/// An unkeyed container's elements, appended to an array.
private struct UnkeyedElements: UnkeyedEncodingContainer {
    let array: EncodedArray
    let path: CodingPath
    var codingPath: [any CodingKey] { path.keys }

    var count: Int { array.elements.count }
    private var next: CodingPath { path.appending(IndexKey(index: count)) }

    private func append(_ value: EncodedJSON) {
        array.elements.append(value)
    }

    mutating func encodeNil() { append(.value(.null)) }
    mutating func encode(_ value: Bool) { append(.value(.bool(value))) }
    mutating func encode(_ value: String) { append(.value(.string(value))) }
    mutating func encode(_ value: Double) throws { append(try ValueEncoding.number(value, path: next)) }
    mutating func encode(_ value: Float) throws { append(try ValueEncoding.number(value, path: next)) }
    mutating func encode(_ value: Int) { append(ValueEncoding.number(value)) }
    mutating func encode(_ value: Int8) { append(ValueEncoding.number(value)) }
    mutating func encode(_ value: Int16) { append(ValueEncoding.number(value)) }
    mutating func encode(_ value: Int32) { append(ValueEncoding.number(value)) }
    mutating func encode(_ value: Int64) { append(ValueEncoding.number(value)) }
    mutating func encode(_ value: UInt) { append(ValueEncoding.number(value)) }
    mutating func encode(_ value: UInt8) { append(ValueEncoding.number(value)) }
    mutating func encode(_ value: UInt16) { append(ValueEncoding.number(value)) }
    mutating func encode(_ value: UInt32) { append(ValueEncoding.number(value)) }
    mutating func encode(_ value: UInt64) { append(ValueEncoding.number(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        append(try ValueEncoding.box(value, path: next) ?? .value(.object([:])))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = EncodedObject()
        let path = next
        append(.object(nested))
        return KeyedEncodingContainer(KeyedMembers<NestedKey>(object: nested, path: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = EncodedArray()
        let path = next
        append(.array(nested))
        return UnkeyedElements(array: nested, path: path)
    }

    mutating func superEncoder() -> any Encoder {
        let slot = EncodedSlot()
        let path = next
        append(.slot(slot))
        return ValueEncoding(path: path, slot: slot)
    }
}
