import Foundation
import HVProtocol

/// Encodes libvirt's `<domaincheckpoint>`: a point in time from which QEMU tracks, in a bitmap
/// kept in each qcow2 disk, which blocks the guest changes.
public enum CheckpointXML {
    /// A checkpoint called `name` tracking `disks` (their targets, `vda`) with a bitmap each, named
    /// after the checkpoint; the domain's other disks take no part.
    ///
    /// Throws `HVError.invalidParameter` naming the field (`name`, `description`, `disks[0]`).
    public static func create(name: String, description: String?, disks: [String]) throws(HVError) -> String {
        let code = HVError.Code.invalidParameter
        try Checks.name(name, field: "name", what: "checkpoint name", code: code)
        if let description { try Checks.text(description, field: "description", code: code) }
        guard !disks.isEmpty else {
            throw Checks.fail(code, "disks", "a checkpoint needs at least one disk", fix: "name the disks to track")
        }
        for (index, disk) in disks.enumerated() {
            try Checks.name(disk, field: "disks[\(index)]", what: "disk target", code: code)
        }
        let element = CheckpointElement(
            name: name, description: description?.isEmpty == false ? description : nil,
            disks: .init(disk: disks.map { .init(name: $0, checkpoint: "bitmap") })
        )
        return try DomainXML.encodeChecked(element, root: "domaincheckpoint")
    }
}

/// What libvirt reports about a checkpoint (`virDomainCheckpointGetXMLDesc`).
public struct CheckpointFacts: Sendable, Hashable {
    public var name: String
    public var description: String?
    /// The checkpoint this one was taken after; nil for the first.
    public var parent: String?
    public var creationTime: Date?
    /// The disks with a bitmap, and the bitmap's name.
    public var bitmaps: [String: String]

    public init(name: String, description: String?, parent: String?, creationTime: Date?, bitmaps: [String: String]) {
        self.name = name
        self.description = description
        self.parent = parent
        self.creationTime = creationTime
        self.bitmaps = bitmaps
    }

    /// Reads checkpoint XML that libvirt returned (its nested `<domain>` is ignored); throws
    /// `HVError.failed` when it is not a checkpoint.
    public static func read(xml: String) throws(HVError) -> CheckpointFacts {
        let checkpoint = try ParsedXML.parse(xml, root: "domaincheckpoint", what: "checkpoint")
        let name = checkpoint.value("name") ?? ""
        var bitmaps: [String: String] = [:]
        for disk in checkpoint.child("disks")?.children("disk") ?? [] where disk["checkpoint"] == "bitmap" {
            if let target = disk["name"] { bitmaps[target] = disk["bitmap"] ?? name }
        }
        return CheckpointFacts(
            name: name, description: checkpoint.value("description"), parent: checkpoint.child("parent")?.value("name"),
            creationTime: checkpoint.value("creationTime").flatMap { Int64($0) }.map { Date(timeIntervalSince1970: Double($0)) },
            bitmaps: bitmaps
        )
    }
}

/// libvirt's `<domaincheckpoint>` as the broker creates one.
struct CheckpointElement: Encodable {
    var name: String
    var description: String?
    var disks: Disks

    struct Disks: Encodable {
        var disk: [Disk]
    }

    struct Disk: AttributeKeys {
        static var attributeKeys: Set<String> { ["name", "checkpoint"] }
        var name: String
        var checkpoint: String
    }
}
