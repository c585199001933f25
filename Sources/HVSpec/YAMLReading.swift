import HVProtocol
import Yams

/// YAML spec files, read into a `JSONValue` the spec decoder checks.
///
/// Anchors and aliases are refused (a few lines can otherwise expand into gigabytes), as are
/// several documents in one file. Plain scalars are read as text where the spec expects text, so
/// `name: 2024` is the name "2024" rather than a type error.
enum YAMLReading {
    /// Deeper nesting than any spec needs is refused before it is walked.
    static let maximumDepth = 8

    static func value(_ text: String, file: String) throws(HVError) -> JSONValue {
        let parser: Parser
        let root: Node?
        do {
            parser = try Parser(yaml: text)
            root = try parser.nextRoot()
            if root != nil, try parser.nextRoot() != nil {
                throw SpecFile.fileError(
                    file, "holds several YAML documents (separated by '---'); a spec file describes one machine",
                    fix: "put each machine in a file of its own"
                )
            }
        } catch let error as HVError {
            throw error
        } catch {
            throw SpecFile.fileError(file, "is not valid YAML: \(error)", fix: "correct the YAML at the place shown")
        }
        guard let root else {
            throw SpecFile.fileError(file, "is empty", fix: "write a spec, starting with 'name: web1', 'vcpus: 2', 'memory: 2GiB'")
        }
        let value = try convert(root, shape: MachineSpec.shape, path: "", depth: 0)
        // Anchors are weak references the parser keeps alive; it must outlive the walk.
        withExtendedLifetime(parser) {}
        return value
    }

    private static func convert(_ node: Node, shape: SpecShape?, path: String, depth: Int) throws(HVError) -> JSONValue {
        if node.anchor != nil {
            throw .invalidSpec(
                path.isEmpty ? "spec" : path,
                "YAML anchors and aliases ('&name', '*name') are not accepted: a few lines of them can expand into gigabytes",
                fix: "write the value out in full where it is used"
            )
        }
        guard depth <= maximumDepth else {
            throw .invalidSpec(path, "is nested \(depth) levels deep; no spec field is", fix: "compare the layout with an exported spec")
        }
        switch node {
        case .scalar(let scalar):
            return value(of: scalar, shape: shape)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for (index, item) in sequence.enumerated() {
                items.append(try convert(item, shape: shape?.element, path: "\(path)[\(index)]", depth: depth + 1))
            }
            return .array(items)
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, item) in mapping {
                guard case .scalar(let keyScalar) = key, key.anchor == nil else {
                    throw .invalidSpec(path.isEmpty ? "spec" : path, "has a key that is not a plain name", fix: "write keys as plain words, such as 'name:'")
                }
                let name = keyScalar.string
                let itemPath = path.isEmpty ? name : "\(path).\(name)"
                guard object[name] == nil else {
                    throw .invalidSpec(itemPath, "appears twice", fix: "keep only one '\(name)'")
                }
                object[name] = try convert(item, shape: shape?.field(name)?.shape, path: itemPath, depth: depth + 1)
            }
            return .object(object)
        case .alias:
            throw .invalidSpec(
                path.isEmpty ? "spec" : path, "YAML aliases ('*name') are not accepted", fix: "write the value out in full where it is used"
            )
        }
    }

    /// Quoted and block scalars are always text; plain ones follow YAML's rules unless the spec
    /// expects text here.
    private static func value(of scalar: Node.Scalar, shape: SpecShape?) -> JSONValue {
        let node = Node.scalar(scalar)
        guard scalar.style == .plain else { return .string(scalar.string) }
        switch Tag.Name(rawValue: node.tag.rawValue) {
        case .null: return .null
        case _ where shape?.takesText == true: return .string(scalar.string)
        case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
        case .int: return Int64(scalar.string).map(JSONValue.int) ?? node.float.map(JSONValue.double) ?? .string(scalar.string)
        case .float: return node.float.map(JSONValue.double) ?? .string(scalar.string)
        default: return .string(scalar.string)
        }
    }
}
