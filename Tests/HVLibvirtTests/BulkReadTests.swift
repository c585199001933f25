import HVLibvirt
import Testing

/// What the broker's bulk reads ask libvirt for: every domain's state in one
/// `virConnectGetAllDomainStats` call, names and UUIDs from one `virConnectListAllDomains`.
@Suite struct BulkReadTests {
    @Test func theStateGroupAloneNamesEveryDomainsState() throws {
        let connection = try TestDriver.open()
        _ = try connection.defineDomain(xml: TestDriver.domainXML("bulk-stopped"))
        let states = try connection.allDomainStatistics(.state)
        let running = try #require(states.first { $0.name == "test" })
        #expect(running.identity == DomainIdentity(name: "test", uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f"))
        #expect(running.state == "running" && running.domainState == .running)
        let stopped = try #require(states.first { $0.name == "bulk-stopped" })
        #expect(stopped.state == "shutoff" && stopped.domainState == .shutoff)
        // Only what was asked for: no per-domain call fills in sizes for the state group.
        #expect(states.allSatisfy { $0.vcpus == nil && $0.balloonMaximumKiB == nil })
        #expect(try connection.allDomainStatistics().first { $0.name == "bulk-stopped" }?.vcpus == 1)
    }

    /// libvirt's state names that `Domain.State` spells its own way.
    @Test(arguments: [(4, "shutdown", Domain.State.shuttingDown), (7, "pmsuspended", .suspended), (0, "nostate", .unknown)])
    func statesAreNamedAsDomainStateNamesThem(value: Int64, name: String, state: Domain.State) {
        let statistics = DomainStatistics(name: "d", uuid: "u", parameters: TypedParameters(["state.state": .signed(value)]))
        #expect(statistics.state == name && statistics.domainState == state)
    }

    @Test func identitiesAndLookupByUUID() throws {
        let connection = try TestDriver.open()
        let defined = try connection.defineDomain(xml: TestDriver.domainXML("bulk-lookup"))
        let inactive = try connection.domainIdentities(.inactive)
        #expect(inactive == [DomainIdentity(name: "bulk-lookup", uuid: try defined.uuid())])
        #expect(try connection.domainIdentities([]).map(\.name).sorted() == ["bulk-lookup", "test"])
        #expect(try connection.domain(uuid: try defined.uuid())?.name == "bulk-lookup")
        #expect(try connection.domain(uuid: "00000000-0000-4000-8000-000000000000") == nil)
    }
}
