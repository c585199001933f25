/// A libvirt virtual network.
public struct NetworkInfo: Codable, Sendable, Hashable {
    public var name: String
    public var active: Bool
    public var autostart: Bool
    public var bridge: String?
    /// `nat`, `route`, `open`, or nil for an isolated network.
    public var forward: String?
    /// `192.168.100.1/24`
    public var address: String?
    public var dhcpStart: String?
    public var dhcpEnd: String?

    public init(
        name: String, active: Bool, autostart: Bool, bridge: String?, forward: String?, address: String?,
        dhcpStart: String?, dhcpEnd: String?
    ) {
        self.name = name
        self.active = active
        self.autostart = autostart
        self.bridge = bridge
        self.forward = forward
        self.address = address
        self.dhcpStart = dhcpStart
        self.dhcpEnd = dhcpEnd
    }
}

public struct NetworkListReply: Codable, Sendable, Hashable {
    public var networks: [NetworkInfo]
    public init(networks: [NetworkInfo]) { self.networks = networks }
}

public struct NetworkNameParameters: Codable, Sendable, Hashable {
    public var name: String
    public init(name: String) { self.name = name }
}

/// A new NAT network: `192.168.100.1/24` gives the host that address and hands out the rest of
/// the subnet by DHCP.
public struct NetworkCreateParameters: Codable, Sendable, Hashable {
    public var name: String
    public var address: String
    public var dhcpStart: String?
    public var dhcpEnd: String?
    public var autostart: Bool?

    public init(name: String, address: String, dhcpStart: String? = nil, dhcpEnd: String? = nil, autostart: Bool? = nil) {
        self.name = name
        self.address = address
        self.dhcpStart = dhcpStart
        self.dhcpEnd = dhcpEnd
        self.autostart = autostart
    }
}

public struct NetworkAutostartParameters: Codable, Sendable, Hashable {
    public var name: String
    public var enabled: Bool
    public init(name: String, enabled: Bool) {
        self.name = name
        self.enabled = enabled
    }
}

public struct NetworkReply: Codable, Sendable, Hashable {
    public var network: NetworkInfo
    public init(network: NetworkInfo) { self.network = network }
}

/// One DHCP lease a libvirt network handed to a machine's interface.
public struct Lease: Codable, Sendable, Hashable {
    public var network: String
    public var mac: String
    public var address: String
    public var prefix: Int
    public var hostname: String?
    /// Seconds since 1970.
    public var expires: Int64

    public init(network: String, mac: String, address: String, prefix: Int, hostname: String?, expires: Int64) {
        self.network = network
        self.mac = mac
        self.address = address
        self.prefix = prefix
        self.hostname = hostname
        self.expires = expires
    }
}

public struct LeaseListReply: Codable, Sendable, Hashable {
    public var leases: [Lease]
    public init(leases: [Lease]) { self.leases = leases }
}
