import HVProtocol
import HVYAML
import Yams

/// YAML spec files, read by `YAMLReader` (and so under its rules) into a `JSONValue` the spec
/// decoder checks.
enum YAMLReading {
    static func value(_ text: String, file: String) throws(HVError) -> JSONValue {
        let root: Node?
        do {
            root = try YAMLReader.root(text, name: file)
        } catch {
            var details = ["file": file]
            if let line = error.line, let column = error.column { (details["line"], details["column"]) = ("\(line)", "\(column)") }
            if !error.path.isEmpty { details["field"] = error.path }
            throw HVError(.invalidSpec, error.message, fix: error.fix, details: details)
        }
        guard let root else {
            throw SpecFile.fileError(file, "is empty", fix: "write a spec, starting with 'name: web1', 'vcpus: 2', 'memory: 2GiB'")
        }
        return JSONValue(yaml: root, shape: MachineSpec.shape)
    }
}

extension JSONValue {
    /// A node `YAMLReader` returned, as JSON values. Quoted and block scalars are always text;
    /// plain ones follow YAML's rules as Yams applies them (`true`, `2`, `0x10`, `1.5`, `~`) unless
    /// `shape` expects text there, so a spec's `name: 2024` is the name "2024" rather than a type
    /// error.
    public init(yaml node: Node, shape: SpecShape? = nil) {
        switch node {
        case .scalar(let scalar):
            self = Self(scalar: scalar, shape: shape)
        case .sequence(let sequence):
            self = .array(sequence.map { JSONValue(yaml: $0, shape: shape?.element) })
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            // The reader refuses keys that are not text, and any key twice.
            for (key, item) in mapping {
                guard let name = key.string else { continue }
                object[name] = JSONValue(yaml: item, shape: shape?.field(name)?.shape)
            }
            self = .object(object)
        case .alias:
            // The reader refuses aliases; Yams resolves them while composing and never returns one.
            self = .null
        }
    }

    private init(scalar: Node.Scalar, shape: SpecShape?) {
        let node = Node.scalar(scalar)
        guard scalar.style == .plain else {
            self = .string(scalar.string)
            return
        }
        self =
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: .null
            case _ where shape?.takesText == true: .string(scalar.string)
            case .bool: node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int:
                Int64(scalar.string).map(JSONValue.int) ?? Self.integer(node, scalar.string).map(JSONValue.int)
                    ?? node.float.map(JSONValue.double) ?? .string(scalar.string)
            case .float: node.float.map(JSONValue.double) ?? .string(scalar.string)
            default: .string(scalar.string)
            }
    }

    /// Yams' reading of a YAML 1.1 integer (`0x10`, `0o17`, `1_000`, base 60 `1:30`), except that a
    /// base-60 one too large for 64 bits is nil: Yams multiplies those without checking for overflow
    /// and traps (`400000000004000004:4:44`, or any of eleven parts or more).
    private static func integer(_ node: Node, _ text: String) -> Int64? {
        var digits = text.filter { $0 != "_" }
        guard digits.contains(":") else { return node.int.map(Int64.init) }
        let negative = digits.hasPrefix("-")
        if negative || digits.hasPrefix("+") { digits.removeFirst() }
        var value: Int64 = 0
        for part in digits.split(separator: ":", omittingEmptySubsequences: false) {
            guard let part = Int64(part, radix: 10) else { return nil }
            let (shifted, shiftOverflowed) = value.multipliedReportingOverflow(by: 60)
            let (sum, sumOverflowed) = shifted.addingReportingOverflow(part)
            guard !shiftOverflowed, !sumOverflowed else { return nil }
            value = sum
        }
        return negative ? -value : value
    }
}
