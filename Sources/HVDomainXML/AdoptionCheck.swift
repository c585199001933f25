import HVProtocol

/// What a domain the broker did not make has that a machine spec can't express, so adopting it
/// would silently drop it: devices the spec has no field for, and host tuning that only
/// administrators' host features may set.
public enum AdoptionCheck {
    /// Device elements a spec has no field for.
    static let unexpressibleDevices = [
        "hostdev", "filesystem", "smartcard", "redirdev", "shmem", "tpm", "vsock", "parallel", "watchdog", "hub", "lease",
        "iommu", "crypto", "pstore",
    ]
    /// Top-level elements the broker sets only as host features (hugepages, CPU pins) or not at all.
    static let unexpressibleElements = ["cputune", "memoryBacking", "numatune", "iothreads", "blkiotune", "memtune", "resource"]

    /// The machine type libvirt recorded (`pc-q35-7.2`, `pc-i440fx-7.2`, `pc`), if any.
    public static func machineType(domainXML: String) throws(HVError) -> String? {
        try ParsedXML.parse(domainXML, root: "domain", what: "domain").child("os")?.child("type")?["machine"]
    }

    /// Each element that would be lost, named as it appears in the domain XML (`devices/hostdev`).
    public static func unexpressible(domainXML: String) throws(HVError) -> [String] {
        let domain = try ParsedXML.parse(domainXML, root: "domain", what: "domain")
        var found: [String] = []
        for name in unexpressibleElements where domain.child(name) != nil { found.append(name) }
        for name in unexpressibleDevices where domain.child("devices")?.child(name) != nil { found.append("devices/" + name) }
        return found
    }
}
