import CLibvirt

extension StoragePool {
    /// A pool's space, in bytes, from `virStoragePoolGetInfo`.
    public struct Info: Sendable, Hashable {
        public var capacity: UInt64
        public var allocation: UInt64
        public var available: UInt64

        public init(capacity: UInt64, allocation: UInt64, available: UInt64) {
            self.capacity = capacity
            self.allocation = allocation
            self.available = available
        }
    }

    public var name: String {
        virStoragePoolGetName(pointer).map { String(cString: $0) } ?? ""
    }

    public func info() throws(LibvirtError) -> Info {
        var info = virStoragePoolInfo()
        _ = try Call.status("reading storage pool \(name)") { virStoragePoolGetInfo(pointer, &info) }
        return Info(capacity: info.capacity, allocation: info.allocation, available: info.available)
    }
}
