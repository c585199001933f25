import Foundation

/// Decodes a `Decodable` value straight from a `JSONValue`, as Foundation's `JSONDecoder` decodes
/// it from the text `JSONEncoder` writes for that `JSONValue`: the same values, and the same
/// errors (kind, coding path, description) for a missing key, a null, a wrong type or a number out
/// of range. Going through the text took two codec passes per conversion; this takes none.
enum JSONValueDecoder {
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        do {
            return try ValueDecoding.unwrap(value, as: type, path: .root)
        } catch is NumberOutOfRange {
            // Foundation reports a number its target can't hold as invalid JSON, at the top.
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "The given data was not valid JSON."))
        }
    }
}

extension JSONValueDecoder {
    /// The members of a value already normal (read back as Foundation would read it), or the error
    /// Foundation gives for decoding anything but an object as `[String: JSONValue]`.
    static func members(of value: JSONValue) throws -> [String: JSONValue] {
        try ValueDecoding.members(value, path: .root)
    }
}

/// A number the requested type can't hold; reported at the top as Foundation does.
struct NumberOutOfRange: Error {}

/// Where a value sits, kept as a chain from the value up to the top and turned into an array of
/// keys only for an error: building the array for every value decoded cost more than the value.
indirect enum CodingPath {
    case root
    case key(any CodingKey, CodingPath)

    func appending(_ key: any CodingKey) -> CodingPath { .key(key, self) }

    var keys: [any CodingKey] {
        var keys: [any CodingKey] = []
        var node = self
        while case .key(let key, let parent) = node {
            keys.append(key)
            node = parent
        }
        return keys.reversed()
    }
}

/// The key Foundation puts in coding paths for array elements and `super`.
struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }

    init?(stringValue: String) {
        self.stringValue = stringValue
    }

    init?(intValue: Int) {
        stringValue = "\(intValue)"
        self.intValue = intValue
    }

    static let superKey = IndexKey(stringValue: "super")!
}

