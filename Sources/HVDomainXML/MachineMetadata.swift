import Foundation
import HVProtocol
import Synchronization
import XMLCoder

/// What the broker records about a machine inside its domain XML, so it survives with the domain.
///
/// Everything but the description lives in one `<hv:machine>` element of the domain's `<metadata>`
/// (namespace `MachineMetadata.namespace`); the description is the domain's own `<description>`,
/// which `virsh desc` and other libvirt tools show.
public struct MachineMetadata: Sendable, Hashable {
    /// The namespace of the broker's element in `<metadata>`.
    public static let namespace = "https://hypernixos.org/xmlns/machine/1"

    /// The applied spec as canonical JSON text; `hv vm export` returns it.
    public var specJSON: String
    /// The user who created the machine.
    public var ownerUID: UInt32
    /// The operator group the machine counts against.
    public var ownerGroup: String
    /// Whether the machine is a template for clones.
    public var template: Bool
    public var tags: [String]
    public var description: String?
    /// What an administrator gave the machine from the host, kept as JSON in `<hv:host>`.
    public var hostFeatures: HostFeatures
    /// The broker that manages the machine, named by its storage pool; nil in records written
    /// before brokers were told apart (they belong to the default broker, pool `hypervisor-images`).
    /// A second broker on the same libvirt (a test suite's) leaves other brokers' machines alone.
    public var instance: String?

    public init(
        specJSON: String, ownerUID: UInt32, ownerGroup: String, template: Bool = false, tags: [String] = [],
        description: String? = nil, hostFeatures: HostFeatures = HostFeatures(), instance: String? = nil
    ) {
        self.instance = instance
        self.specJSON = specJSON
        self.ownerUID = ownerUID
        self.ownerGroup = ownerGroup
        self.template = template
        self.tags = tags
        self.description = description
        self.hostFeatures = hostFeatures
    }

    /// The recorded spec; nil when the text is not a spec this version can read.
    public var spec: MachineSpec? {
        Self.readSpecs.value(of: specJSON) { text in try? VarlinkJSON.decode(MachineSpec.self, from: Array(text.utf8)) }
    }

    /// Specs already read, by their text: a machine's record is read on every request about it,
    /// its spec decoded only when its text changes.
    private static let readSpecs = ReadMemo<MachineSpec?>(capacity: 1024)

    /// Reads the broker's metadata back from a domain's XML; nil when the domain has none (it was
    /// not created by the broker) or the element is incomplete.
    public static func read(domainXML: String) -> MachineMetadata? {
        guard let domain = try? ParsedXML.parse(domainXML, root: "domain", what: "domain"),
            let machine = domain.child("metadata")?.child("machine", namespace: namespace)
        else { return nil }
        let description = domain.child("description")?.text
        return read(machine, namespace: namespace, description: description?.isEmpty == false ? description : nil)
    }

    /// Reads the broker's metadata of the domain as a snapshot recorded it (the `<domain>` inside
    /// `<domainsnapshot>`); nil when the machine had none then.
    public static func read(snapshotXML: String) -> MachineMetadata? {
        guard let snapshot = try? ParsedXML.parse(snapshotXML, root: "domainsnapshot", what: "snapshot"),
            let machine = snapshot.child("domain")?.child("metadata")?.child("machine", namespace: namespace)
        else { return nil }
        return read(machine, namespace: namespace, description: nil)
    }

    /// Reads the broker's element alone, as `virDomainGetMetadata` returns it: much less for libvirt
    /// to format and for us to parse than the whole domain, for the calls that read every machine's.
    /// libvirt returns it without its namespace (`<machine><spec>…`); the description is not part of it.
    public static func read(machineElement xml: String) -> MachineMetadata? {
        readElements.value(of: xml) { xml in
            guard let machine = try? ParsedXML.parse(xml, root: "machine", what: "metadata") else { return nil }
            return read(machine, namespace: nil, description: nil)
        }
    }

    /// Records already read, by their element's text (`read(machineElement:)`): admission and the
    /// answer each read the record of the machine a request names.
    private static let readElements = ReadMemo<MachineMetadata?>(capacity: 1024)

    private static func read(_ machine: ParsedXML, namespace: String?, description: String?) -> MachineMetadata? {
        guard let spec = machine.child("spec", namespace: namespace)?.text,
            let owner = machine.child("owner", namespace: namespace),
            let uid = owner["uid"].flatMap({ UInt32($0) }),
            let group = owner["group"], !group.isEmpty
        else { return nil }
        let template = machine.child("template", namespace: namespace)?.trimmedText == "true"
        let tags = machine.child("tags", namespace: namespace)?.children("tag", namespace: namespace).map(\.trimmedText) ?? []
        let host = machine.child("host", namespace: namespace).flatMap {
            try? VarlinkJSON.decode(HostFeatures.self, from: Array($0.text.utf8))
        }
        let instance = machine.child("instance", namespace: namespace)?.trimmedText
        return MachineMetadata(
            specJSON: spec, ownerUID: uid, ownerGroup: group, template: template, tags: tags,
            description: description, hostFeatures: host ?? HostFeatures(), instance: instance?.isEmpty == false ? instance : nil
        )
    }
}

/// The domain's `<metadata>` element: `<hv:machine xmlns:hv="…">` and its children. Public for
/// `hv-bench`, whose test-driver fleets carry it like machines made from specs.
public struct MetadataElement: Encodable, Sendable {
    var machine: Machine

    public init(_ metadata: MachineMetadata) {
        machine = Machine(
            spec: metadata.specJSON, owner: .init(uid: metadata.ownerUID, group: metadata.ownerGroup),
            template: metadata.template, tags: .init(tag: metadata.tags),
            host: metadata.hostFeatures.isEmpty ? nil : Self.json(metadata.hostFeatures), instance: metadata.instance
        )
    }

    private static func json(_ features: HostFeatures) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(features)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    enum CodingKeys: String, CodingKey {
        case machine = "hv:machine"
    }

    struct Machine: AttributeKeys {
        static var attributeKeys: Set<String> { ["xmlns:hv"] }
        var namespace = MachineMetadata.namespace
        var spec: String
        var owner: Owner
        var template: Bool
        var tags: Tags
        var host: String?
        var instance: String?

        enum CodingKeys: String, CodingKey {
            case namespace = "xmlns:hv"
            case spec = "hv:spec"
            case owner = "hv:owner"
            case template = "hv:template"
            case tags = "hv:tags"
            case host = "hv:host"
            case instance = "hv:instance"
        }
    }

    struct Owner: AttributeKeys {
        static var attributeKeys: Set<String> { ["uid", "group"] }
        var uid: UInt32
        var group: String
    }

    struct Tags: Encodable {
        var tag: [String]

        enum CodingKeys: String, CodingKey {
            case tag = "hv:tag"
        }
    }
}
