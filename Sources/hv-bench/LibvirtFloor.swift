import HVDomainXML
import HVLibvirt

/// The libvirt calls behind the broker's bulk reads, made in this process on a connection of its
/// own to the same node file: the floor each broker round trip is compared with.
struct LibvirtFloor {
    let connection: Connection
    let domains: Int

    init(uri: String, domains: Int) throws(BenchError) {
        do {
            connection = try Connection(uri: uri)
        } catch {
            throw BenchError(.serviceUnavailable, "libvirt \(uri): \(error)")
        }
        self.domains = domains
    }

    /// `virConnectGetAllDomainStats` with the groups the monitor's `Host.Stats` asks for.
    func statistics() throws(BenchError) {
        try expect("the statistics") { try connection.allDomainStatistics().count }
    }

    /// A list read domain by domain: every domain, then each one's metadata element, state and UUID.
    func listPerDomain() throws(BenchError) {
        try expect("the per-domain list") {
            let all = try connection.domains()
            for domain in all {
                _ = try domain.metadata(namespace: MachineMetadata.namespace, impact: .config)
                _ = try domain.state()
                _ = try domain.uuid()
            }
            return all.count
        }
    }

    /// A list read in bulk: one `virConnectGetAllDomainStats` for the state group.
    func listBulk() throws(BenchError) {
        try expect("the bulk list") { try connection.allDomainStatistics(.state).count }
    }

    private func expect(_ what: String, _ count: () throws -> Int) throws(BenchError) {
        let seen: Int
        do {
            seen = try count()
        } catch {
            throw BenchError(.measurementFailed, "libvirt, \(what): \(error)")
        }
        guard seen == domains else { throw BenchError(.measurementFailed, "libvirt, \(what): \(seen) domains") }
    }
}
