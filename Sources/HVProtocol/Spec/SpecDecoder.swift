/// Turns a parsed spec (a file's content or a method's parameters) into a `MachineSpec`, strictly:
/// unknown fields are refused with a suggestion, wrong types name the field and the expected type,
/// and sizes are read with a clear word on negative, fractional or enormous values.
///
/// It does not validate ranges and names; call `MachineSpec.validate()` next.
public enum SpecDecoder {
    public static func decode(_ value: JSONValue) throws(HVError) -> MachineSpec {
        guard case .object = value else {
            throw HVError(
                .invalidSpec, "a spec must be a mapping of fields, got \(describe(value))",
                fix: "start the file with fields such as 'name: web1', 'vcpus: 2', 'memory: 2GiB'"
            )
        }
        let checked = try check(value, shape: MachineSpec.shape, example: "", path: "")
        guard case .object(let object) = checked else { throw HVError(.failed, "the checked spec is not a mapping") }
        do {
            return try VarlinkJSON.convert(object, to: MachineSpec.self)
        } catch let error as DecodingError {
            throw describe(error)
        } catch {
            throw HVError(.invalidSpec, "the spec could not be read: \(error)")
        }
    }

    /// Checks `value` against `shape` and returns it with absent (null) optional fields removed and
    /// sizes in their canonical form.
    static func check(_ value: JSONValue, shape: SpecShape, example: String, path: String) throws(HVError) -> JSONValue {
        switch (shape, value) {
        case (.record(let fields), .object(let object)):
            return .object(try checkRecord(object, fields: fields, path: path))
        case (.list(let element), .array(let items)):
            var checked: [JSONValue] = []
            let itemExample = firstEntry(of: example)
            for (index, item) in items.enumerated() {
                let itemPath = "\(path)[\(index)]"
                checked.append(try check(item, shape: element, example: itemExample, path: itemPath))
            }
            return .array(checked)
        case (.text, .string), (.integer, .int), (.boolean, .bool):
            return value
        case (.choice(let words), .string(let word)):
            guard words.contains(word) else {
                let hint = EditDistance.closest(to: word, among: words).map { "; did you mean '\($0)'?" } ?? ""
                throw .invalidSpec(
                    path, "'\(VmName.printable(word))' is not one of \(words.joined(separator: ", "))\(hint)",
                    fix: "write one of them, such as '\(leaf(path)): \(words[0])'"
                )
            }
            return value
        case (.size, _):
            return .string(try SizeReading.read(value, path: path).description)
        default:
            throw .invalidSpec(
                path, "must be \(shape.expected), got \(describe(value))",
                fix: fix(path: path, shape: shape, example: example)
            )
        }
    }

    private static func checkRecord(
        _ object: [String: JSONValue], fields: [SpecField], path: String
    ) throws(HVError) -> [String: JSONValue] {
        var checked: [String: JSONValue] = [:]
        for key in object.keys.sorted() {
            let fieldPath = path.isEmpty ? key : "\(path).\(key)"
            guard let field = fields.first(where: { $0.name == key }) else {
                throw unknownField(key, path: fieldPath, known: fields.map(\.name))
            }
            guard let value = object[key], value != .null else { continue }
            checked[key] = try check(value, shape: field.shape, example: field.example, path: fieldPath)
        }
        if let missing = fields.first(where: { $0.required && checked[$0.name] == nil }) {
            let fieldPath = path.isEmpty ? missing.name : "\(path).\(missing.name)"
            throw .invalidSpec(fieldPath, "is required but missing", fix: "add '\(missing.name): \(missing.example)'")
        }
        return checked
    }

    private static func unknownField(_ key: String, path: String, known: [String]) -> HVError {
        let shown = VmName.printable(key)
        if let suggestion = EditDistance.closest(to: key, among: known) {
            return .invalidSpec(
                path, "unknown field '\(shown)'; did you mean '\(suggestion)'?", fix: "write '\(suggestion)' instead of '\(shown)'"
            )
        }
        return .invalidSpec(
            path, "unknown field '\(shown)'",
            fix: "remove it; the fields allowed here are \(known.joined(separator: ", "))"
        )
    }

    private static func fix(path: String, shape: SpecShape, example: String) -> String {
        if example.isEmpty { return "write \(shape.expected) here" }
        // A list entry is written as '- entry', not under its own key.
        if path.hasSuffix("]") { return "write each entry like '- \(example)'" }
        return "write it like '\(leaf(path)): \(example)'"
    }

    /// The first entry of a list example: `web` of `[web, lab]`, `{name: root}` of `[{name: root}]`.
    private static func firstEntry(of example: String) -> String {
        guard example.hasPrefix("["), example.hasSuffix("]") else { return "" }
        let inner = example.dropFirst().dropLast()
        if inner.hasPrefix("{"), let end = inner.firstIndex(of: "}") { return String(inner[...end]) }
        return String(inner.prefix { $0 != "," })
    }

    /// The last component of a path, for "write it like 'size: 20GiB'".
    static func leaf(_ path: String) -> String {
        let last = path.split(separator: ".").last.map(String.init) ?? path
        return last.split(separator: "[").first.map(String.init) ?? last
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "nothing"
        case .bool(let flag): "\(flag)"
        case .int(let number): "the number \(number)"
        case .double(let number): "the number \(number)"
        case .string(let text): "the text '\(VmName.printable(text))'"
        case .array: "a list"
        case .object: "a mapping"
        }
    }

    private static func describe(_ error: DecodingError) -> HVError {
        let context: DecodingError.Context? =
            switch error {
            case .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context),
                .dataCorrupted(let context):
                context
            @unknown default: nil
            }
        let field = context.map { StrictDecoding.path($0.codingPath) } ?? ""
        let reason = context?.debugDescription ?? "could not be read"
        return .invalidSpec(field.isEmpty ? "spec" : field, reason, fix: "correct the value of this field")
    }
}
