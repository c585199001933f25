import HVProtocol

/// What a domain the broker did not make has that a machine spec can't express, so adopting it
/// would silently drop it: devices the spec has no field for, and host tuning that only
/// administrators' host features may set.
public enum AdoptionCheck {
    /// Device elements a spec has no field for. A TPM has one, for one kind of TPM: see `tpm`.
    static let unexpressibleDevices = [
        "hostdev", "filesystem", "smartcard", "redirdev", "shmem", "vsock", "parallel", "watchdog", "hub", "lease",
        "iommu", "crypto", "pstore",
    ]
    /// Top-level elements the broker sets only as host features (hugepages, CPU pins) or not at all.
    static let unexpressibleElements = ["cputune", "memoryBacking", "numatune", "iothreads", "blkiotune", "memtune", "resource"]

    /// The machine type libvirt recorded (`pc-q35-7.2`, `pc-i440fx-7.2`, `pc`), if any.
    public static func machineType(domainXML: String) throws(HVError) -> String? {
        try ParsedXML.parse(domainXML, root: "domain", what: "domain").child("os")?.child("type")?["machine"]
    }

    /// The domain's TPM as a spec says it: false for none, true for exactly the TPM `tpm: true`
    /// gives a machine of type `machine` (`MachineTPM`); nil for any other TPM (another model or
    /// version, a host TPM passed through, two of them), which a spec can't express.
    public static func tpm(domainXML: String, machine: MachineType) throws(HVError) -> Bool? {
        let tpms = try ParsedXML.parse(domainXML, root: "domain", what: "domain").child("devices")?.children("tpm") ?? []
        guard let tpm = tpms.first else { return false }
        let backend = tpm.child("backend")
        guard tpms.count == 1, tpm["model"] == MachineTPM.model(for: machine), backend?["type"] == MachineTPM.backend,
            backend?["version"] == MachineTPM.version
        else { return nil }
        return true
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
