import CLibvirt

/// A libvirt storage pool reference.
public final class StoragePool: @unchecked Sendable {
    let pointer: virStoragePoolPtr

    init(owning pointer: virStoragePoolPtr) {
        self.pointer = pointer
    }

    deinit {
        virStoragePoolFree(pointer)
    }

    public var isActive: Bool { virStoragePoolIsActive(pointer) == 1 }

    public func xmlDescription() throws(LibvirtError) -> String {
        try Call.ownedString("reading the pool XML") { virStoragePoolGetXMLDesc(pointer, 0) }
    }

    /// Creates the pool's directory if needed and activates it.
    public func build() throws(LibvirtError) {
        _ = try Call.status("building the storage pool") { virStoragePoolBuild(pointer, 0) }
    }

    public func start() throws(LibvirtError) {
        _ = try Call.status("starting the storage pool") { virStoragePoolCreate(pointer, 0) }
    }

    public func setAutostart(_ enabled: Bool) throws(LibvirtError) {
        _ = try Call.status("setting pool autostart") { virStoragePoolSetAutostart(pointer, enabled ? 1 : 0) }
    }

    public func refresh() throws(LibvirtError) {
        _ = try Call.status("refreshing the storage pool") { virStoragePoolRefresh(pointer, 0) }
    }

    public func createVolume(xml: String) throws(LibvirtError) -> StorageVolume {
        StorageVolume(owning: try Call.pointer("creating a volume") { virStorageVolCreateXML(pointer, xml, 0) })
    }

    /// The volume with this name, or nil when there is none.
    public func volume(named name: String) throws(LibvirtError) -> StorageVolume? {
        do {
            return StorageVolume(owning: try Call.pointer("looking up volume \(name)") { virStorageVolLookupByName(pointer, name) })
        } catch where error.isNoStorageVolume {
            return nil
        }
    }
}

/// A libvirt storage volume reference.
public final class StorageVolume: @unchecked Sendable {
    let pointer: virStorageVolPtr

    init(owning pointer: virStorageVolPtr) {
        self.pointer = pointer
    }

    deinit {
        virStorageVolFree(pointer)
    }

    public func path() throws(LibvirtError) -> String {
        try Call.ownedString("reading the volume path") { virStorageVolGetPath(pointer) }
    }

    public func delete() throws(LibvirtError) {
        _ = try Call.status("deleting the volume") { virStorageVolDelete(pointer, 0) }
    }
}
