/// Writes JSON text byte for byte as Foundation's `JSONEncoder` does with `.sortedKeys` and
/// `.withoutEscapingSlashes`: keys in the order of their UTF-8 bytes, no spaces, `"`, `\` and
/// control characters escaped (`\b \f \n \r \t`, else `\u00XX`), a `Double` as its `description`
/// without a trailing `.0`. Types with a fixed shape (the audit record) write themselves with it
/// field by field, keys in that order.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Whether the object being written has no member yet (`member`'s comma).
    private var atFirstMember = false

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// Foundation refuses NaN and the infinities; so does the writer.
    public struct NonFiniteNumber: Error {
        public var value: Double
    }

    public mutating func write(_ value: JSONValue) throws(NonFiniteNumber) {
        switch value {
        case .null: append("null")
        case .bool(let flag): append(flag ? "true" : "false")
        case .int(let number): write(integer: number)
        case .double(let number): try write(double: number)
        case .string(let text): write(string: text)
        case .array(let elements):
            openArray()
            for (position, element) in elements.enumerated() {
                if position > 0 { separate() }
                try write(element)
            }
            closeArray()
        case .object(let members):
            openObject()
            for (position, key) in Self.sortedKeys(members.keys).enumerated() {
                if position > 0 { separate() }
                write(key: key)
                try write(members[key]!)
            }
            closeObject()
        }
    }

    public mutating func openArray() { bytes.append(UInt8(ascii: "[")) }
    public mutating func closeArray() { bytes.append(UInt8(ascii: "]")) }
    public mutating func openObject() {
        bytes.append(UInt8(ascii: "{"))
        atFirstMember = true
    }

    public mutating func closeObject() {
        bytes.append(UInt8(ascii: "}"))
        // The object just closed was a member or an element of what holds it.
        atFirstMember = false
    }
    /// Between two elements or members.
    public mutating func separate() { bytes.append(UInt8(ascii: ",")) }

    /// A member's key and its colon.
    public mutating func write(key: String) {
        write(string: key)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Starts a member of the object being written, for types that write themselves member by
    /// member in sorted order: a comma unless it is the object's first, then `key` (a Swift name,
    /// which needs no escaping) and its colon.
    public mutating func member(_ key: StaticString) {
        if !atFirstMember { bytes.append(UInt8(ascii: ",")) }
        atFirstMember = false
        bytes.append(UInt8(ascii: "\""))
        append(key)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func member(_ key: StaticString, _ value: String) {
        member(key)
        write(string: value)
    }

    public mutating func member(_ key: StaticString, _ value: Bool) {
        member(key)
        append(value ? "true" : "false")
    }

    public mutating func member(_ key: StaticString, _ value: some BinaryInteger) {
        member(key)
        write(integer: value)
    }

    /// Nothing when `value` is nil, as `JSONEncoder` leaves out a nil optional property.
    public mutating func member(_ key: StaticString, _ value: (some BinaryInteger)?) {
        if let value { member(key, value) }
    }

    /// Nothing when `value` is nil, as `JSONEncoder` leaves out a nil optional property.
    public mutating func member(_ key: StaticString, _ value: String?) {
        if let value { member(key, value) }
    }

    /// Nothing when `value` is nil, as `JSONEncoder` leaves out a nil optional property.
    public mutating func member(_ key: StaticString, _ value: Bool?) {
        if let value { member(key, value) }
    }

    public mutating func member(_ key: StaticString, _ strings: [String]) {
        member(key)
        openArray()
        for (position, string) in strings.enumerated() {
            if position > 0 { separate() }
            write(string: string)
        }
        closeArray()
    }

    /// Nothing when `value` is nil, as `JSONEncoder` leaves out a nil optional property.
    public mutating func member(_ key: StaticString, _ value: (some JSONWritable)?) throws(NonFiniteNumber) {
        guard let value else { return }
        member(key)
        try value.write(into: &self)
    }

    public mutating func member(_ key: StaticString, _ elements: [some JSONWritable]) throws(NonFiniteNumber) {
        member(key)
        openArray()
        for (position, element) in elements.enumerated() {
            if position > 0 { separate() }
            try element.write(into: &self)
        }
        closeArray()
    }

    /// A number already in the text Foundation writes for it.
    public mutating func write(number text: String) {
        append(text)
    }

    /// Keys in Foundation's `.sortedKeys` order: by their UTF-8 bytes.
    public static func sortedKeys(_ keys: some Collection<String>) -> [String] {
        keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    public mutating func write(integer: some BinaryInteger) {
        guard let integer = Int64(exactly: integer) else { return append(String(integer)) }
        if integer < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = integer.magnitude
        var digits = 1
        var rest = magnitude / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        let end = bytes.count + digits
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var position = end
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
        }
    }

    public mutating func write(double: Double) throws(NonFiniteNumber) {
        guard double.isFinite else { throw NonFiniteNumber(value: double) }
        append(JSONNumbers.text(of: double))
    }

    public mutating func write(string: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = string
        text.withUTF8 { utf8 in
            var mark = 0
            for (offset, byte) in utf8.enumerated() {
                let escape: StaticString?
                switch byte {
                case UInt8(ascii: "\""): escape = "\\\""
                case UInt8(ascii: "\\"): escape = "\\\\"
                case 0x08: escape = "\\b"
                case 0x0C: escape = "\\f"
                case 0x0A: escape = "\\n"
                case 0x0D: escape = "\\r"
                case 0x09: escape = "\\t"
                case 0..<0x20: escape = nil
                default: continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[mark..<offset]))
                if let escape {
                    append(escape)
                } else {
                    append("\\u00")
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0x0F)])
                }
                mark = offset + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[mark...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }
}

/// A type that writes its own JSON text, byte for byte what `VarlinkJSON.encode` writes for it
/// (keys in `.sortedKeys` order, nil optional properties left out), member by member instead of
/// through `Encodable`'s containers and a tree. For the replies that grow with the fleet
/// (`Host.Stats`); `JSONWritableTests` holds each to the `Encodable` text.
public protocol JSONWritable: Encodable {
    func write(into writer: inout JSONWriter) throws(JSONWriter.NonFiniteNumber)
}
