import HVLibvirt
import Testing

/// Snapshots of the test driver's running domain `test`.
@Suite struct SnapshotTests {
    static func snapshotXML(_ name: String, description: String) -> String {
        "<domainsnapshot><name>\(name)</name><description>\(description)</description></domainsnapshot>"
    }

    @Test func snapshotsFormATreeWithACurrentOne() throws {
        let connection = try TestDriver.open()
        let domain = try #require(try connection.domain(named: "test"))
        #expect(try domain.snapshots().isEmpty)
        #expect(try domain.currentSnapshot() == nil)

        let base = try domain.createSnapshot(xml: Self.snapshotXML("base", description: "fresh install"))
        let update = try domain.createSnapshot(xml: Self.snapshotXML("update", description: "after apt upgrade"))
        #expect(try base.isCurrent() == false)
        #expect(try update.isCurrent())
        #expect(try domain.currentSnapshot()?.name == "update")
        #expect(try domain.snapshots().map(\.name) == ["base", "update"])
        #expect(try base.parentName() == nil)
        #expect(try update.parentName() == "base")
        #expect(try base.xmlDescription().contains("<description>fresh install</description>"))
        #expect(try domain.snapshot(named: "update")?.name == "update")
        #expect(try domain.snapshot(named: "missing") == nil)

        let duplicate = #expect(throws: LibvirtError.self) {
            _ = try domain.createSnapshot(xml: Self.snapshotXML("base", description: "again"))
        }
        #expect(duplicate != nil)
    }

    @Test func revertRestoresTheRecordedStateOrTheRequestedOne() throws {
        let connection = try TestDriver.open()
        let domain = try #require(try connection.domain(named: "test"))
        let running = try domain.createSnapshot(xml: Self.snapshotXML("running", description: "up"))
        try domain.destroy()
        let stopped = try domain.createSnapshot(xml: Self.snapshotXML("stopped", description: "down"))
        #expect(try stopped.parentName() == "running")

        try running.revert()
        #expect(try domain.state() == .running)
        #expect(try running.isCurrent())
        try stopped.revert()
        #expect(try domain.state() == .shutoff)
        try running.revert(flags: .paused)
        #expect(try domain.state() == .paused)
        try running.revert(flags: .running)
        #expect(try domain.state() == .running)
    }

    @Test func deletingKeepsOrRemovesChildren() throws {
        let connection = try TestDriver.open()
        let domain = try #require(try connection.domain(named: "test"))
        let first = try domain.createSnapshot(xml: Self.snapshotXML("first", description: "1"))
        _ = try domain.createSnapshot(xml: Self.snapshotXML("second", description: "2"))
        let third = try domain.createSnapshot(xml: Self.snapshotXML("third", description: "3"))

        try first.delete()
        #expect(try domain.snapshots().map(\.name) == ["second", "third"])
        #expect(try domain.snapshot(named: "second")?.parentName() == nil)
        #expect(try third.parentName() == "second")

        try #require(try domain.snapshot(named: "second")).delete(children: true)
        #expect(try domain.snapshots().isEmpty)
        #expect(try domain.currentSnapshot() == nil)
    }
}
