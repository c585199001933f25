import CLibvirt

extension StorageVolume {
    /// What backs a volume (`virStorageVolType`).
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case file, block, dir, network, netdir, ploop, unknown

        init(_ raw: Int32) {
            switch UInt32(bitPattern: raw) {
            case VIR_STORAGE_VOL_FILE.rawValue: self = .file
            case VIR_STORAGE_VOL_BLOCK.rawValue: self = .block
            case VIR_STORAGE_VOL_DIR.rawValue: self = .dir
            case VIR_STORAGE_VOL_NETWORK.rawValue: self = .network
            case VIR_STORAGE_VOL_NETDIR.rawValue: self = .netdir
            case VIR_STORAGE_VOL_PLOOP.rawValue: self = .ploop
            default: self = .unknown
            }
        }
    }

    /// A volume's kind and sizes in bytes, from `virStorageVolGetInfo`.
    public struct Info: Sendable, Hashable {
        public var kind: Kind
        /// The size the guest sees.
        public var capacity: UInt64
        /// The host space the volume occupies now.
        public var allocation: UInt64

        public init(kind: Kind, capacity: UInt64, allocation: UInt64) {
            self.kind = kind
            self.capacity = capacity
            self.allocation = allocation
        }
    }

    /// One line of a pool's volume listing.
    public struct Summary: Sendable, Hashable {
        public var name: String
        public var path: String
        public var kind: Kind
        public var capacity: UInt64
        public var allocation: UInt64

        public init(name: String, path: String, kind: Kind, capacity: UInt64, allocation: UInt64) {
            self.name = name
            self.path = path
            self.kind = kind
            self.capacity = capacity
            self.allocation = allocation
        }
    }

    /// The volume's name inside its pool.
    public var name: String {
        virStorageVolGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// The volume's unique key (for directory pools, its path).
    public var key: String {
        virStorageVolGetKey(pointer).map { String(cString: $0) } ?? ""
    }

    public func info() throws(LibvirtError) -> Info {
        var info = virStorageVolInfo()
        _ = try Call.status("reading volume \(name)") { virStorageVolGetInfo(pointer, &info) }
        return Info(kind: Kind(info.type), capacity: UInt64(info.capacity), allocation: UInt64(info.allocation))
    }

    /// Name, path, kind and sizes together.
    public func summary() throws(LibvirtError) -> Summary {
        let info = try info()
        return Summary(
            name: name, path: try path(), kind: info.kind, capacity: info.capacity, allocation: info.allocation
        )
    }

    /// The volume's XML (`virStorageVolGetXMLDesc`).
    public func xmlDescription() throws(LibvirtError) -> String {
        try Call.ownedString("reading the XML of volume \(name)") { virStorageVolGetXMLDesc(pointer, 0) }
    }

    /// The pool that holds this volume.
    public func pool() throws(LibvirtError) -> StoragePool {
        StoragePool(owning: try Call.pointer("looking up the pool of volume \(name)") {
            virStoragePoolLookupByVolume(pointer)
        })
    }

    /// Grows the volume to `capacity` bytes (`virStorageVolResize`).
    ///
    /// Volumes only grow: a capacity below the current one is refused here, before libvirt is
    /// called, with an invalid-argument error, because shrinking cuts off whatever the guest keeps
    /// at the end of its disk. `allocate` asks libvirt to allocate the new space now.
    public func resize(to capacity: UInt64, allocate: Bool = false) throws(LibvirtError) {
        let current = try info().capacity
        guard capacity >= current else {
            throw LibvirtError(
                code: Int32(VIR_ERR_INVALID_ARG.rawValue), domain: Int32(VIR_FROM_STORAGE.rawValue),
                message: "volume \(name) has \(current) bytes; shrinking it to \(capacity) bytes is refused, "
                    + "volumes only grow"
            )
        }
        let flags = allocate ? VIR_STORAGE_VOL_RESIZE_ALLOCATE.rawValue : 0
        _ = try Call.status("resizing volume \(name)") { virStorageVolResize(pointer, capacity, flags) }
    }
}
