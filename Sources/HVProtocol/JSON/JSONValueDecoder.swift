import Foundation

/// Decodes a `Decodable` value straight from a `JSONValue`, as Foundation's `JSONDecoder` decodes
/// it from the text `JSONEncoder` writes for that `JSONValue`: the same values, and the same
/// errors (kind, coding path, description) for a missing key, a null, a wrong type or a number out
/// of range. Going through the text took two codec passes per conversion; this takes none.
enum JSONValueDecoder {
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        do {
            return try ValueDecoding.unwrap(value, as: type, path: [])
        } catch is NumberOutOfRange {
            // Foundation reports a number its target can't hold as invalid JSON, at the top.
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "The given data was not valid JSON."))
        }
    }
}

/// A number the requested type can't hold; reported at the top as Foundation does.
struct NumberOutOfRange: Error {}

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
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ value: JSONValue, path: [any CodingKey]) {
        self.value = value
        codingPath = path
    }

    // MARK: Decoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedValues<Key>(members: try Self.members(value, path: codingPath), codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let elements):
            return UnkeyedValues(elements: elements, codingPath: codingPath)
        case .null:
            throw DecodingError.valueNotFound(
                [Any].self, .init(codingPath: codingPath, debugDescription: "Cannot get unkeyed decoding container -- found null value instead")
            )
        default:
            throw Self.mismatch([Any].self, value, codingPath)
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let flag) = value else { throw Self.mismatch(type, value, codingPath) }
        return flag
    }

    func decode(_ type: String.Type) throws -> String { try Self.string(value, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try Self.floatingPoint(value, as: type, path: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try Self.floatingPoint(value, as: type, path: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try Self.integer(value, as: type, path: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try Self.integer(value, as: type, path: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try Self.integer(value, as: type, path: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try Self.integer(value, as: type, path: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Self.integer(value, as: type, path: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try Self.integer(value, as: type, path: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try Self.integer(value, as: type, path: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try Self.integer(value, as: type, path: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try Self.integer(value, as: type, path: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try Self.integer(value, as: type, path: codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try Self.unwrap(value, as: type, path: codingPath) }

    // MARK: Reading values

    /// `value`, found at `path`, as `T`: the types Foundation reads in a way of its own first.
    static func unwrap<T: Decodable>(_ value: JSONValue, as type: T.Type, path: [any CodingKey]) throws -> T {
        if type == JSONValue.self { return try JSONNumbers.normalized(value, path: path) as! T }
        if type == [String: JSONValue].self {
            let members = try members(value, path: path)
            var normalized: [String: JSONValue] = [:]
            normalized.reserveCapacity(members.count)
            for (key, member) in members {
                normalized[key] = try JSONNumbers.normalized(member, path: path + [IndexKey(stringValue: key)!])
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
    static func members(_ value: JSONValue, path: [any CodingKey]) throws -> [String: JSONValue] {
        switch value {
        case .object(let members):
            return members
        case .null:
            throw DecodingError.valueNotFound(
                [String: Any].self, .init(codingPath: path, debugDescription: "Cannot get keyed decoding container -- found null value instead")
            )
        default:
            throw mismatch([String: Any].self, value, path)
        }
    }

    static func checkNotNull<T>(_ value: JSONValue, _ type: T.Type, _ path: [any CodingKey]) throws {
        guard value == .null else { return }
        throw DecodingError.valueNotFound(
            type, .init(codingPath: path, debugDescription: "Cannot get value of type \(type) -- found null value instead")
        )
    }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        DecodingError.typeMismatch(
            type, .init(codingPath: path, debugDescription: "Expected to decode \(type) but found \(describe(value)) instead.")
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

    static func string(_ value: JSONValue, path: [any CodingKey]) throws -> String {
        try checkNotNull(value, String.self, path)
        guard case .string(let text) = value else { throw mismatch(String.self, value, path) }
        return text
    }

    /// An integer as Foundation reads it from the number's text: exactly, or refused as out of range.
    static func integer<T: FixedWidthInteger & Decodable>(_ value: JSONValue, as type: T.Type, path: [any CodingKey]) throws -> T {
        try checkNotNull(value, type, path)
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
            throw mismatch(type, value, path)
        }
    }

    static func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(
        _ value: JSONValue, as type: T.Type, path: [any CodingKey]
    ) throws -> T {
        try checkNotNull(value, type, path)
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
            throw mismatch(type, value, path)
        }
    }

    static func data(_ value: JSONValue, path: [any CodingKey]) throws -> Data {
        try checkNotNull(value, Data.self, path)
        guard case .string(let text) = value else { throw mismatch(String.self, value, path) }
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "Encountered Data is not valid Base64."))
        }
        return data
    }

    static func url(_ value: JSONValue, path: [any CodingKey]) throws -> URL {
        try checkNotNull(value, URL.self, path)
        guard let url = URL(string: try string(value, path: path)) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "Invalid URL string."))
        }
        return url
    }

    static func decimal(_ value: JSONValue, path: [any CodingKey]) throws -> Decimal {
        try checkNotNull(value, Decimal.self, path)
        switch value {
        case .int(let number): return try JSONNumbers.foundationDecode(Decimal.self, text: String(number))
        case .double(let number): return try JSONNumbers.foundationDecode(Decimal.self, text: JSONNumbers.text(of: number))
        default: throw DecodingError.typeMismatch(Decimal.self, .init(codingPath: path, debugDescription: ""))
        }
    }
}

/// An object's members, read by key.
private struct KeyedValues<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

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

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

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

    // Foundation's `decodeIfPresent` is the protocol's: absent or null is nil, anything else is
    // read as `decode` reads it. The protocol's default implementations say exactly that.

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoding(value(key), path: path(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoding(value(key), path: path(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoding((try? value(IndexKey.superKey)) ?? .null, path: codingPath + [IndexKey.superKey])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoding((try? value(key)) ?? .null, path: path(key))
    }
}

/// An array's elements, read in order.
private struct UnkeyedValues: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }
    private var path: [any CodingKey] { codingPath + [IndexKey(index: currentIndex)] }

    private func next<T>(_ type: T.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "Unkeyed container is at end."))
        }
        return elements[currentIndex]
    }

    /// Reads the next element with `read` and moves past it.
    private mutating func take<T>(_ type: T.Type, _ read: (JSONValue, [any CodingKey]) throws -> T) throws -> T {
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
                (any Decoder).self, .init(codingPath: path, debugDescription: "Cannot get superDecoder() -- unkeyed container is at end.")
            )
        }
        return try take((any Decoder).self) { ValueDecoding($0, path: $1) }
    }
}
