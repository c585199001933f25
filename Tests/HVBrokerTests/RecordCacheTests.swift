@testable import HVBroker
import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol
import HVServer
import HVTestSupport
import Logging
import Testing

/// The records `Vm.List`, `Host.Stats` and the autostart health check read: kept between calls,
/// dropped when libvirt's events say a machine changed, and read from libvirt whenever those events
/// can't arrive. On the test driver, whose node files give every connection a state of its own.
@Suite(.enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened"))
struct RecordCacheTests {
    static let logger = Logger(label: "test")

    /// A domain with the broker's record: tags, and a spec that starts it with the host in `order`.
    static func managed(_ name: String, index: Int, tags: [String], order: Int? = nil) -> String {
        """
        <domain type='test'>
          <name>\(name)</name><uuid>\(uuid(index))</uuid><memory unit='MiB'>256</memory><vcpu>1</vcpu>
          <os><type>hvm</type></os>
          <metadata>\(element(name, tags: tags, order: order, prefix: "hv:"))</metadata>
        </domain>
        """
    }

    static func foreign(_ name: String, index: Int) -> String {
        """
        <domain type='test'><name>\(name)</name><uuid>\(uuid(index))</uuid><memory unit='MiB'>256</memory>\
        <vcpu>1</vcpu><os><type>hvm</type></os></domain>
        """
    }

    static func uuid(_ index: Int) -> String { "8a6c1d2e-0000-4000-8000-" + String(format: "%012d", index) }

    /// The `<hv:machine>` element (`prefix` "hv:" inside a domain, "" for `virDomainSetMetadata`).
    static func element(_ name: String, tags: [String], order: Int? = nil, prefix: String = "") -> String {
        let autostart = order.map { #","autostart":{"enabled":true,"order":\#($0)}"# } ?? ""
        let spec = #"{"memory":"256MiB","name":"\#(name)","vcpus":1\#(autostart)}"#
        let namespace = prefix.isEmpty ? "" : #" xmlns:hv="\#(MachineMetadata.namespace)""#
        let tagElements = tags.map { "<\(prefix)tag>\($0)</\(prefix)tag>" }.joined()
        return "<\(prefix)machine\(namespace)><\(prefix)spec>\(spec)</\(prefix)spec><\(prefix)owner uid=\"0\" group=\"root\"/>"
            + "<\(prefix)template>false</\(prefix)template><\(prefix)tags>\(tagElements)</\(prefix)tags></\(prefix)machine>"
    }

    static let fleet = managed("kept-1", index: 1, tags: ["a"], order: 3) + managed("kept-2", index: 2, tags: ["b"])
        + foreign("stranger", index: 3)

    func hypervisor(domains: String = Self.fleet) throws -> LibvirtHypervisor {
        let directory = temporaryDirectory()
        let node = try TestDriverNode.write(TestDriverNode.xml(domains: domains), in: directory)
        return LibvirtHypervisor(
            uri: "test://" + node,
            layout: StorageLayout(stateDirectory: directory + "/state", consoleDirectory: directory + "/console"),
            pools: BulkTests.pools, logger: Self.logger
        )
    }

    /// Waits up to 10 s for `condition`.
    func eventually(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(condition())
    }

    @Test func listsAndStatsAreServedFromTheRecordsKept() async throws {
        let hypervisor = try hypervisor()
        let first = try await hypervisor.list(includeForeign: true)
        #expect(first.map(\.name) == ["kept-1", "kept-2", "stranger"])
        #expect(first.map(\.managed) == [true, true, false] && first.map(\.tags) == [["a"], ["b"], []])
        #expect(first.allSatisfy { $0.state == "running" })
        #expect(hypervisor.recordCache.counters == RecordCache.Counters(served: 0, read: 3))

        #expect(try await hypervisor.list(includeForeign: false).map(\.name) == ["kept-1", "kept-2"])
        let stats = try await hypervisor.stats(includeForeign: false)
        #expect(stats.domains.map(\.name) == ["kept-1", "kept-2"])
        #expect(stats.domains.map(\.autostart) == [true, false], "the spec's autostart, decoded when it was read")
        #expect(hypervisor.recordCache.counters == RecordCache.Counters(served: 6, read: 3))
    }

    @Test func anEventChangesARecordAndTheNextListShowsIt() async throws {
        let hypervisor = try hypervisor()
        _ = try await hypervisor.list(includeForeign: true)
        #expect(hypervisor.recordCache.keeps(uuid: Self.uuid(1)))
        // Changed in libvirt, not through the broker: only libvirt's event tells the cache.
        try await hypervisor.run { connection in
            try connection.domain(named: "kept-1")?.setMetadata(
                Self.element("kept-1", tags: ["changed"]), key: "hv", namespace: MachineMetadata.namespace, impact: .config
            )
        }
        try await eventually { !hypervisor.recordCache.keeps(uuid: Self.uuid(1)) }
        #expect(hypervisor.recordCache.keeps(uuid: Self.uuid(2)), "only the machine that changed is dropped")

        let listed = try await hypervisor.list(includeForeign: true)
        #expect(listed.first { $0.name == "kept-1" }?.tags == ["changed"])
        #expect(hypervisor.recordCache.counters == RecordCache.Counters(served: 2, read: 4))
        let stats = try await hypervisor.stats(includeForeign: false)
        #expect(stats.domains.first { $0.name == "kept-1" }?.autostart == false, "the new spec has no autostart")
    }

    @Test func aLifecycleEventDropsTheRecordToo() async throws {
        let hypervisor = try hypervisor()
        _ = try await hypervisor.list(includeForeign: true)
        #expect(await hypervisor.healthFacts().stoppedAutostartMachines == [])
        try await hypervisor.run { connection in try connection.domain(named: "kept-1")?.destroy() }
        try await eventually { !hypervisor.recordCache.keeps(uuid: Self.uuid(1)) }
        let listed = try await hypervisor.list(includeForeign: true)
        #expect(listed.first { $0.name == "kept-1" }?.state == "shutoff")
        #expect(await hypervisor.healthFacts().stoppedAutostartMachines == ["kept-1"])
    }

    @Test func aLostEventConnectionMeansEveryListReadsFromLibvirt() async throws {
        let hypervisor = try hypervisor()
        _ = try await hypervisor.list(includeForeign: true)
        let connection = try hypervisor.openConnection()
        // What libvirt's close callback does when libvirtd goes away.
        hypervisor.recordCache.closed(connection)
        #expect(!hypervisor.recordCache.keeps(uuid: Self.uuid(1)))
        _ = try await hypervisor.list(includeForeign: true)
        _ = try await hypervisor.list(includeForeign: true)
        #expect(hypervisor.recordCache.counters == RecordCache.Counters(served: 0, read: 9), "nothing kept, nothing served")

        // A change libvirt would have announced shows at once: it is read.
        try await hypervisor.run { connection in
            try connection.domain(named: "kept-2")?.setMetadata(
                Self.element("kept-2", tags: ["seen"]), key: "hv", namespace: MachineMetadata.namespace, impact: .config
            )
        }
        #expect(try await hypervisor.list(includeForeign: false).map(\.tags) == [["a"], ["seen"]])

        // A connection listened to again is served from again.
        hypervisor.recordCache.listen(to: connection, logger: Self.logger)
        _ = try await hypervisor.list(includeForeign: true)
        _ = try await hypervisor.list(includeForeign: true)
        #expect(hypervisor.recordCache.counters == RecordCache.Counters(served: 3, read: 15))
    }

    @Test func entriesAreServedOnlyForTheConnectionListenedTo() throws {
        let connection = try #require(LibvirtStatsTests.testDriver())
        let cache = RecordCache()
        cache.listen(to: connection, logger: Self.logger)
        let domain = DomainIdentity(name: "x", uuid: Self.uuid(9))
        var reads = 0
        for _ in 0..<2 { _ = cache.entries(of: [domain], on: connection) { _ in reads += 1; return nil } }
        #expect(reads == 1)
        // Another connection's entries are never served for this one.
        let other = try #require(LibvirtStatsTests.testDriver())
        _ = cache.entries(of: [domain], on: other) { _ in reads += 1; return nil }
        #expect(reads == 2)
    }

    @Test func aReadThatRacedWithAChangeIsNotKept() throws {
        let connection = try #require(LibvirtStatsTests.testDriver())
        let cache = RecordCache()
        cache.listen(to: connection, logger: Self.logger)
        let domain = DomainIdentity(name: "raced", uuid: Self.uuid(10))
        let old = MachineMetadata(specJSON: "{}", ownerUID: 0, ownerGroup: "old")
        // The change lands while the record is being read: the answer is returned, not kept.
        let answered = cache.entries(of: [domain], on: connection) { _ in
            cache.drop(uuid: domain.uuid)
            return old
        }
        #expect(answered.first?.record?.ownerGroup == "old")
        #expect(!cache.keeps(uuid: domain.uuid))
        let new = MachineMetadata(specJSON: "{}", ownerUID: 0, ownerGroup: "new")
        #expect(cache.entries(of: [domain], on: connection) { _ in new }.first?.record?.ownerGroup == "new")
        #expect(cache.keeps(uuid: domain.uuid))
        // The same UUID under another name (renamed) is read again.
        let renamed = DomainIdentity(name: "renamed", uuid: domain.uuid)
        #expect(cache.entries(of: [renamed], on: connection) { _ in nil }.first?.record == nil)
    }

    @Test func withoutEventsNothingIsKept() throws {
        let connection = try #require(LibvirtStatsTests.testDriver())
        let cache = RecordCache()
        let domain = DomainIdentity(name: "x", uuid: Self.uuid(11))
        var reads = 0
        for _ in 0..<3 { _ = cache.entries(of: [domain], on: connection) { _ in reads += 1; return nil } }
        #expect(reads == 3 && !cache.keeps(uuid: domain.uuid))
    }

    @Test func theBrokersOwnChangeShowsAtOnce() async throws {
        let hypervisor = try hypervisor(domains: "")
        let caller = Peer(uid: 0, gid: 0, pid: getpid(), startTime: 1, executable: "/usr/bin/hv")
        var spec = MachineSpec(name: "own-change", tags: ["before"], vcpus: 1, memory: .mebibytes(256)).normalized()
        _ = try await hypervisor.perform(.vmApply(spec, dryRun: false), caller: caller)
        #expect(try await hypervisor.list(includeForeign: false).map(\.tags) == [["before"]])
        spec.tags = ["after"]
        _ = try await hypervisor.perform(.vmApply(spec, dryRun: false), caller: caller)
        #expect(try await hypervisor.list(includeForeign: false).map(\.tags) == [["after"]])
        _ = try await hypervisor.delete("own-change", removeDisks: true)
        #expect(try await hypervisor.list(includeForeign: true).isEmpty)
    }
}
