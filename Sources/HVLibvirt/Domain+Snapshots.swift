import CLibvirt
import Glibc

extension Domain {
    /// How `virDomainSnapshotCreateXML` takes a snapshot.
    public struct SnapshotCreateFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// Restore or change a snapshot's metadata from its XML instead of taking one.
        public static let redefine = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE.rawValue)
        /// With `redefine`, make the snapshot the current one.
        public static let current = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT.rawValue)
        /// Stop the guest once the snapshot is taken.
        public static let halt = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_HALT.rawValue)
        /// Disks only, without the guest's memory.
        public static let diskOnly = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY.rawValue)
        /// Freeze the guest's filesystems through its agent while the snapshot is taken.
        public static let quiesce = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE.rawValue)
        /// All disks or none.
        public static let atomic = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC.rawValue)
        /// Keep the guest running while its memory is saved.
        public static let live = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_LIVE.rawValue)
        /// Check the XML against libvirt's schema first.
        public static let validate = SnapshotCreateFlags(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE.rawValue)
    }

    /// Takes a snapshot described by `<domainsnapshot>` XML (`virDomainSnapshotCreateXML`); it
    /// becomes the current snapshot.
    public func createSnapshot(xml: String, flags: SnapshotCreateFlags = []) throws(LibvirtError) -> DomainSnapshot {
        DomainSnapshot(owning: try Call.pointer("taking a snapshot of \(name)") {
            virDomainSnapshotCreateXML(pointer, xml, flags.rawValue)
        })
    }

    /// Every snapshot of the domain (`virDomainListAllSnapshots`), parents before their children.
    public func snapshots() throws(LibvirtError) -> [DomainSnapshot] {
        var list: UnsafeMutablePointer<virDomainSnapshotPtr?>?
        let count = try Call.status("listing the snapshots of \(name)") {
            virDomainListAllSnapshots(pointer, &list, VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL.rawValue)
        }
        guard let list else { return [] }
        defer { free(list) }
        return (0..<Int(count)).compactMap { index in list[index].map(DomainSnapshot.init(owning:)) }
    }

    /// The snapshot with this name, or nil when the domain has none by that name.
    public func snapshot(named snapshotName: String) throws(LibvirtError) -> DomainSnapshot? {
        do {
            return DomainSnapshot(owning: try Call.pointer("looking up snapshot \(snapshotName) of \(name)") {
                virDomainSnapshotLookupByName(pointer, snapshotName, 0)
            })
        } catch where error.isNoDomainSnapshot {
            return nil
        }
    }

    /// The current snapshot (the parent of the next one), or nil when there is none.
    public func currentSnapshot() throws(LibvirtError) -> DomainSnapshot? {
        let exists = try Call.status("reading whether \(name) has a current snapshot") {
            virDomainHasCurrentSnapshot(pointer, 0)
        }
        guard exists == 1 else { return nil }
        do {
            return DomainSnapshot(owning: try Call.pointer("reading the current snapshot of \(name)") {
                virDomainSnapshotCurrent(pointer, 0)
            })
        } catch where error.isNoDomainSnapshot {
            return nil
        }
    }
}
