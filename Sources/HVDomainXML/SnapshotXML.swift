import Foundation
import HVProtocol

/// Encodes libvirt domain snapshot XML.
public enum SnapshotXML {
    /// A snapshot called `name` with an optional description; libvirt fills in the rest.
    ///
    /// Throws `HVError.invalidParameter` naming the field (`name`, `description`).
    public static func create(name: String, description: String?) throws(HVError) -> String {
        try Checks.name(name, field: "name", what: "snapshot name", code: .invalidParameter)
        if let description { try Checks.text(description, field: "description", code: .invalidParameter) }
        let element = SnapshotElement(name: name, description: description?.isEmpty == false ? description : nil)
        return try DomainXML.encodeChecked(element, root: "domainsnapshot")
    }
}

/// What libvirt reports about a snapshot.
public struct SnapshotFacts: Sendable, Hashable {
    public var name: String
    public var description: String?
    /// When the snapshot was taken.
    public var creationTime: Date?
    /// The domain's state when it was taken: `running`, `shutoff`, `paused`, …
    public var state: String?
    /// The snapshot this one was taken after; nil for a root of the tree.
    public var parent: String?

    public init(name: String, description: String?, creationTime: Date?, state: String?, parent: String?) {
        self.name = name
        self.description = description
        self.creationTime = creationTime
        self.state = state
        self.parent = parent
    }

    /// Reads snapshot XML that libvirt returned (its nested `<domain>` is ignored); throws
    /// `HVError.failed` when it is not a snapshot.
    public static func read(xml: String) throws(HVError) -> SnapshotFacts {
        let snapshot = try ParsedXML.parse(xml, root: "domainsnapshot", what: "snapshot")
        let description = snapshot.child("description")?.text
        return SnapshotFacts(
            name: snapshot.value("name") ?? "",
            description: description?.isEmpty == false ? description : nil,
            creationTime: snapshot.value("creationTime").flatMap { Int64($0) }.map {
                Date(timeIntervalSince1970: Double($0))
            },
            state: snapshot.value("state"),
            parent: snapshot.child("parent")?.value("name")
        )
    }
}

/// libvirt's `<domainsnapshot>` as the broker creates it.
struct SnapshotElement: Encodable {
    var name: String
    var description: String?
}
