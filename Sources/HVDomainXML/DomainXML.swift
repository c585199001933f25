import Foundation
import HVProtocol
import XMLCoder

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Encodes libvirt domain, storage pool and volume XML from typed models.
public enum DomainXML {
    public static func domain(_ definition: DomainDefinition) throws -> String {
        try encode(Domain(definition), root: "domain")
    }

    public static func directoryPool(name: String, path: String) throws -> String {
        try encode(Pool(type: "dir", name: name, target: .init(path: path)), root: "pool")
    }

    public static func qcow2Volume(name: String, capacityGiB: Int) throws -> String {
        try encode(
            Volume(name: name, capacity: .init(unit: "GiB", value: capacityGiB), target: .init(format: .init(type: "qcow2"))),
            root: "volume"
        )
    }

    static func encode<Value: Encodable>(_ value: Value, root: String) throws -> String {
        let encoder = XMLEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        encoder.prettyPrintIndentation = .spaces(2)
        let data = try encoder.encode(value, withRootKey: root)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Encodes the listed coding keys as attributes, everything else as elements.
protocol AttributeKeys: Encodable, DynamicNodeEncoding {
    static var attributeKeys: Set<String> { get }
}

extension AttributeKeys {
    static func nodeEncoding(for key: any CodingKey) -> XMLEncoder.NodeEncoding {
        attributeKeys.contains(key.stringValue) ? .attribute : .element
    }
}

/// An element with attributes and a text value, such as `<memory unit="MiB">512</memory>`.
struct Measured<Value: Encodable & Sendable>: AttributeKeys {
    static var attributeKeys: Set<String> { ["unit"] }
    var unit: String
    var value: Value
    enum CodingKeys: String, CodingKey {
        case unit
        case value = ""
    }
}

/// An element that is present or absent, such as `<acpi/>`.
struct Flag: Encodable {}

extension DomainXML {
    /// Encodes `value`, reporting an encoder failure as `HVError.failed` so builders throw one type.
    static func encodeChecked<Value: Encodable>(_ value: Value, root: String) throws(HVError) -> String {
        do {
            return try encode(value, root: root)
        } catch {
            throw HVError(.failed, "could not encode the \(root) XML: \(error)")
        }
    }
}

/// One element of XML that libvirt returned: local names, resolved namespaces, attributes, text.
///
/// Read with Foundation's `XMLParser` (no external entities), so a prefix chosen by whoever wrote
/// the document does not matter, only the namespace it stands for.
struct ParsedXML: Sendable, Equatable {
    var name: String
    var namespace: String?
    var attributes: [String: String]
    var children: [ParsedXML] = []
    var text = ""

    /// The first direct child called `name` in `namespace` (nil: no namespace).
    func child(_ name: String, namespace: String? = nil) -> ParsedXML? {
        children.first { $0.name == name && $0.namespace == namespace }
    }

    /// Every direct child called `name` in `namespace`, in document order.
    func children(_ name: String, namespace: String? = nil) -> [ParsedXML] {
        children.filter { $0.name == name && $0.namespace == namespace }
    }

    /// The text of the direct child `name`, trimmed; nil when there is no such child or it is empty.
    func value(_ name: String) -> String? {
        let text = child(name)?.trimmedText
        return text?.isEmpty == false ? text : nil
    }

    /// The text without the whitespace around it: what `trimmingCharacters(in: .whitespacesAndNewlines)`
    /// leaves (the scalars with Unicode's White_Space property), without bridging to `NSString`.
    var trimmedText: String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }

    subscript(attribute: String) -> String? { attributes[attribute] }

    /// Parses `xml` and checks that its root element is `root`; `what` names the document in errors.
    /// The XML libvirt writes is read in one pass (`XMLReader`); anything else by `XMLParser`.
    static func parse(_ xml: String, root: String, namespace: String? = nil, what: String) throws(HVError) -> ParsedXML {
        let document: ParsedXML
        if let read = XMLReader.read(xml) {
            document = read
        } else {
            document = try parsedByFoundation(xml, what: what)
        }
        guard document.name == root, document.namespace == namespace else {
            throw HVError(.failed, "libvirt returned \(what) XML with root <\(document.name)>, expected <\(root)>")
        }
        return document
    }

    /// Parses `xml` with Foundation's `XMLParser` (no external entities).
    static func parsedByFoundation(_ xml: String, what: String) throws(HVError) -> ParsedXML {
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = builder
        guard parser.parse(), let document = builder.root else {
            let detail = parser.parserError.map { ": \($0.localizedDescription)" } ?? ""
            throw HVError(.failed, "libvirt returned \(what) XML that could not be read\(detail)")
        }
        return document
    }
}

/// Builds a `ParsedXML` tree from parser events.
private final class TreeBuilder: NSObject, XMLParserDelegate {
    var open: [ParsedXML] = []
    var root: ParsedXML?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        let namespace = namespaceURI.flatMap { $0.isEmpty ? nil : $0 }
        open.append(ParsedXML(name: elementName, namespace: namespace, attributes: attributes))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !open.isEmpty else { return }
        open[open.count - 1].text += string
    }

    func parser(_ parser: XMLParser, foundCDATA block: Data) {
        self.parser(parser, foundCharacters: String(decoding: block, as: UTF8.self))
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard let element = open.popLast() else { return }
        if open.isEmpty {
            root = element
        } else {
            open[open.count - 1].children.append(element)
        }
    }
}
