import Foundation

/// How Foundation's JSON coders write and read numbers, in one place: the text of a `Double`, what
/// a number's text reads back as in a `JSONValue`, and the rare numbers only Foundation itself can
/// say what it makes of.
enum JSONNumbers {
    /// A `Double` as `JSONEncoder` writes it: its `description` without a trailing `.0`.
    static func text(of number: Double) -> String {
        var text = number.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    /// What `JSONDecoder` reads the number `text` (valid JSON) as in a `JSONValue`: an integer,
    /// or a whole number below 2^53 written with a fraction or exponent, is `.int`; any other
    /// finite number `.double`. Nil for numbers only Foundation can say what it makes of: integers
    /// beyond 64 bits, larger whole numbers written with a fraction or exponent (it reads their
    /// decimal digits), and numbers too large for a `Double` (it refuses them).
    static func value(ofText text: String) -> JSONValue? {
        if !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            return Int64(text).map(JSONValue.int)
        }
        guard let number = Double(text), number.isFinite else { return nil }
        guard let whole = Int64(exactly: number) else { return .double(number) }
        return number.magnitude < 0x1p53 ? .int(whole) : nil
    }

    /// What Foundation makes of the number `text` as a `JSONValue`, asking it where `value(ofText:)` can't say.
    static func foundationValue(ofText text: String) throws -> JSONValue {
        if let value = value(ofText: text) { return value }
        return try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// Decodes `text` with Foundation; a number the type can't hold is `NumberOutOfRange`, reported
    /// at the top as Foundation does.
    static func foundationDecode<T: Decodable>(_ type: T.Type, text: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw NumberOutOfRange()
        }
    }

    /// `value` as Foundation would read back the text it writes for it: whole `.double` numbers
    /// below 2^53 become `.int`, and so on (`value(ofText:)`). NaN and the infinities, which
    /// Foundation can't write, are refused with its error.
    static func normalized(_ value: JSONValue, path: @autoclosure () -> [any CodingKey]) throws -> JSONValue {
        try changed(value, path: path()) ?? value
    }

    /// The normalized value when it differs from `value`; nil when `value` is already normal.
    private static func changed(_ value: JSONValue, path: @autoclosure () -> [any CodingKey]) throws -> JSONValue? {
        switch value {
        case .double(let number):
            let normal = try normalized(number, path: path())
            return normal == value ? nil : normal
        case .array(let elements):
            var result: [JSONValue]?
            for (index, element) in elements.enumerated() {
                if let replaced = try changed(element, path: path() + [IndexKey(index: index)]) {
                    if result == nil { result = elements }
                    result![index] = replaced
                }
            }
            return result.map(JSONValue.array)
        case .object(let members):
            var result: [String: JSONValue]?
            for (key, member) in members {
                if let replaced = try changed(member, path: path() + [IndexKey(stringValue: key)!]) {
                    if result == nil { result = members }
                    result![key] = replaced
                }
            }
            return result.map(JSONValue.object)
        case .null, .bool, .int, .string:
            return nil
        }
    }

    static func normalized(_ number: Double, path: @autoclosure () -> [any CodingKey]) throws -> JSONValue {
        guard number.isFinite else { throw nonFinite(number, path: path()) }
        guard let whole = Int64(exactly: number) else { return .double(number) }
        if number.magnitude < 0x1p53 { return .int(whole) }
        return try foundationValue(ofText: text(of: number))
    }

    /// Foundation's error for a number JSON can't hold.
    static func nonFinite<T: FloatingPoint>(_ number: T, path: [any CodingKey]) -> EncodingError {
        EncodingError.invalidValue(number, .init(codingPath: path, debugDescription: "Unable to encode \(T.self).\(number) directly in JSON."))
    }
}