/// One value being decoded, with where it sits.
private final class ValueDecoding: Decoder, SingleValueDecodingContainer {
    let value: JSONValue
    let path: CodingPath
    var codingPath: [any CodingKey] { path.keys }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ value: JSONValue, path: CodingPath) {
        self.value = value
        self.path = path
    }

    // MARK: Decoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedValues<Key>(members: try Self.members(value, path: path), path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let elements):
            return UnkeyedValues(elements: elements, path: path)
        case .null:
            throw DecodingError.valueNotFound(
                [Any].self, .init(codingPath: codingPath, debugDescription: "Cannot get unkeyed decoding container -- found null value instead")
            )
        default:
            throw Self.mismatch([Any].self, value, path)
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let flag) = value else { throw Self.mismatch(type, value, path) }
        return flag
    }

    func decode(_ type: String.Type) throws -> String { try Self.string(value, path: path) }
    func decode(_ type: Double.Type) throws -> Double { try Self.floatingPoint(value, as: type, path: path) }
    func decode(_ type: Float.Type) throws -> Float { try Self.floatingPoint(value, as: type, path: path) }
    func decode(_ type: Int.Type) throws -> Int { try Self.integer(value, as: type, path: path) }
    func decode(_ type: Int8.Type) throws -> Int8 { try Self.integer(value, as: type, path: path) }
    func decode(_ type: Int16.Type) throws -> Int16 { try Self.integer(value, as: type, path: path) }
    func decode(_ type: Int32.Type) throws -> Int32 { try Self.integer(value, as: type, path: path) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Self.integer(value, as: type, path: path) }
    func decode(_ type: UInt.Type) throws -> UInt { try Self.integer(value, as: type, path: path) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try Self.integer(value, as: type, path: path) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try Self.integer(value, as: type, path: path) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try Self.integer(value, as: type, path: path) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try Self.integer(value, as: type, path: path) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try Self.unwrap(value, as: type, path: path) }

    // MARK: Reading values

    /// `value`, found at `path`, as `T`: the types Foundation reads in a way of its own first.
    static func unwrap<T: Decodable>(_ value: JSONValue, as type: T.Type, path: CodingPath) throws -> T {
        if type == JSONValue.self { return try JSONNumbers.normalized(value, path: path.keys) as! T }
        if type == [String: JSONValue].self {
            let members = try members(value, path: path)
            var normalized: [String: JSONValue] = [:]
            normalized.reserveCapacity(members.count)
            for (key, member) in members {
                normalized[key] = try JSONNumbers.normalized(member, path: path.appending(IndexKey(stringValue: key)!).keys)
            }
            return normalized as! T
        }
        if type == Data.self { return try data(value, path: path) as! T }
        if type == URL.self { return try url(value, path: path) as! T }
        if type == Decimal.self { return try decimal(value, path: path) as! T }
        if type == Date.self { try checkNotNull(value, Date.self, path) }
        return try T(from: ValueDecoding(value, path: path))
    }

    /// An object's members, or the error Foundation gives for a keyed container of anything else.
    static func members(_ value: JSONValue, path: @autoclosure () -> CodingPath) throws -> [String: JSONValue] {
        switch value {
        case .object(let members):
            return members
        case .null:
            throw DecodingError.valueNotFound(
                [String: Any].self, .init(codingPath: path().keys, debugDescription: "Cannot get keyed decoding container -- found null value instead")
            )
        default:
            throw mismatch([String: Any].self, value, path())
        }
    }

    static func checkNotNull<T>(_ value: JSONValue, _ type: T.Type, _ path: @autoclosure () -> CodingPath) throws {
        guard value == .null else { return }
        throw DecodingError.valueNotFound(
            type, .init(codingPath: path().keys, debugDescription: "Cannot get value of type \(type) -- found null value instead")
        )
    }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: CodingPath) -> DecodingError {
        DecodingError.typeMismatch(
            type, .init(codingPath: path.keys, debugDescription: "Expected to decode \(type) but found \(describe(value)) instead.")
        )
    }

    /// How Foundation names the kind of JSON it found.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string: "a string"
        case .int, .double: "number"
        case .bool: "bool"
        case .null: "null"
        case .object: "a dictionary"
        case .array: "an array"
        }
    }

    static func string(_ value: JSONValue, path: @autoclosure () -> CodingPath) throws -> String {
        try checkNotNull(value, String.self, path())
        guard case .string(let text) = value else { throw mismatch(String.self, value, path()) }
        return text
    }

    /// An integer as Foundation reads it from the number's text: exactly, or refused as out of range.
    static func integer<T: FixedWidthInteger & Decodable>(_ value: JSONValue, as type: T.Type, path: @autoclosure () -> CodingPath) throws -> T {
        try checkNotNull(value, type, path())
        switch value {
        case .int(let number):
            guard let exact = T(exactly: number) else { throw NumberOutOfRange() }
            return exact
        case .double(let number):
            guard let exact = T(exactly: number) else { throw NumberOutOfRange() }
            if number.magnitude < 0x1p53 { return exact }
            // Foundation reads such a number back from its decimal digits.
            return try JSONNumbers.foundationDecode(type, text: JSONNumbers.text(of: number))
        default:
            throw mismatch(type, value, path())
        }
    }

    static func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(
        _ value: JSONValue, as type: T.Type, path: @autoclosure () -> CodingPath
    ) throws -> T {
        try checkNotNull(value, type, path())
        switch value {
        case .int(let number):
            return T(number)
        case .double(let number):
            if T.self == Double.self { return number as! T }
            // Foundation reads a `Float` from the text; one that rounds to infinity or zero is refused.
            guard let parsed = T(JSONNumbers.text(of: number)), parsed.isFinite, parsed != 0 || number == 0 else {
                throw NumberOutOfRange()
            }
            return parsed
        default:
            throw mismatch(type, value, path())
        }
    }

    static func data(_ value: JSONValue, path: @autoclosure () -> CodingPath) throws -> Data {
        try checkNotNull(value, Data.self, path())
        guard case .string(let text) = value else { throw mismatch(String.self, value, path()) }
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path().keys, debugDescription: "Encountered Data is not valid Base64."))
        }
        return data
    }

    static func url(_ value: JSONValue, path: @autoclosure () -> CodingPath) throws -> URL {
        try checkNotNull(value, URL.self, path())
        guard let url = URL(string: try string(value, path: path())) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path().keys, debugDescription: "Invalid URL string."))
        }
        return url
    }

    static func decimal(_ value: JSONValue, path: @autoclosure () -> CodingPath) throws -> Decimal {
        try checkNotNull(value, Decimal.self, path())
        switch value {
        case .int(let number): return try JSONNumbers.foundationDecode(Decimal.self, text: String(number))
        case .double(let number): return try JSONNumbers.foundationDecode(Decimal.self, text: JSONNumbers.text(of: number))
        default: throw DecodingError.typeMismatch(Decimal.self, .init(codingPath: path().keys, debugDescription: ""))
        }
    }
}

