import HVLibvirt
import Testing

/// Definition, autostart, metadata, undefine flags and disks of test-driver domains.
@Suite struct DomainManagementTests {
    static let namespace = "https://hypernixos.org/xmlns/machine/1"

    @Test func definedDomainsArePersistentAndAutostart() throws {
        let connection = try TestDriver.open()
        let domain = try connection.defineDomain(xml: TestDriver.domainXML("web1"), validate: true)
        #expect(try domain.isPersistent())
        #expect(try domain.isActive() == false)
        #expect(try domain.autostart() == false)
        try domain.setAutostart(true)
        #expect(try domain.autostart())
        #expect(try connection.domainNames(.autostart) == ["web1"])
        try domain.start()
        #expect(try domain.isActive())

        let invalid = #expect(throws: LibvirtError.self) {
            _ = try connection.defineDomain(xml: "<domain type='test'><name>x</name><bogus/></domain>", validate: true)
        }
        #expect(invalid != nil)
        #expect(try connection.domain(named: "x") == nil)
    }

    /// Metadata changed only on the running guest shows in the live XML and not in the persistent one.
    @Test func metadataIsReadWrittenAndRemovedPerConfiguration() throws {
        let connection = try TestDriver.open()
        let domain = try #require(try connection.domain(named: "test"))
        #expect(try domain.metadata(namespace: Self.namespace) == nil)

        let alice = "<machine><owner>alice</owner></machine>"
        try domain.setMetadata(alice, key: "hv", namespace: Self.namespace, impact: .live)
        let live = try #require(try domain.metadata(namespace: Self.namespace, impact: .live))
        #expect(live.filter { !$0.isWhitespace } == alice)
        #expect(try domain.metadata(namespace: Self.namespace, impact: .config) == nil)
        #expect(try domain.xmlDescription(flags: []).contains(Self.namespace))
        #expect(try !domain.xmlDescription(flags: .inactive).contains(Self.namespace))

        let bob = "<machine><owner>bob</owner></machine>"
        try domain.setMetadata(bob, key: "hv", namespace: Self.namespace, impact: [.live, .config])
        #expect(try domain.xmlDescription(flags: .inactive).contains("<hv:owner>bob</hv:owner>"))
        #expect(try domain.metadata(namespace: "https://example.org/other") == nil)

        try domain.setMetadata(nil, key: "hv", namespace: Self.namespace, impact: [.live, .config])
        #expect(try domain.metadata(namespace: Self.namespace, impact: .live) == nil)
        #expect(try domain.metadata(namespace: Self.namespace, impact: .config) == nil)
    }

    @Test func undefineRemovesSnapshotMetadataOnlyWhenAsked() throws {
        let connection = try TestDriver.open()
        let domain = try connection.defineDomain(xml: TestDriver.domainXML("web2"), validate: false)
        _ = try domain.createSnapshot(xml: "<domainsnapshot><name>before</name></domainsnapshot>")

        let refused = #expect(throws: LibvirtError.self) { try domain.undefine(flags: []) }
        #expect(refused?.isOperationInvalid == true)
        #expect(try connection.domain(named: "web2") != nil)

        try domain.undefine(flags: [.snapshotsMetadata, .managedSave])
        #expect(try connection.domain(named: "web2") == nil)
    }

    /// The test driver reports disk sizes but cannot resize them: shrinking is refused before
    /// libvirt is called (invalid argument), growing reaches libvirt (no support).
    @Test func disksReportTheirSizeAndOnlyGrow() throws {
        let connection = try TestDriver.open()
        let domain = try #require(try connection.domain(named: "test"))
        let info = try domain.blockInfo(disk: "vda")
        #expect(info.capacity > 0)
        #expect(info.physical >= info.allocation)

        let shrink = #expect(throws: LibvirtError.self) { try domain.blockResize(disk: "vda", to: info.capacity - 1) }
        #expect(shrink?.isInvalidArgument == true)
        let grow = #expect(throws: LibvirtError.self) {
            try domain.blockResize(disk: "vda", to: info.capacity + (1 << 30))
        }
        #expect(grow?.isNoSupport == true)
        #expect(throws: LibvirtError.self) { _ = try domain.blockInfo(disk: "vdz") }
    }
}
