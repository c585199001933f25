import CLibvirt
import Foundation

extension Network {
    /// One DHCP lease libvirt's dnsmasq handed out on a network (`virNetworkDHCPLease`).
    public struct DHCPLease: Sendable, Hashable {
        public enum AddressKind: String, Sendable, Hashable {
            case ipv4, ipv6, unknown
        }

        /// The host interface the lease was given on, e.g. `virbr0`.
        public var interface: String
        /// When the lease runs out.
        public var expiry: Date
        public var kind: AddressKind
        /// The guest's MAC address; IPv6 leases may have none.
        public var mac: String?
        /// The IPv6 identity association ID.
        public var iaid: String?
        public var address: String
        public var prefix: UInt32
        public var hostname: String?
        /// The DHCP client ID (IPv4) or DUID (IPv6).
        public var clientID: String?

        public init(
            interface: String, expiry: Date, kind: AddressKind, mac: String?, iaid: String?, address: String,
            prefix: UInt32, hostname: String?, clientID: String?
        ) {
            self.interface = interface
            self.expiry = expiry
            self.kind = kind
            self.mac = mac
            self.iaid = iaid
            self.address = address
            self.prefix = prefix
            self.hostname = hostname
            self.clientID = clientID
        }
    }

    /// The network's current DHCP leases (`virNetworkGetDHCPLeases`), only those of `mac` when
    /// given. Needs a driver that runs dnsmasq (the network driver of libvirtd); the test driver
    /// answers with a no-support error.
    public func dhcpLeases(mac: String? = nil) throws(LibvirtError) -> [DHCPLease] {
        var leases: UnsafeMutablePointer<virNetworkDHCPLeasePtr?>?
        let count = try Call.status("reading the DHCP leases of network \(name)") {
            virNetworkGetDHCPLeases(pointer, mac, &leases, 0)
        }
        guard let leases else { return [] }
        defer {
            for index in 0..<Int(count) {
                if let lease = leases[index] { virNetworkDHCPLeaseFree(lease) }
            }
            free(leases)
        }
        return (0..<Int(count)).compactMap { index in
            leases[index].map { DHCPLease(copying: $0.pointee) }
        }
    }
}

extension Network.DHCPLease {
    /// Copies a lease libvirt owns; the caller frees the original.
    init(copying lease: virNetworkDHCPLease) {
        func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
        let kind: AddressKind = switch UInt32(bitPattern: lease.type) {
        case VIR_IP_ADDR_TYPE_IPV4.rawValue: .ipv4
        case VIR_IP_ADDR_TYPE_IPV6.rawValue: .ipv6
        default: .unknown
        }
        self.init(
            interface: text(lease.iface) ?? "", expiry: Date(timeIntervalSince1970: TimeInterval(lease.expirytime)),
            kind: kind, mac: text(lease.mac), iaid: text(lease.iaid), address: text(lease.ipaddr) ?? "",
            prefix: lease.prefix, hostname: text(lease.hostname), clientID: text(lease.clientid)
        )
    }
}
