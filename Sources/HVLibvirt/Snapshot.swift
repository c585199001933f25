import CLibvirt

/// A libvirt domain snapshot reference; freed when the last Swift reference goes.
public final class DomainSnapshot: @unchecked Sendable {
    let pointer: virDomainSnapshotPtr

    init(owning pointer: virDomainSnapshotPtr) {
        self.pointer = pointer
    }

    deinit {
        virDomainSnapshotFree(pointer)
    }

    /// How `virDomainRevertToSnapshot` leaves the domain.
    public struct RevertFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// Run the guest after reverting, whatever state the snapshot recorded.
        public static let running = RevertFlags(rawValue: VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING.rawValue)
        /// Leave the guest paused after reverting.
        public static let paused = RevertFlags(rawValue: VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED.rawValue)
        /// Allow reverts libvirt considers risky (e.g. across an incompatible configuration).
        public static let force = RevertFlags(rawValue: VIR_DOMAIN_SNAPSHOT_REVERT_FORCE.rawValue)
        /// Re-create the UEFI variable store from its template.
        public static let resetNVRAM = RevertFlags(rawValue: VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM.rawValue)
    }

    /// The snapshot's name, unique within its domain.
    public var name: String {
        virDomainSnapshotGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// The name of the snapshot this one was taken on top of, or nil for a root snapshot.
    public func parentName() throws(LibvirtError) -> String? {
        do {
            let parent = DomainSnapshot(owning: try Call.pointer("reading the parent of snapshot \(name)") {
                virDomainSnapshotGetParent(pointer, 0)
            })
            return parent.name
        } catch where error.isNoDomainSnapshot {
            return nil
        }
    }

    /// The snapshot's XML (`virDomainSnapshotGetXMLDesc`): its description, state, creation time
    /// and the domain definition it recorded.
    public func xmlDescription() throws(LibvirtError) -> String {
        try Call.ownedString("reading the XML of snapshot \(name)") { virDomainSnapshotGetXMLDesc(pointer, 0) }
    }

    /// Whether this is the domain's current snapshot (the one the next snapshot's parent will be).
    public func isCurrent() throws(LibvirtError) -> Bool {
        try Call.status("reading whether snapshot \(name) is current") { virDomainSnapshotIsCurrent(pointer, 0) } == 1
    }

    /// Returns the domain to this snapshot's state (`virDomainRevertToSnapshot`). Without flags the
    /// domain ends up running or stopped as it was when the snapshot was taken.
    public func revert(flags: RevertFlags = []) throws(LibvirtError) {
        _ = try Call.status("reverting to snapshot \(name)") { virDomainRevertToSnapshot(pointer, flags.rawValue) }
    }

    /// Deletes the snapshot (`virDomainSnapshotDelete`), with every snapshot below it when
    /// `children` is set; otherwise its children move up to its parent.
    public func delete(children: Bool = false) throws(LibvirtError) {
        let flags = children ? VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN.rawValue : 0
        _ = try Call.status("deleting snapshot \(name)") { virDomainSnapshotDelete(pointer, flags) }
    }
}
