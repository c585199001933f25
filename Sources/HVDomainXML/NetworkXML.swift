import Foundation
import HVProtocol

/// A host's IPv4 address on a network together with the network's prefix length, `192.168.100.1/24`.
public struct IPv4Network: Sendable, Hashable, CustomStringConvertible {
    /// The host's address on the network (the gateway the guests see), dotted quad.
    public var address: String
    /// The prefix length, 8 to 30.
    public var prefix: Int

    public init(address: String, prefix: Int) {
        self.address = address
        self.prefix = prefix
    }

    /// Splits `192.168.100.1/24`; the parts are checked when the network XML is built.
    public init(cidr: String, field: String = "ipv4") throws(HVError) {
        let parts = cidr.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let prefix = Int(parts[1]),
            parts[1].utf8.allSatisfy({ (48...57).contains($0) })
        else {
            throw Checks.fail(
                .invalidParameter, field, "\(Checks.shown(cidr)) is not an address with a prefix length",
                fix: "write it like 192.168.100.1/24"
            )
        }
        self.init(address: String(parts[0]), prefix: prefix)
    }

    public var description: String { "\(address)/\(prefix)" }
}

/// The addresses a network's DHCP server hands out, both ends included.
public struct DHCPRange: Sendable, Hashable {
    public var start: String
    public var end: String

    public init(start: String, end: String) {
        self.start = start
        self.end = end
    }
}

/// Encodes libvirt network XML for networks the broker creates.
public enum NetworkXML {
    /// A network whose guests reach outside through NAT on the host.
    ///
    /// `bridge` nil lets libvirt choose a free `virbrN`. Throws `HVError.invalidParameter` naming the
    /// field (`name`, `bridge`, `ipv4.address`, `ipv4.prefix`, `dhcp.start`, `dhcp.end`).
    public static func nat(
        name: String, bridge: String?, ipv4: IPv4Network, dhcp: DHCPRange?
    ) throws(HVError) -> String {
        try network(name: name, forward: "nat", bridge: bridge, ipv4: ipv4, dhcp: dhcp)
    }

    /// A network whose guests reach only each other and the host: no `<forward>`.
    public static func isolated(
        name: String, bridge: String?, ipv4: IPv4Network, dhcp: DHCPRange?
    ) throws(HVError) -> String {
        try network(name: name, forward: nil, bridge: bridge, ipv4: ipv4, dhcp: dhcp)
    }

    static func network(
        name: String, forward: String?, bridge: String?, ipv4: IPv4Network, dhcp: DHCPRange?
    ) throws(HVError) -> String {
        let code = HVError.Code.invalidParameter
        try Checks.name(name, field: "name", what: "network name", code: code)
        if let bridge { try Checks.name(bridge, field: "bridge", what: "bridge name", maximumLength: 15, code: code) }
        let subnet = try IPv4.subnet(ipv4)
        let range = try dhcp.map { range throws(HVError) in try IPv4.range(range, in: subnet) }
        let element = NetworkElement(
            name: name, forward: forward.map(NetworkElement.Forward.init), bridge: bridge.map { .init(name: $0) },
            ip: .init(
                address: IPv4.format(subnet.address), prefix: ipv4.prefix,
                dhcp: range.map {
                    .init(range: .init(start: IPv4.format($0.lowerBound), end: IPv4.format($0.upperBound)))
                }
            )
        )
        return try DomainXML.encodeChecked(element, root: "network")
    }
}

/// What libvirt reports about a network: name, bridge, forwarding, IPv4 subnet and DHCP range.
public struct NetworkFacts: Sendable, Hashable {
    public var name: String
    public var uuid: String?
    /// The host bridge, once libvirt has chosen or been given one.
    public var bridge: String?
    /// `nat`, `route`, `bridge`, …; nil for an isolated network.
    public var forwardMode: String?
    /// The first IPv4 address of the network (prefix from `prefix` or `netmask`).
    public var ipv4: IPv4Network?
    /// The first DHCP range of that address.
    public var dhcp: DHCPRange?

    public init(
        name: String, uuid: String?, bridge: String?, forwardMode: String?, ipv4: IPv4Network?, dhcp: DHCPRange?
    ) {
        self.name = name
        self.uuid = uuid
        self.bridge = bridge
        self.forwardMode = forwardMode
        self.ipv4 = ipv4
        self.dhcp = dhcp
    }

    /// Reads network XML that libvirt returned; throws `HVError.failed` when it is not a network.
    public static func read(xml: String) throws(HVError) -> NetworkFacts {
        let network = try ParsedXML.parse(xml, root: "network", what: "network")
        let ip = network.children("ip").first { ($0["family"] ?? "ipv4") == "ipv4" }
        let prefix = ip.flatMap { $0["prefix"].flatMap { Int($0) } ?? $0["netmask"].flatMap(IPv4.prefix(netmask:)) }
        let range = ip?.child("dhcp")?.child("range")
        var ipv4: IPv4Network?
        if let address = ip?["address"], let prefix { ipv4 = IPv4Network(address: address, prefix: prefix) }
        var dhcp: DHCPRange?
        if let start = range?["start"], let end = range?["end"] { dhcp = DHCPRange(start: start, end: end) }
        return NetworkFacts(
            name: network.value("name") ?? "", uuid: network.value("uuid"), bridge: network.child("bridge")?["name"],
            forwardMode: network.child("forward").map { $0["mode"] ?? "nat" }, ipv4: ipv4, dhcp: dhcp
        )
    }
}

