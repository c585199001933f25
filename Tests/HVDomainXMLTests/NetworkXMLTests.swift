import Foundation
import FoundationXML
import HVDomainXML
import HVProtocol
import Testing

/// A network request with one thing changed, and the field its error must name.
struct BadNetwork: CustomTestStringConvertible, Sendable {
    var field: String
    var name = "lab"
    var bridge: String? = "virbr10"
    var ipv4 = IPv4Network(address: "192.168.100.1", prefix: 24)
    var dhcp: DHCPRange? = DHCPRange(start: "192.168.100.10", end: "192.168.100.200")
    var testDescription: String { "\(field): \(ipv4) \(dhcp.map { "\($0.start)-\($0.end)" } ?? "")" }
}

@Suite struct NetworkXMLTests {
    let ipv4 = IPv4Network(address: "192.168.100.1", prefix: 24)
    let dhcp = DHCPRange(start: "192.168.100.10", end: "192.168.100.200")

    @Test func natNetworkHasTheDecidedShape() throws {
        let document = try parsed(try NetworkXML.nat(name: "lab", bridge: "virbr10", ipv4: ipv4, dhcp: dhcp))
        #expect(try document.values("/network/name") == ["lab"])
        #expect(try document.values("/network/forward/@mode") == ["nat"])
        #expect(try document.values("/network/bridge/@name") == ["virbr10"])
        #expect(try document.values("/network/bridge/@stp") == ["on"])
        #expect(try document.values("/network/bridge/@delay") == ["0"])
        #expect(try document.values("/network/ip/@address") == ["192.168.100.1"])
        #expect(try document.values("/network/ip/@prefix") == ["24"])
        #expect(try document.values("/network/ip/dhcp/range/@start") == ["192.168.100.10"])
        #expect(try document.values("/network/ip/dhcp/range/@end") == ["192.168.100.200"])
    }

    @Test func isolatedNetworkHasNoForwardAndOptionalParts() throws {
        let document = try parsed(try NetworkXML.isolated(name: "backplane", bridge: nil, ipv4: ipv4, dhcp: nil))
        #expect(try document.values("/network/forward").isEmpty)
        #expect(try document.values("/network/bridge").isEmpty, "libvirt picks a free virbrN")
        #expect(try document.values("/network/ip/dhcp").isEmpty)
        #expect(try document.values("/network/ip/@address") == ["192.168.100.1"])
    }

    @Test func smallestAndLargestSubnetsAreAccepted() throws {
        let tiny = IPv4Network(address: "10.9.8.1", prefix: 30)
        let xml = try NetworkXML.nat(
            name: "p2p", bridge: nil, ipv4: tiny, dhcp: DHCPRange(start: "10.9.8.2", end: "10.9.8.2")
        )
        #expect(try parsed(xml).values("/network/ip/dhcp/range/@end") == ["10.9.8.2"])
        let wide = IPv4Network(address: "10.0.0.1", prefix: 8)
        _ = try NetworkXML.nat(
            name: "wide", bridge: nil, ipv4: wide, dhcp: DHCPRange(start: "10.0.1.0", end: "10.255.255.254")
        )
    }

    static let bad: [BadNetwork] = [
        BadNetwork(field: "name", name: "a/b"),
        BadNetwork(field: "name", name: "<lab>"),
        BadNetwork(field: "bridge", bridge: "br0;reboot"),
        BadNetwork(field: "bridge", bridge: "bridge-name-too-long"),
        BadNetwork(field: "ipv4.address", ipv4: IPv4Network(address: "fd00::1", prefix: 64)),
        BadNetwork(field: "ipv4.address", ipv4: IPv4Network(address: "192.168.100", prefix: 24)),
        BadNetwork(field: "ipv4.address", ipv4: IPv4Network(address: "192.168.100.001", prefix: 24)),
        BadNetwork(field: "ipv4.address", ipv4: IPv4Network(address: "192.168.100.256", prefix: 24)),
        BadNetwork(field: "ipv4.address", ipv4: IPv4Network(address: "192.168.+1.1", prefix: 24)),
        BadNetwork(field: "ipv4.address", ipv4: IPv4Network(address: "192.168.100.0", prefix: 24)),
        BadNetwork(field: "ipv4.address", ipv4: IPv4Network(address: "192.168.100.255", prefix: 24)),
        BadNetwork(field: "ipv4.address", ipv4: IPv4Network(address: "127.0.0.1", prefix: 8), dhcp: nil),
        BadNetwork(field: "ipv4.address", ipv4: IPv4Network(address: "224.0.0.1", prefix: 24), dhcp: nil),
        BadNetwork(field: "ipv4.prefix", ipv4: IPv4Network(address: "192.168.100.1", prefix: 7)),
        BadNetwork(field: "ipv4.prefix", ipv4: IPv4Network(address: "192.168.100.1", prefix: 31)),
        BadNetwork(field: "dhcp.start", dhcp: DHCPRange(start: "192.168.101.10", end: "192.168.100.200")),
        BadNetwork(field: "dhcp.start", dhcp: DHCPRange(start: "192.168.100.0", end: "192.168.100.200")),
        BadNetwork(field: "dhcp.start", dhcp: DHCPRange(start: "fd00::10", end: "192.168.100.200")),
        BadNetwork(field: "dhcp.end", dhcp: DHCPRange(start: "192.168.100.10", end: "192.168.100.255")),
        BadNetwork(field: "dhcp.end", dhcp: DHCPRange(start: "192.168.100.200", end: "192.168.100.10")),
        BadNetwork(field: "dhcp.start", dhcp: DHCPRange(start: "192.168.100.1", end: "192.168.100.200")),
    ]