/// An object's members, read by key.
private struct KeyedValues<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let path: CodingPath
    var codingPath: [any CodingKey] { path.keys }

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func value(_ key: some CodingKey) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\").")
            )
        }
        return value
    }

    private func path(_ key: Key) -> CodingPath { path.appending(key) }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        let found = try value(key)
        guard case .bool(let flag) = found else { throw ValueDecoding.mismatch(type, found, path(key)) }
        return flag
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String { try ValueDecoding.string(value(key), path: path(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try floatingPoint(key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try floatingPoint(key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try ValueDecoding.unwrap(value(key), as: type, path: path(key))
    }

    private func integer<T: FixedWidthInteger & Decodable>(_ key: Key) throws -> T {
        try ValueDecoding.integer(value(key), as: T.self, path: path(key))
    }

    private func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(_ key: Key) throws -> T {
        try ValueDecoding.floatingPoint(value(key), as: T.self, path: path(key))
    }

    // Absent or null is nil, anything else is read as `decode` reads it: Foundation's
    // `decodeIfPresent`, and the protocol's defaults, which look the key up three times; the
    // common types look it up once.

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let found = members[key.stringValue], found != .null else { return nil }
        return try ValueDecoding.string(found, path: path(key))
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let found = members[key.stringValue], found != .null else { return nil }
        return try ValueDecoding.integer(found, as: type, path: path(key))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let found = members[key.stringValue], found != .null else { return nil }
        return try ValueDecoding.unwrap(found, as: type, path: path(key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoding(value(key), path: path(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoding(value(key), path: path(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoding((try? value(IndexKey.superKey)) ?? .null, path: path.appending(IndexKey.superKey))
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoding((try? value(key)) ?? .null, path: path(key))
    }
}

/// An array's elements, read in order.
private struct UnkeyedValues: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let parent: CodingPath
    private(set) var currentIndex = 0

    init(elements: [JSONValue], path: CodingPath) {
        self.elements = elements
        parent = path
    }

    var codingPath: [any CodingKey] { parent.keys }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }
    private var path: CodingPath { parent.appending(IndexKey(index: currentIndex)) }

    private func next<T>(_ type: T.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: path.keys, debugDescription: "Unkeyed container is at end."))
        }
        return elements[currentIndex]
    }

    /// Reads the next element with `read` and moves past it.
    private mutating func take<T>(_ type: T.Type, _ read: (JSONValue, CodingPath) throws -> T) throws -> T {
        let result = try read(next(type), path)
        currentIndex += 1
        return result
    }

    mutating func decodeNil() throws -> Bool {
        guard try next(Never.self) == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        try take(type) { value, path in
            guard case .bool(let flag) = value else { throw ValueDecoding.mismatch(type, value, path) }
            return flag
        }
    }

    mutating func decode(_ type: String.Type) throws -> String { try take(type) { try ValueDecoding.string($0, path: $1) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try take(type) { try ValueDecoding.floatingPoint($0, as: type, path: $1) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try take(type) { try ValueDecoding.floatingPoint($0, as: type, path: $1) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try take(type) { try ValueDecoding.integer($0, as: type, path: $1) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try take(type) { try ValueDecoding.integer($0, as: type, path: $1) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try take(type) { try ValueDecoding.integer($0, as: type, path: $1) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try take(type) { try ValueDecoding.integer($0, as: type, path: $1) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try take(type) { try ValueDecoding.integer($0, as: type, path: $1) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try take(type) { try ValueDecoding.integer($0, as: type, path: $1) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try take(type) { try ValueDecoding.integer($0, as: type, path: $1) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try take(type) { try ValueDecoding.integer($0, as: type, path: $1) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try take(type) { try ValueDecoding.integer($0, as: type, path: $1) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try take(type) { try ValueDecoding.integer($0, as: type, path: $1) } }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try take(type) { try ValueDecoding.unwrap($0, as: type, path: $1) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try take(KeyedDecodingContainer<NestedKey>.self) { try ValueDecoding($0, path: $1).container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try take((any UnkeyedDecodingContainer).self) { try ValueDecoding($0, path: $1).unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                (any Decoder).self, .init(codingPath: path.keys, debugDescription: "Cannot get superDecoder() -- unkeyed container is at end.")
            )
        }
        return try take((any Decoder).self) { ValueDecoding($0, path: $1) }
    }
}
