import HVDomainXML
import HVLibvirt
import HVProtocol

/// The broker's record of each machine, read as its metadata element alone
/// (`virDomainGetMetadata`): far less for libvirt to format and for us to parse than the whole
/// domain, for the calls that read every machine's.
extension LibvirtHypervisor {
    /// The machine's persistent record; nil when it has none (not made by a broker), is another
    /// broker's (see `MachineMetadata.instance`), has no persistent definition, or was deleted
    /// meanwhile. Throws when the connection to libvirt was lost while it was read (`anyRecord`).
    func record(of domain: Domain) throws -> MachineMetadata? {
        try Self.anyRecord(of: domain).flatMap(own)
    }

    /// The record whichever broker wrote it. A record that could not be read because the
    /// connection to libvirt was lost meanwhile is that failure, thrown: a broker's machine must
    /// not pass for a foreign one (which an operator is told does not exist), nor be left out of
    /// a group's quota or the host's features.
    static func anyRecord(of domain: Domain) throws -> MachineMetadata? {
        let element: String?
        do {
            element = try domain.metadata(namespace: MachineMetadata.namespace, impact: .config)
        } catch {
            guard domain.connectionIsAlive else { throw error }
            return nil
        }
        return element.flatMap(MachineMetadata.read(machineElement:))
    }

    /// The record in a domain's XML, if this broker wrote it.
    func ownRecord(domainXML: String) -> MachineMetadata? {
        MachineMetadata.read(domainXML: domainXML).flatMap(own)
    }

    /// This broker's name in the records it writes: its pool.
    var instance: String { layout.poolName }

    /// The record, if this broker wrote it.
    func own(_ record: MachineMetadata) -> MachineMetadata? {
        (record.instance ?? StorageLayout.defaultPoolName) == instance ? record : nil
    }

    /// Every machine that has a record, with it, read from libvirt now: what admission, quotas and
    /// host features are checked against.
    func records(_ connection: Connection) throws -> [(name: String, record: MachineMetadata)] {
        try connection.domains().compactMap { domain in
            guard let record = try self.record(of: domain) else { return nil }
            return (domain.name, record)
        }
    }

    /// The records of `domains`, in their order, for the bulk reads: kept between calls and dropped
    /// when libvirt's events say a machine changed (see `RecordCache`); a domain removed meanwhile
    /// has none.
    func cachedRecords(of domains: [DomainIdentity], _ connection: Connection) throws -> [RecordCache.Entry] {
        try recordCache.entries(of: domains, on: connection) { domain in
            try connection.domain(uuid: domain.uuid).flatMap(self.record(of:))
        }
    }

    /// Defines (or redefines) a machine and drops its kept record, so the next bulk read shows
    /// the new one even before libvirt's event arrives.
    func defineMachine(_ definition: MachineDefinition, _ connection: Connection) throws -> Domain {
        let domain = try connection.defineDomain(xml: try DomainXML.machine(definition))
        recordCache.drop(uuid: try domain.uuid())
        return domain
    }
}
