@testable import HVBroker
import HVLibvirt
import Testing

/// The questions asked of every domain (which machines use a disk, an image, a network) skip a
/// domain that another request deletes between the listing and the read.
@Suite(.enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened"))
struct DomainDescriptionsTests {
    @Test func aDomainDeletedAfterTheListingIsLeftOutAndTheRestAreRead() throws {
        let connection = try #require(LibvirtStatsTests.testDriver())
        let name = "hv-gone-\(UInt32.random(in: 0...UInt32.max))"
        let defined = try connection.defineDomain(xml: """
            <domain type='test'><name>\(name)</name><memory unit='KiB'>262144</memory><vcpu>1</vcpu>\
            <os><type>hvm</type></os></domain>
            """)
        let listed = try connection.domains()
        #expect(listed.contains { $0.name == name })
        try defined.undefine()

        let read = try LibvirtHypervisor.descriptions(of: listed, flags: .inactive)
        #expect(!read.contains { $0.name == name })
        let running = try #require(read.first { $0.name == "test" })
        #expect(running.xml.contains("<name>test</name>"))
        #expect(read.count == listed.count - 1)

        let active = try LibvirtHypervisor.descriptions(of: listed, runningOnly: true)
        #expect(active.map(\.name).contains("test"))
        #expect(!active.contains { $0.name == name })
    }
}