    @Test(arguments: bad) func refusesAndNamesTheField(bad: BadNetwork) {
        for isolated in [false, true] {
            let error = #expect(throws: HVError.self) {
                isolated
                    ? try NetworkXML.isolated(name: bad.name, bridge: bad.bridge, ipv4: bad.ipv4, dhcp: bad.dhcp)
                    : try NetworkXML.nat(name: bad.name, bridge: bad.bridge, ipv4: bad.ipv4, dhcp: bad.dhcp)
            }
            #expect(error?.code == .invalidParameter)
            #expect(error?.details["parameter"] == bad.field)
            #expect(error?.reason.hasPrefix("\(bad.field): ") == true)
            #expect(error?.fix != nil)
        }
    }

    @Test func parsesCIDRText() throws {
        #expect(try IPv4Network(cidr: "10.1.2.3/16") == IPv4Network(address: "10.1.2.3", prefix: 16))
        for text in ["10.1.2.3", "10.1.2.3/", "10.1.2.3/+16", "10.1.2.3/16/2", "/16"] {
            let error = #expect(throws: HVError.self) { try IPv4Network(cidr: text) }
            #expect(error?.details["parameter"] == "ipv4")
        }
    }

    @Test func readsWhatItWroteBack() throws {
        let facts = try NetworkFacts.read(
            xml: try NetworkXML.nat(name: "lab", bridge: "virbr10", ipv4: ipv4, dhcp: dhcp)
        )
        #expect(
            facts == NetworkFacts(name: "lab", uuid: nil, bridge: "virbr10", forwardMode: "nat", ipv4: ipv4, dhcp: dhcp)
        )
        let isolated = try NetworkFacts.read(
            xml: try NetworkXML.isolated(name: "lab", bridge: nil, ipv4: ipv4, dhcp: nil)
        )
        #expect(isolated.forwardMode == nil)
        #expect(isolated.dhcp == nil)
    }

    @Test func readsLibvirtsDefaultNetworkWithANetmaskAndIPv6() throws {
        let xml = """
            <network connections='2'>
              <name>default</name>
              <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
              <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
              <bridge name='virbr0' stp='on' delay='0'/>
              <mac address='52:54:00:0a:cd:21'/>
              <ip family='ipv6' address='fd00:1::1' prefix='64'/>
              <ip address='192.168.122.1' netmask='255.255.255.0'>
                <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
              </ip>
            </network>
            """
        let facts = try NetworkFacts.read(xml: xml)
        #expect(facts.name == "default")
        #expect(facts.uuid == "dd8fe884-6c02-601e-7551-cca97df1c5df")
        #expect(facts.bridge == "virbr0")
        #expect(facts.forwardMode == "nat")
        #expect(facts.ipv4 == IPv4Network(address: "192.168.122.1", prefix: 24))
        #expect(facts.dhcp == DHCPRange(start: "192.168.122.2", end: "192.168.122.254"))
    }

    @Test func refusesWhatIsNotANetwork() {
        let error = #expect(throws: HVError.self) { try NetworkFacts.read(xml: "<domain><name>a</name></domain>") }
        #expect(error?.code == .failed)
    }
}
