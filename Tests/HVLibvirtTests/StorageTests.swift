import HVLibvirt
import Testing

/// Volumes and pools on the test driver's `default-pool` (100 GiB, directory `/default-pool`).
@Suite struct StorageTests {
    static func volumeXML(_ name: String, capacity: UInt64) -> String {
        """
        <volume><name>\(name)</name><capacity unit='bytes'>\(capacity)</capacity>\
        <target><format type='qcow2'/></target></volume>
        """
    }

    @Test func volumesAreCreatedListedClonedAndDeleted() throws {
        let connection = try TestDriver.open()
        let pool = try #require(try connection.storagePool(named: "default-pool"))
        #expect(try pool.volumes().isEmpty)

        let root = try pool.createVolume(xml: Self.volumeXML("web1-root.qcow2", capacity: 1 << 30), flags: [])
        #expect(root.name == "web1-root.qcow2")
        #expect(try root.path() == "/default-pool/web1-root.qcow2")
        let info = try root.info()
        #expect(info.kind == .file)
        #expect(info.capacity == 1 << 30)
        #expect(try root.xmlDescription().contains("<format type='qcow2'/>"))
        #expect(try root.pool().name == "default-pool")

        let copy = try pool.cloneVolume(xml: Self.volumeXML("web1-copy.qcow2", capacity: 1 << 30), from: root)
        #expect(try copy.info().capacity == 1 << 30)

        let summaries = try pool.volumeSummaries()
        #expect(summaries.map(\.name) == ["web1-copy.qcow2", "web1-root.qcow2"])
        #expect(summaries.map(\.path) == ["/default-pool/web1-copy.qcow2", "/default-pool/web1-root.qcow2"])
        #expect(summaries.allSatisfy { $0.kind == .file && $0.capacity == 1 << 30 })
        #expect(summaries.map(\.allocation) == [try copy.info().allocation, info.allocation])
        #expect(try connection.storageVolume(path: "/default-pool/web1-copy.qcow2")?.name == "web1-copy.qcow2")
        #expect(try connection.storageVolume(path: "/default-pool/none.qcow2") == nil)

        // The storage driver reports VIR_ERR_STORAGE_VOL_EXIST, the test driver operation-failed.
        #expect(throws: LibvirtError.self) {
            _ = try pool.createVolume(xml: Self.volumeXML("web1-root.qcow2", capacity: 2 << 30), flags: [])
        }
        #expect(try root.info().capacity == 1 << 30)

        try copy.delete()
        #expect(try pool.volume(named: "web1-copy.qcow2") == nil)
        #expect(try pool.volumes().map(\.name) == ["web1-root.qcow2"])
    }

    /// Shrinking is refused before libvirt is called: the test driver has no volume resize at all,
    /// so growing reaches libvirt and fails with no-support, while shrinking fails with invalid-argument.
    @Test func volumesOnlyGrow() throws {
        let connection = try TestDriver.open()
        let pool = try #require(try connection.storagePool(named: "default-pool"))
        let volume = try pool.createVolume(xml: Self.volumeXML("disk.qcow2", capacity: 2 << 30), flags: [])

        let shrink = #expect(throws: LibvirtError.self) { try volume.resize(to: 1 << 30) }
        #expect(shrink?.isInvalidArgument == true)
        #expect(shrink?.message.contains("refused") == true)
        #expect(try volume.info().capacity == 2 << 30)

        let grow = #expect(throws: LibvirtError.self) { try volume.resize(to: 4 << 30) }
        #expect(grow?.isNoSupport == true)
    }

    @Test func poolsAreDefinedStartedStoppedAndUndefined() throws {
        let connection = try TestDriver.open()
        let xml = """
            <pool type='dir'><name>hv-extra</name><target><path>/hv-extra</path></target></pool>
            """
        let pool = try connection.defineStoragePool(xml: xml)
        #expect(!pool.isActive)
        #expect(try pool.isPersistent())
        #expect(try pool.uuid().count == 36)
        #expect(try connection.storagePools().map(\.name).sorted() == ["default-pool", "hv-extra"])

        try pool.build()
        try pool.start()
        #expect(pool.isActive)
        try pool.refresh()
        #expect(try pool.info().capacity > 0)
        #expect(try pool.autostart() == false)
        try pool.setAutostart(true)
        #expect(try pool.autostart())
        #expect(try pool.xmlDescription().contains("<path>/hv-extra</path>"))
        // The test driver keeps no separate persistent definition and refuses the flag.
        let inactive = #expect(throws: LibvirtError.self) { _ = try pool.xmlDescription(inactive: true) }
        #expect(inactive?.isUnsupportedFlags == true)

        let busy = #expect(throws: LibvirtError.self) { try pool.undefine() }
        #expect(busy?.isOperationInvalid == true)
        try pool.destroy()
        #expect(!pool.isActive)
        #expect(throws: LibvirtError.self) { _ = try pool.volumes() }
        try pool.undefine()
        #expect(try connection.storagePool(named: "hv-extra") == nil)
    }
}
