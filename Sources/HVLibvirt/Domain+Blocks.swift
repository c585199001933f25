import CLibvirt

extension Domain {
    /// A disk's sizes in bytes, from `virDomainGetBlockInfo`.
    public struct BlockInfo: Sendable, Hashable {
        /// The size the guest sees.
        public var capacity: UInt64
        /// The host space the image occupies now.
        public var allocation: UInt64
        /// The size of the host file or device holding the image.
        public var physical: UInt64

        public init(capacity: UInt64, allocation: UInt64, physical: UInt64) {
            self.capacity = capacity
            self.allocation = allocation
            self.physical = physical
        }
    }

    /// The sizes of one disk, named by its target (`vda`) or its source path.
    public func blockInfo(disk: String) throws(LibvirtError) -> BlockInfo {
        var info = virDomainBlockInfo()
        _ = try Call.status("reading the size of disk \(disk) of \(name)") {
            virDomainGetBlockInfo(pointer, disk, &info, 0)
        }
        return BlockInfo(capacity: info.capacity, allocation: info.allocation, physical: info.physical)
    }

    /// Grows a running guest's disk to `capacity` bytes (`virDomainBlockResize` with
    /// VIR_DOMAIN_BLOCK_RESIZE_BYTES), so the guest sees the new size at once.
    ///
    /// Disks only grow: a capacity below the current one is refused here, before libvirt is called,
    /// with an invalid-argument error. For a stopped domain, resize its volume instead.
    public func blockResize(disk: String, to capacity: UInt64) throws(LibvirtError) {
        let current = try blockInfo(disk: disk).capacity
        guard capacity >= current else {
            throw LibvirtError(
                code: Int32(VIR_ERR_INVALID_ARG.rawValue), domain: Int32(VIR_FROM_DOMAIN.rawValue),
                message: "disk \(disk) of \(name) has \(current) bytes; shrinking it to \(capacity) bytes is refused, "
                    + "disks only grow"
            )
        }
        _ = try Call.status("resizing disk \(disk) of \(name)") {
            virDomainBlockResize(pointer, disk, capacity, VIR_DOMAIN_BLOCK_RESIZE_BYTES.rawValue)
        }
    }
}
