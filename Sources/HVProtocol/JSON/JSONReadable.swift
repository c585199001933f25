/// A type that reads itself from the members of a JSON object, for the replies that grow with the
/// fleet (`Host.Stats`): one look-up per member instead of `Decodable`'s containers.
///
/// `init(json:)` answers only what `Decodable` would answer without a question, and is nil for
/// anything else: a member missing or of another JSON type, a number that is not an integer. The
/// caller then decodes through `Decodable`, which gives its own value or error, so a readable type
/// reads exactly what it decodes (`JSONReadableTests`). Members are taken as read from the wire,
/// where a number can't be NaN or infinite.
public protocol JSONReadable: Decodable {
    init?(json members: [String: JSONValue])
}

/// Typed look-ups in an object's members. For an optional property, `.some(nil)` is a member that
/// is absent or null (`decodeIfPresent`'s nil) and nil is one of another type.
struct JSONMembers {
    let members: [String: JSONValue]

    init(_ members: [String: JSONValue]) {
        self.members = members
    }

    func string(_ key: String) -> String? {
        guard case .string(let text)? = members[key] else { return nil }
        return text
    }

    func bool(_ key: String) -> Bool? {
        guard case .bool(let flag)? = members[key] else { return nil }
        return flag
    }

    func int64(_ key: String) -> Int64? {
        guard case .int(let number)? = members[key] else { return nil }
        return number
    }

    func int(_ key: String) -> Int? {
        int64(key).flatMap { Int(exactly: $0) }
    }

    func optionalString(_ key: String) -> String?? {
        switch members[key] {
        case nil, .null?: return .some(nil)
        case .string(let text)?: return .some(text)
        default: return nil
        }
    }

    func optionalInt64(_ key: String) -> Int64?? {
        switch members[key] {
        case nil, .null?: return .some(nil)
        case .int(let number)?: return .some(number)
        default: return nil
        }
    }

    func array<Element: JSONReadable>(_ key: String, of type: Element.Type = Element.self) -> [Element]? {
        guard case .array(let elements)? = members[key] else { return nil }
        var result: [Element] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard case .object(let members) = element, let value = Element(json: members) else { return nil }
            result.append(value)
        }
        return result
    }
}
