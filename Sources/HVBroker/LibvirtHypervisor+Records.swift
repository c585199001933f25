import HVDomainXML
import HVLibvirt

/// The broker's record of each machine, read as its metadata element alone
/// (`virDomainGetMetadata`): far less for libvirt to format and for us to parse than the whole
/// domain, for the calls that read every machine's.
extension LibvirtHypervisor {
    /// The machine's persistent record; nil when it has none (not made by a broker), is another
    /// broker's (see `MachineMetadata.instance`), has no persistent definition, or was deleted
    /// meanwhile.
    func record(of domain: Domain) -> MachineMetadata? {
        Self.anyRecord(of: domain).flatMap(own)
    }

    /// The record whichever broker wrote it.
    static func anyRecord(of domain: Domain) -> MachineMetadata? {
        guard let element = try? domain.metadata(namespace: MachineMetadata.namespace, impact: .config) else { return nil }
        return MachineMetadata.read(machineElement: element)
    }

    /// The record in a domain's XML, if this broker wrote it.
    func ownRecord(domainXML: String) -> MachineMetadata? {
        MachineMetadata.read(domainXML: domainXML).flatMap(own)
    }

    /// This broker's name in the records it writes: its pool.
    var instance: String { layout.poolName }

    private func own(_ record: MachineMetadata) -> MachineMetadata? {
        (record.instance ?? StorageLayout.defaultPoolName) == instance ? record : nil
    }

    /// Every machine that has a record, with it; `names` limits the reads to those machines.
    func records(_ connection: Connection, among names: Set<String>? = nil) throws -> [(name: String, record: MachineMetadata)] {
        try connection.domains().compactMap { domain in
            guard names?.contains(domain.name) ?? true, let record = self.record(of: domain) else { return nil }
            return (domain.name, record)
        }
    }
}
