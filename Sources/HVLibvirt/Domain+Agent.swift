import CLibvirt

extension Domain {
    /// Asks the guest agent to freeze every guest filesystem (`virDomainFSFreeze`), so that what is
    /// on the disks is consistent; returns how many it froze. Thaw them with `thawFilesystems()`
    /// as soon as possible. Fails with `isAgentUnavailable` when no agent answers.
    public func freezeFilesystems() throws(LibvirtError) -> Int {
        Int(try Call.status("freezing the filesystems of \(name)") { virDomainFSFreeze(pointer, nil, 0, 0) })
    }

    /// Thaws what `freezeFilesystems()` froze (`virDomainFSThaw`); returns how many it thawed.
    @discardableResult
    public func thawFilesystems() throws(LibvirtError) -> Int {
        Int(try Call.status("thawing the filesystems of \(name)") { virDomainFSThaw(pointer, nil, 0, 0) })
    }
}

extension Domain {
    /// The guest's clock as its agent reads it (`virDomainGetTime`), in seconds since 1970: an
    /// answer means the guest agent runs. Fails with `isAgentUnavailable` when no agent answers.
    public func guestTime() throws(LibvirtError) -> Int64 {
        var seconds: CLongLong = 0
        var nanoseconds: UInt32 = 0
        _ = try Call.status("asking the guest agent of \(name) for its time") { virDomainGetTime(pointer, &seconds, &nanoseconds, 0) }
        return Int64(seconds)
    }
}
