import Yams

/// A YAML mapping `YAMLReader` returned, read field by field, with every error naming the field's
/// path (`rules[2].for`) and unknown keys refused. The reader has already refused keys that appear
/// twice or are not text.
public struct YAMLFields {
    public let path: String
    private let values: [String: Node]

    public init(_ node: Node, path: String, allowed: [String]) throws {
        guard case .mapping(let mapping) = node else {
            throw AlertingError.invalid(path.isEmpty ? "document" : path, "expected a mapping of keys to values")
        }
        var values: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                throw AlertingError.invalid(path.isEmpty ? "document" : path, "keys must be plain text")
            }
            let key = scalar.string
            let field = Self.join(path, key)
            guard allowed.contains(key) else {
                throw AlertingError.invalid(field, "unknown key; allowed keys here: \(allowed.joined(separator: ", "))")
            }
            values[key] = value
        }
        self.path = path
        self.values = values
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func field(_ key: String) -> String { Self.join(path, key) }

    public func has(_ key: String) -> Bool { values[key] != nil }

    public func node(_ key: String) -> Node? { values[key] }

    public func string(_ key: String) throws -> String? {
        guard let node = values[key] else { return nil }
        guard case .scalar(let scalar) = node else { throw AlertingError.invalid(field(key), "expected text") }
        return scalar.string
    }

    public func requiredString(_ key: String) throws -> String {
        guard let value = try string(key) else { throw AlertingError.invalid(field(key), "is required") }
        guard !value.isEmpty else { throw AlertingError.invalid(field(key), "must not be empty") }
        return value
    }

    public func number(_ key: String) throws -> Double? {
        guard let text = try string(key) else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw AlertingError.invalid(field(key), "\"\(text)\" is not a number")
        }
        return value
    }

    public func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = try string(key) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw AlertingError.invalid(
                field(key), "\"\(text)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw AlertingError.invalid(field(key), "\"\(text)\" is not true or false")
        }
    }

    /// A duration in seconds: `30s`, `5m`, `1h`, `7d` or `0`.
    public func duration(_ key: String, minimum: Double = 0) throws -> Double? {
        guard let text = try string(key) else { return nil }
        guard let seconds = DurationText.seconds(text) else {
            throw AlertingError.invalid(field(key), "\"\(text)\" is not a duration; use e.g. 30s, 5m, 1h")
        }
        guard seconds <= DurationText.maximumSeconds else {
            throw AlertingError.invalid(field(key), "\"\(text)\" is too long; the longest allowed is 365d")
        }
        guard seconds >= minimum else {
            throw AlertingError.invalid(
                field(key), "\"\(text)\" is too short; use at least \(DurationText.format(minimum))")
        }
        return seconds
    }

    /// A list of texts; a single text is not accepted in its place.
    public func strings(_ key: String) throws -> [String]? {
        guard let node = values[key] else { return nil }
        guard case .sequence(let sequence) = node else { throw AlertingError.invalid(field(key), "expected a list") }
        return try sequence.enumerated().map { index, item in
            guard case .scalar(let scalar) = item, !scalar.string.isEmpty else {
                throw AlertingError.invalid("\(field(key))[\(index)]", "expected text")
            }
            return scalar.string
        }
    }

    /// A mapping of text to text, e.g. a label matcher.
    public func stringMap(_ key: String) throws -> [String: String]? {
        guard let node = values[key] else { return nil }
        guard case .mapping(let mapping) = node else {
            throw AlertingError.invalid(field(key), "expected a mapping of names to values")
        }
        var result: [String: String] = [:]
        for (name, value) in mapping {
            guard case .scalar(let nameScalar) = name, case .scalar(let valueScalar) = value else {
                throw AlertingError.invalid(field(key), "names and values must be plain text")
            }
            result[nameScalar.string] = valueScalar.string
        }
        return result
    }

    /// The items of a list, each with its path (`channels[1]`).
    public func items(_ key: String) throws -> [(path: String, node: Node)]? {
        guard let node = values[key] else { return nil }
        if case .scalar(let scalar) = node, ["", "~", "null"].contains(scalar.string) { return [] }
        guard case .sequence(let sequence) = node else { throw AlertingError.invalid(field(key), "expected a list") }
        return sequence.enumerated().map { ("\(field(key))[\($0.offset)]", $0.element) }
    }
}
