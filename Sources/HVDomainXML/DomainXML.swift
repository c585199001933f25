import XMLCoder

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
