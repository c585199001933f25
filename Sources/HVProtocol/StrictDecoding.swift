/// Decodes method parameters, rejecting unknown fields and naming the field that is wrong.
public enum StrictDecoding {
    public static func decode<Value: Codable>(
        _ type: Value.Type, from object: [String: JSONValue]?
    ) throws(HVError) -> Value {
        let object = object ?? [:]
        let value: Value
        do {
            value = try VarlinkJSON.convert(object, to: type)
        } catch let error as DecodingError {
            throw describe(error)
        } catch {
            throw .invalidParameter("", "parameters could not be read: \(error)")
        }
        // Whatever the type did not read back is a field it does not know.
        let known: [String: JSONValue]
        do {
            known = try VarlinkJSON.object(value)
        } catch {
            throw HVError(.failed, "parameters could not be re-encoded: \(error)")
        }
        if let unknown = firstUnknownField(in: .object(object), known: .object(known), path: "") {
            throw .invalidParameter(
                unknown, "unknown field '\(unknown)'", fix: "remove it; 'hv' and the interface description list the fields"
            )
        }
        return value
    }

    private static func firstUnknownField(in given: JSONValue, known: JSONValue, path: String) -> String? {
        switch (given, known) {
        case (.object(let given), .object(let known)):
            for key in given.keys.sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                guard let knownValue = known[key] else {
                    if given[key] == .null { continue }
                    return child
                }
                if let unknown = firstUnknownField(in: given[key]!, known: knownValue, path: child) { return unknown }
            }
            return nil
        case (.array(let given), .array(let known)):
            for (index, element) in given.enumerated() where index < known.count {
                if let unknown = firstUnknownField(in: element, known: known[index], path: "\(path)[\(index)]") {
                    return unknown
                }
            }
            return nil
        default:
            return nil
        }
    }

    static func path(_ codingPath: [any CodingKey], appending key: (any CodingKey)? = nil) -> String {
        var text = ""
        for component in codingPath + (key.map { [$0] } ?? []) {
            if let index = component.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? component.stringValue : ".\(component.stringValue)"
            }
        }
        return text
    }

    private static func describe(_ error: DecodingError) -> HVError {
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath, appending: key)
            return .invalidParameter(field, "missing required field '\(field)'")
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return .invalidParameter(field, "field '\(field)' must be \(typeName(type))")
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return .invalidParameter(field, "field '\(field)' must be \(typeName(type)), not null")
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            return .invalidParameter(field, "field '\(field)' has an invalid value: \(context.debugDescription)")
        @unknown default:
            return .invalidParameter("", "parameters could not be read")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is UInt64.Type, is Int32.Type: "an integer"
        case is Double.Type: "a number"
        default: "of type \(type)"
        }
    }
}
