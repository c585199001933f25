import CLibvirt
import Glibc

/// A libvirt domain checkpoint reference; freed when the last Swift reference goes.
public final class DomainCheckpoint: @unchecked Sendable {
    let pointer: virDomainCheckpointPtr

    init(owning pointer: virDomainCheckpointPtr) {
        self.pointer = pointer
    }

    deinit {
        virDomainCheckpointFree(pointer)
    }

    /// What `virDomainCheckpointDelete` removes.
    public struct DeleteFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// The checkpoints taken after this one too.
        public static let children = DeleteFlags(rawValue: VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN.rawValue)
        /// Only libvirt's record, leaving the bitmaps in the disk images.
        public static let metadataOnly = DeleteFlags(rawValue: VIR_DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY.rawValue)
        /// Only the checkpoints taken after this one.
        public static let childrenOnly = DeleteFlags(rawValue: VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY.rawValue)
    }

    /// The checkpoint's name, unique within its domain.
    public var name: String {
        virDomainCheckpointGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// The checkpoint's XML without the domain definition it recorded
    /// (`virDomainCheckpointGetXMLDesc` with VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN).
    public func xmlDescription() throws(LibvirtError) -> String {
        try Call.ownedString("reading the XML of checkpoint \(name)") {
            virDomainCheckpointGetXMLDesc(pointer, VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN.rawValue)
        }
    }

    /// The name of the checkpoint this one was taken after, or nil for the first.
    public func parentName() throws(LibvirtError) -> String? {
        do {
            let parent = DomainCheckpoint(owning: try Call.pointer("reading the parent of checkpoint \(name)") {
                virDomainCheckpointGetParent(pointer, 0)
            })
            return parent.name
        } catch where error.isNoDomainCheckpoint {
            return nil
        }
    }

    /// Deletes the checkpoint (`virDomainCheckpointDelete`): libvirt's record and, unless
    /// `.metadataOnly`, the bitmaps in the disk images; a child's changes are merged into its
    /// parent's bitmaps, so later checkpoints stay usable.
    public func delete(flags: DeleteFlags = []) throws(LibvirtError) {
        _ = try Call.status("deleting checkpoint \(name)") { virDomainCheckpointDelete(pointer, flags.rawValue) }
    }
}

extension Domain {
    /// Every checkpoint of the domain (`virDomainListAllCheckpoints`), parents before their children.
    public func checkpoints() throws(LibvirtError) -> [DomainCheckpoint] {
        var list: UnsafeMutablePointer<virDomainCheckpointPtr?>?
        let count = try Call.status("listing the checkpoints of \(name)") {
            virDomainListAllCheckpoints(pointer, &list, VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL.rawValue)
        }
        guard let list else { return [] }
        defer { free(list) }
        return (0..<Int(count)).compactMap { index in list[index].map(DomainCheckpoint.init(owning:)) }
    }

    /// The checkpoint with this name, or nil when the domain has none by that name.
    public func checkpoint(named checkpointName: String) throws(LibvirtError) -> DomainCheckpoint? {
        do {
            return DomainCheckpoint(owning: try Call.pointer("looking up checkpoint \(checkpointName) of \(name)") {
                virDomainCheckpointLookupByName(pointer, checkpointName, 0)
            })
        } catch where error.isNoDomainCheckpoint {
            return nil
        }
    }

    /// Creates a checkpoint from `<domaincheckpoint>` XML on its own, without a backup
    /// (`virDomainCheckpointCreateXML`); `redefine` restores a checkpoint's record from XML libvirt
    /// wrote earlier instead.
    public func createCheckpoint(xml: String, redefine: Bool = false) throws(LibvirtError) -> DomainCheckpoint {
        let flags = redefine ? VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE.rawValue : 0
        return DomainCheckpoint(owning: try Call.pointer("creating a checkpoint of \(name)") {
            virDomainCheckpointCreateXML(pointer, xml, flags)
        })
    }
}