/// IPv4 arithmetic for validating networks.
enum IPv4 {
    struct Subnet {
        var address: UInt32
        var network: UInt32
        var broadcast: UInt32
        var text: String
    }

    static func subnet(_ ipv4: IPv4Network) throws(HVError) -> Subnet {
        let address = try parse(ipv4.address, field: "ipv4.address")
        guard (8...30).contains(ipv4.prefix) else {
            throw Checks.fail(
                .invalidParameter, "ipv4.prefix", "must be between 8 and 30, got \(ipv4.prefix)",
                fix: "use a prefix such as 24 (256 addresses)"
            )
        }
        let mask = UInt32.max << UInt32(32 - ipv4.prefix)
        let subnet = Subnet(
            address: address, network: address & mask, broadcast: (address & mask) | ~mask,
            text: "\(format(address & mask))/\(ipv4.prefix)"
        )
        let first = address >> 24
        guard first != 0, first != 127, first < 224, address >> 16 != 0xA9FE else {
            throw Checks.fail(
                .invalidParameter, "ipv4.address", "\(ipv4.address) is not a usable host address",
                fix: "use a private address such as 192.168.100.1"
            )
        }
        try inside(address, subnet, field: "ipv4.address", text: ipv4.address)
        return subnet
    }

    static func range(_ range: DHCPRange, in subnet: Subnet) throws(HVError) -> ClosedRange<UInt32> {
        let start = try parse(range.start, field: "dhcp.start")
        let end = try parse(range.end, field: "dhcp.end")
        try inside(start, subnet, field: "dhcp.start", text: range.start)
        try inside(end, subnet, field: "dhcp.end", text: range.end)
        guard start <= end else {
            throw Checks.fail(
                .invalidParameter, "dhcp.end", "\(range.end) comes before the start \(range.start)",
                fix: "give the lower address as the start"
            )
        }
        guard !(start...end).contains(subnet.address) else {
            throw Checks.fail(
                .invalidParameter, "dhcp.start",
                "the range \(range.start)-\(range.end) contains the host's own address",
                fix: "start the range after \(format(subnet.address))"
            )
        }
        return start...end
    }

    /// Checks that `value` is a host address of `subnet`: inside it, not its network or broadcast address.
    static func inside(_ value: UInt32, _ subnet: Subnet, field: String, text: String) throws(HVError) {
        let problem: String? =
            if value & ~(subnet.broadcast ^ subnet.network) != subnet.network {
                "is outside \(subnet.text)"
            } else if value == subnet.network {
                "is the network address of \(subnet.text)"
            } else if value == subnet.broadcast { "is the broadcast address of \(subnet.text)" } else { nil }
        if let problem {
            throw Checks.fail(
                .invalidParameter, field, "\(text) \(problem)",
                fix: "use an address from \(format(subnet.network + 1)) to \(format(subnet.broadcast - 1))"
            )
        }
    }

    /// A dotted quad of four decimal numbers 0 to 255 without leading zeros.
    static func parse(_ text: String, field: String) throws(HVError) -> UInt32 {
        guard !text.contains(":") else {
            throw Checks.fail(.invalidParameter, field, "IPv6 addresses are not supported", fix: "give an IPv4 address")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let octets = parts.compactMap { part -> UInt32? in
            guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy({ (48...57).contains($0) }),
                part.count == 1 || !part.hasPrefix("0"), let value = UInt32(part), value <= 255
            else { return nil }
            return value
        }
        guard parts.count == 4, octets.count == 4 else {
            throw Checks.fail(
                .invalidParameter, field, "\(Checks.shown(text)) is not an IPv4 address",
                fix: "write it like 192.168.100.1"
            )
        }
        return octets.reduce(0) { $0 << 8 | $1 }
    }

    static func format(_ value: UInt32) -> String {
        [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xFF) }.joined(separator: ".")
    }

    /// The prefix length of a contiguous netmask such as 255.255.255.0; nil for anything else.
    static func prefix(netmask: String) -> Int? {
        guard let mask = try? parse(netmask, field: "netmask") else { return nil }
        let ones = (~mask).leadingZeroBitCount
        return mask == (ones == 0 ? 0 : UInt32.max << UInt32(32 - ones)) ? ones : nil
    }
}

/// libvirt's `<network>` for a NAT or isolated network.
struct NetworkElement: Encodable {
    var name: String
    var forward: Forward?
    var bridge: Bridge?
    var ip: IP

    struct Forward: AttributeKeys {
        static var attributeKeys: Set<String> { ["mode"] }
        var mode: String
    }

    struct Bridge: AttributeKeys {
        static var attributeKeys: Set<String> { ["name", "stp", "delay"] }
        var name: String
        var stp = "on"
        var delay = "0"
    }

    struct IP: AttributeKeys {
        static var attributeKeys: Set<String> { ["address", "prefix"] }
        var address: String
        var prefix: Int
        var dhcp: DHCP?
    }

    struct DHCP: Encodable {
        var range: Range

        struct Range: AttributeKeys {
            static var attributeKeys: Set<String> { ["start", "end"] }
            var start: String
            var end: String
        }
    }
}
