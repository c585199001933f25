import CLibvirt

extension StoragePool {
    /// Whether the pool has a persistent definition (it outlives being stopped).
    public func isPersistent() throws(LibvirtError) -> Bool {
        try Call.status("reading whether pool \(name) is persistent") { virStoragePoolIsPersistent(pointer) } == 1
    }

    /// Whether libvirt starts the pool when the host boots.
    public func autostart() throws(LibvirtError) -> Bool {
        var value: Int32 = 0
        _ = try Call.status("reading the autostart of pool \(name)") { virStoragePoolGetAutostart(pointer, &value) }
        return value != 0
    }

    /// The pool's UUID, e.g. `35bb2ad9-388a-cdfe-461a-b8907f6e53fe`.
    public func uuid() throws(LibvirtError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        _ = try Call.status("reading the UUID of pool \(name)") { virStoragePoolGetUUIDString(pointer, &buffer) }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The pool's XML; `inactive` gives the persistent definition rather than the running state.
    public func xmlDescription(inactive: Bool) throws(LibvirtError) -> String {
        let flags = inactive ? VIR_STORAGE_XML_INACTIVE.rawValue : 0
        return try Call.ownedString("reading the XML of pool \(name)") { virStoragePoolGetXMLDesc(pointer, flags) }
    }

    /// Stops the pool (`virStoragePoolDestroy`); its volumes and their data stay.
    public func destroy() throws(LibvirtError) {
        _ = try Call.status("stopping pool \(name)") { virStoragePoolDestroy(pointer) }
    }

    /// Removes the pool's definition (`virStoragePoolUndefine`); the pool must be stopped. Its
    /// directory and volumes stay on disk.
    public func undefine() throws(LibvirtError) {
        _ = try Call.status("undefining pool \(name)") { virStoragePoolUndefine(pointer) }
    }
}
