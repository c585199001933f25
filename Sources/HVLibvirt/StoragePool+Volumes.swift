import CLibvirt
import Glibc

extension StoragePool {
    /// How `virStorageVolCreateXML` and `virStorageVolCreateXMLFrom` create a volume.
    public struct VolumeCreateFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// Preallocate qcow2 metadata only, not the data.
        public static let preallocateMetadata = VolumeCreateFlags(
            rawValue: VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA.rawValue
        )
        /// Clone with a copy-on-write reflink where the filesystem has it.
        public static let reflink = VolumeCreateFlags(rawValue: VIR_STORAGE_VOL_CREATE_REFLINK.rawValue)
        /// Check the XML against libvirt's schema first.
        public static let validate = VolumeCreateFlags(rawValue: VIR_STORAGE_VOL_CREATE_VALIDATE.rawValue)
    }

    /// Every volume in the pool (`virStoragePoolListAllVolumes`); the pool must be active.
    public func volumes() throws(LibvirtError) -> [StorageVolume] {
        var list: UnsafeMutablePointer<virStorageVolPtr?>?
        let count = try Call.status("listing the volumes of pool \(name)") {
            virStoragePoolListAllVolumes(pointer, &list, 0)
        }
        guard let list else { return [] }
        defer { free(list) }
        return (0..<Int(count)).compactMap { index in list[index].map(StorageVolume.init(owning:)) }
    }

    /// Name, path, kind and sizes of every volume in the pool, sorted by name. A volume deleted
    /// while the list is read is left out.
    public func volumeSummaries() throws(LibvirtError) -> [StorageVolume.Summary] {
        var summaries: [StorageVolume.Summary] = []
        for volume in try volumes() {
            do {
                summaries.append(try volume.summary())
            } catch where error.isNoStorageVolume {
                continue
            }
        }
        return summaries.sorted { $0.name < $1.name }
    }

    /// Creates a volume from its XML (`virStorageVolCreateXML`).
    public func createVolume(xml: String, flags: VolumeCreateFlags) throws(LibvirtError) -> StorageVolume {
        StorageVolume(owning: try Call.pointer("creating a volume in pool \(name)") {
            virStorageVolCreateXML(pointer, xml, flags.rawValue)
        })
    }

    /// Creates a volume in this pool whose content is copied from `source`, which may live in
    /// another pool (`virStorageVolCreateXMLFrom`). The XML names the new volume and its format.
    public func cloneVolume(xml: String, from source: StorageVolume, flags: VolumeCreateFlags = []) throws(LibvirtError)
        -> StorageVolume
    {
        StorageVolume(owning: try Call.pointer("copying volume \(source.name) in pool \(name)") {
            virStorageVolCreateXMLFrom(pointer, xml, source.pointer, flags.rawValue)
        })
    }
}

extension Connection {
    /// The volume at this host path in any pool, or nil when no pool has it (`virStorageVolLookupByPath`).
    public func storageVolume(path: String) throws(LibvirtError) -> StorageVolume? {
        do {
            return StorageVolume(owning: try Call.pointer("looking up the volume at \(path)") {
                virStorageVolLookupByPath(pointer, path)
            })
        } catch where error.isNoStorageVolume {
            return nil
        }
    }
}
