/// The structure of a machine spec as a file or the wire carries it: which keys exist at each level,
/// which are required, and what kind of value each takes. Readers use it to refuse unknown fields
/// with a suggestion, to name the expected type, and to read YAML plain scalars as text where text
/// is expected.
public indirect enum SpecShape: Sendable {
    case text
    case integer
    case boolean
    /// A size such as `20GiB`, or a number of bytes.
    case size
    /// One of a closed set of words.
    case choice([String])
    case list(SpecShape)
    /// A mapping with these fields, in the order files are written.
    case record([SpecField])

    /// The field called `name`, if this is a record that has one.
    public func field(_ name: String) -> SpecField? {
        guard case .record(let fields) = self else { return nil }
        return fields.first { $0.name == name }
    }

    /// The shape of a list's elements.
    public var element: SpecShape? {
        guard case .list(let element) = self else { return nil }
        return element
    }

    /// Whether a YAML plain scalar in this place is read as its text (`name: 2024` is the name "2024").
    public var takesText: Bool {
        switch self {
        case .text, .size, .choice: true
        case .integer, .boolean, .list, .record: false
        }
    }

    /// What a value of this shape is, for messages: "a whole number", "a list".
    public var expected: String {
        switch self {
        case .text: "text"
        case .integer: "a whole number"
        case .boolean: "true or false"
        case .size: "a size such as 20GiB"
        case .choice(let words): "one of " + words.joined(separator: ", ")
        case .list: "a list"
        case .record: "a mapping of fields"
        }
    }
}

/// One key of a record.
public struct SpecField: Sendable {
    public let name: String
    public let shape: SpecShape
    public let required: Bool
    /// The value as someone would write it, for suggested fixes.
    public let example: String

    public init(_ name: String, _ shape: SpecShape, required: Bool = false, example: String) {
        self.name = name
        self.shape = shape
        self.required = required
        self.example = example
    }
}

extension MachineSpec {
    /// The shape of a machine spec; its keys are exactly the `CodingKeys` of the spec types.
    public static let shape = SpecShape.record([
        SpecField("name", .text, required: true, example: "web1"),
        SpecField("description", .text, example: "\"Web server for the lab\""),
        SpecField("tags", .list(.text), example: "[web, lab]"),
        SpecField("vcpus", .integer, required: true, example: "2"),
        SpecField("memory", .size, required: true, example: "2GiB"),
        SpecField("firmware", choices(Firmware.self), example: "bios"),
        SpecField("machine", choices(MachineType.self), example: "q35"),
        SpecField("disks", .list(diskShape), example: "[{name: root, size: 20GiB}]"),
        SpecField("cdrom", .text, example: "debian-12.iso"),
        SpecField("networks", .list(nicShape), example: "[{network: default}]"),
        SpecField("graphics", graphicsShape, example: "{type: vnc}"),
        SpecField("serial", .boolean, example: "true"),
        SpecField("tpm", .boolean, example: "true"),
        SpecField("autostart", autostartShape, example: "{enabled: true, order: 10}"),
        SpecField("cloud_init", cloudInitShape, example: "{user_data: \"#cloud-config\"}"),
    ])

    static let diskShape = SpecShape.record([
        SpecField("name", .text, required: true, example: "root"),
        SpecField("size", .size, example: "20GiB"),
        SpecField("template", .text, example: "debian-12"),
        SpecField("pool", .text, example: "hypervisor-images"),
        SpecField("bus", choices(DiskBus.self), example: "virtio"),
        SpecField("cache", choices(CacheMode.self), example: "none"),
    ])

    static let nicShape = SpecShape.record([
        SpecField("network", .text, example: "default"),
        SpecField("bridge", .text, example: "br0"),
        SpecField("model", choices(NicModel.self), example: "virtio"),
        SpecField("mac", .text, example: "\"52:54:00:12:34:56\""),
    ])

    static let graphicsShape = SpecShape.record([
        SpecField("type", choices(GraphicsType.self), required: true, example: "vnc"),
        // A word rather than a choice: validation refuses every other place with the reason.
        SpecField("listen", .text, example: GraphicsListen.brokerWord),
    ])

    static let autostartShape = SpecShape.record([
        SpecField("enabled", .boolean, required: true, example: "true"),
        SpecField("order", .integer, example: "10"),
    ])

    static let cloudInitShape = SpecShape.record([
        SpecField("user_data", .text, required: true, example: "\"#cloud-config\""),
        SpecField("meta_data", .text, example: "\"instance-id: web1\""),
        SpecField("network_config", .text, example: "\"version: 2\""),
    ])

    private static func choices<Choice: CaseIterable & RawRepresentable>(_: Choice.Type) -> SpecShape
    where Choice.RawValue == String {
        .choice(Choice.allCases.map(\.rawValue))
    }
}
