import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol

/// Virtual networks: list, create a NAT network, start, stop, autostart, delete, and DHCP leases.
extension LibvirtHypervisor {
    func networkList() async throws(HVError) -> NetworkListReply {
        let networks = try await run { connection in try connection.networks().map(Self.networkInfo).sorted { $0.name < $1.name } }
        return NetworkListReply(networks: networks)
    }

    func networkCreate(_ parameters: NetworkCreateParameters) async throws(HVError) -> NetworkReply {
        let ipv4 = try IPv4Network(cidr: parameters.address, field: "address")
        let range = try Self.dhcpRange(ipv4, start: parameters.dhcpStart, end: parameters.dhcpEnd)
        let xml = try NetworkXML.nat(name: parameters.name, bridge: nil, ipv4: ipv4, dhcp: range)
        let info = try await run { connection in
            if try connection.network(named: parameters.name) != nil {
                throw HVError(.alreadyExists, "a network named '\(parameters.name)' already exists", fix: "choose another name", details: ["name": parameters.name])
            }
            let network = try connection.defineNetwork(xml: xml)
            do {
                try network.start()
                try network.setAutostart(parameters.autostart ?? false)
            } catch {
                try? network.undefine()
                throw error
            }
            return try Self.networkInfo(network)
        }
        return NetworkReply(network: info)
    }

    func networkStart(_ name: String) async throws(HVError) -> EmptyReply {
        try await run { connection in
            let network = try self.network(name, connection)
            guard try !network.isActive() else {
                throw HVError(.invalidState, "network '\(name)' is already active", fix: "nothing to do", details: ["name": name, "state": "active"])
            }
            try network.start()
        }
        return EmptyReply()
    }

    func networkStop(_ name: String) async throws(HVError) -> EmptyReply {
        try await run { connection in
            let network = try self.network(name, connection)
            let users = try self.runningMachines(on: name, connection)
            guard users.isEmpty else {
                throw HVError(
                    .invalidState, "network '\(name)' is in use by running machines: \(users.joined(separator: ", "))",
                    fix: "stop them first ('hv vm stop \(users.joined(separator: " "))')", details: ["name": name, "state": "in use"]
                )
            }
            try network.destroy()
        }
        return EmptyReply()
    }

    func networkAutostart(_ name: String, enabled: Bool) async throws(HVError) -> EmptyReply {
        try await run { connection in try self.network(name, connection).setAutostart(enabled) }
        return EmptyReply()
    }

    func networkDelete(_ name: String) async throws(HVError) -> EmptyReply {
        try await run { connection in
            let network = try self.network(name, connection)
            let users = try Self.descriptions(connection, flags: .inactive).filter { domain in
                try DomainFacts.read(domainXML: domain.xml).interfaces.contains { $0.source == .network(name) }
            }.map(\.name).sorted()
            guard users.isEmpty else {
                throw HVError(
                    .invalidState, "network '\(name)' is used by \(users.joined(separator: ", "))",
                    fix: "move those machines to another network in their specs and apply them first", details: ["name": name, "state": "in use"]
                )
            }
            if try network.isActive() { try network.destroy() }
            try network.undefine()
        }
        return EmptyReply()
    }

    func leases(_ vm: String) async throws(HVError) -> LeaseListReply {
        let leases = try await run { connection in
            let facts = try DomainFacts.read(domainXML: try self.domain(vm, connection).xmlDescription())
            var leases: [Lease] = []
            for interface in facts.interfaces {
                guard case .network(let name)? = interface.source, let mac = interface.mac,
                    let network = try connection.network(named: name), try network.isActive()
                else { continue }
                for lease in try network.dhcpLeases(mac: mac) {
                    leases.append(Lease(
                        network: name, mac: lease.mac ?? mac, address: lease.address, prefix: Int(lease.prefix),
                        hostname: lease.hostname, expires: Int64(lease.expiry.timeIntervalSince1970)
                    ))
                }
            }
            return leases
        }
        return LeaseListReply(leases: leases)
    }

    func network(_ name: String, _ connection: Connection) throws -> Network {
        guard let network = try connection.network(named: name) else {
            throw HVError(.notFound, "no network named '\(name)'", fix: "see the networks with 'hv net list'", details: ["name": name])
        }
        return network
    }

    func runningMachines(on network: String, _ connection: Connection) throws -> [String] {
        try Self.descriptions(connection, runningOnly: true).filter { domain in
            try DomainFacts.read(domainXML: domain.xml).interfaces.contains { $0.source == .network(network) }
        }.map(\.name).sorted()
    }

    static func networkInfo(_ network: Network) throws -> NetworkInfo {
        let facts = try NetworkFacts.read(xml: try network.xmlDescription())
        return NetworkInfo(
            name: network.name, active: try network.isActive(), autostart: try network.autostart(), bridge: facts.bridge,
            forward: facts.forwardMode, address: facts.ipv4?.description, dhcpStart: facts.dhcp?.start, dhcpEnd: facts.dhcp?.end
        )
    }

    /// The DHCP range: as given, or everything in the subnet above the host's address.
    static func dhcpRange(_ network: IPv4Network, start: String?, end: String?) throws(HVError) -> DHCPRange {
        guard let host = IPv4.parse(network.address) else {
            throw .invalidParameter("address", "'\(network.address)' is not an IPv4 address", fix: "write it like 192.168.100.1/24")
        }
        guard (8...30).contains(network.prefix) else {
            throw .invalidParameter("address", "the prefix length /\(network.prefix) is outside 8 to 30", fix: "write it like 192.168.100.1/24")
        }
        let mask = ~UInt32(0) << UInt32(32 - network.prefix)
        let broadcast = (host & mask) | ~mask
        guard host & ~mask != 0, host != broadcast else {
            throw .invalidParameter("address", "\(network.address) is the network's own or broadcast address", fix: "give the host an address inside the subnet, like 192.168.100.1/24")
        }
        return DHCPRange(start: start ?? IPv4.format(host &+ 1), end: end ?? IPv4.format(broadcast &- 1))
    }
}

enum IPv4 {
    static func parse(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map { UInt32($0) }
        guard parts.count == 4, parts.allSatisfy({ ($0 ?? 256) < 256 }) else { return nil }
        return parts.reduce(UInt32(0)) { $0 << 8 | $1! }
    }

    static func format(_ value: UInt32) -> String {
        [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xff) }.joined(separator: ".")
    }
}
