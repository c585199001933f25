import Foundation
import HVLibvirt
import Testing

/// Networks on the test driver, which has the active network `default` on `virbr0`.
@Suite struct NetworkTests {
    static let natXML = """
        <network><name>hv-lab</name><forward mode='nat'/><bridge name='virbr7'/>\
        <ip address='192.168.150.1' netmask='255.255.255.0'>\
        <dhcp><range start='192.168.150.10' end='192.168.150.99'/></dhcp></ip></network>
        """

    @Test func networksAreDefinedStartedStoppedAndUndefined() throws {
        let connection = try TestDriver.open()
        let network = try connection.defineNetwork(xml: Self.natXML)
        #expect(try network.isActive() == false)
        #expect(try network.isPersistent())
        #expect(try network.uuid().count == 36)
        #expect(try connection.network(named: "hv-lab")?.name == "hv-lab")

        try network.start()
        try network.setAutostart(true)
        #expect(
            try connection.networkSummaries().map { [$0.name, "\($0.isActive)", "\($0.autostart)", $0.bridge ?? "-"] }
                == [["default", "true", "false", "virbr0"], ["hv-lab", "true", "true", "virbr7"]]
        )
        #expect(try network.xmlDescription().contains("<forward mode='nat'/>"))
        #expect(try network.xmlDescription().contains("192.168.150.10"))
        // The test driver keeps no separate persistent definition and refuses the flag.
        let inactive = #expect(throws: LibvirtError.self) { _ = try network.xmlDescription(inactive: true) }
        #expect(inactive?.isUnsupportedFlags == true)

        let duplicate = #expect(throws: LibvirtError.self) { try network.start() }
        #expect(duplicate?.isOperationInvalid == true)

        try network.setAutostart(false)
        #expect(try network.autostart() == false)
        try network.destroy()
        #expect(try network.isActive() == false)
        try network.undefine()
        #expect(try connection.network(named: "hv-lab") == nil)
        #expect(try connection.networkSummaries().map(\.name) == ["default"])
    }

    @Test func definingAnExistingNameIsRefused() throws {
        let connection = try TestDriver.open()
        _ = try connection.defineNetwork(xml: Self.natXML)
        let error = #expect(throws: LibvirtError.self) {
            _ = try connection.defineNetwork(xml: Self.natXML.replacingOccurrences(of: "virbr7", with: "virbr8"))
        }
        #expect(error?.message.contains("already exists") == true)
        #expect(try connection.network(named: "hv-lab")?.bridgeName() == "virbr7")
    }

    /// Leases come from libvirtd's dnsmasq; the test driver has none to give and says so.
    @Test func leasesNeedTheNetworkDriver() throws {
        let connection = try TestDriver.open()
        let network = try #require(try connection.network(named: "default"))
        let error = #expect(throws: LibvirtError.self) { _ = try network.dhcpLeases() }
        #expect(error?.isNoSupport == true)
        let filtered = #expect(throws: LibvirtError.self) { _ = try network.dhcpLeases(mac: "52:54:00:12:34:56") }
        #expect(filtered?.isNoSupport == true)
    }
}
