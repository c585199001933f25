import HVLibvirt

extension LibvirtHypervisor {
    /// Every domain's name and description, read with `flags`, for the questions asked of all of
    /// them (which machines use a disk, an image, a network); see `descriptions(of:flags:runningOnly:)`.
    static func descriptions(
        _ connection: Connection, flags: Domain.XMLFlags = [], runningOnly: Bool = false
    ) throws(LibvirtError) -> [(name: String, xml: String)] {
        try descriptions(of: try connection.domains(), flags: flags, runningOnly: runningOnly)
    }

    /// The names and descriptions of `domains`, as listed a moment ago. A domain another request
    /// deleted since the listing is left out: a domain that is gone uses nothing any more, and its
    /// absence is not the caller's error. With `runningOnly`, so are those not running.
    static func descriptions(
        of domains: [Domain], flags: Domain.XMLFlags = [], runningOnly: Bool = false
    ) throws(LibvirtError) -> [(name: String, xml: String)] {
        var found: [(name: String, xml: String)] = []
        for domain in domains {
            do {
                if runningOnly, try !domain.state().isActive { continue }
                found.append((domain.name, try domain.xmlDescription(flags: flags)))
            } catch where error.isNoDomain {
                continue
            }
        }
        return found
    }
}
