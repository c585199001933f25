import CLibvirt
import Foundation
import HVProtocol
import HVTestSupport
import Logging
import Testing

@testable import HVBroker
@testable import HVLibvirt

/// The journal of half-done work, and what the broker removes from it on a new connection.
@Suite(.enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened")) struct RecoveryTests {
    let caller = MachineSpecBrokerTests.caller

    func volumes(_ hypervisor: LibvirtHypervisor) async throws -> [String] {
        let reply = try await hypervisor.perform(.volumeList(pool: nil), caller: caller)
        return try VarlinkJSON.convert(reply, to: VolumeListReply.self).volumes.map(\.name).sorted()
    }

    /// A record left by a change cut short names two volumes: the one no machine uses is removed,
    /// the one its machine was defined with is kept, and a volume the journal does not name is
    /// left alone whatever its name. The record goes.
    @Test func recoveryRemovesOnlyJournaledVolumesNoMachineUses() async throws {
        let hypervisor = try HostFeaturesBrokerTests().hypervisor(try FakeHost())
        _ = try await HostFeaturesBrokerTests().apply(hypervisor, "kept")
        for name in ["cut-root.qcow2", "stray-root.qcow2"] {
            _ = try await hypervisor.perform(.volumeCreate(pool: nil, name: name, size: .gibibytes(1)), caller: caller)
        }
        #expect(try await volumes(hypervisor) == ["cut-root.qcow2", "kept-root.qcow2", "stray-root.qcow2"])

        let record = try hypervisor.pending.begin(
            "Vm.Apply", machine: "cut",
            volumes: [VolumeKey(pool: "hypervisor-images", name: "cut-root.qcow2"), VolumeKey(pool: "hypervisor-images", name: "kept-root.qcow2")]
        )
        #expect(hypervisor.pending.abandoned().records.isEmpty, "a change still running is never recovered from under it")
        hypervisor.pending.abandon(record)
        #expect(hypervisor.pending.abandoned().records.map(\.machine) == ["cut"])

        try await hypervisor.run { connection in hypervisor.recoverInterruptedWork(connection) }
        #expect(try await volumes(hypervisor) == ["kept-root.qcow2", "stray-root.qcow2"])
        #expect(hypervisor.pending.abandoned().records.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: hypervisor.layout.pendingDirectory).isEmpty)
    }

    /// A full clone onto a name whose disk volume exists already is refused before anything is
    /// copied, and the volume that was there is never taken back as if the clone had made it.
    @Test func aCloneNeverTakesBackAVolumeItDidNotMake() async throws {
        let hypervisor = try HostFeaturesBrokerTests().hypervisor(try FakeHost())
        _ = try await HostFeaturesBrokerTests().apply(hypervisor, "source")
        _ = try await hypervisor.perform(.volumeCreate(pool: nil, name: "copy-root.qcow2", size: .gibibytes(1)), caller: caller)
        let refused = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.vmClone(source: "source", name: "copy", linked: false), caller: caller)
        }
        #expect(refused?.code == .alreadyExists, "\(String(describing: refused))")
        #expect(try await volumes(hypervisor).contains("copy-root.qcow2"), "the volume that was there is kept")
        #expect(hypervisor.pending.abandoned().records.isEmpty)
    }

    /// A failed change takes back only what it asked libvirt to make: a volume whose name libvirt
    /// says is taken (whichever way it says so) is not counted, one it failed to make for another
    /// reason is, and one the change removed itself is forgotten. Its record is narrowed to the
    /// same on disk, so a recovery after a take-back that failed removes no more.
    @Test func aFailedChangeTakesBackAndRecordsOnlyWhatItMade() async throws {
        let hypervisor = try HostFeaturesBrokerTests().hypervisor(try FakeHost())
        _ = try await hypervisor.perform(.volumeCreate(pool: nil, name: "theirs-root.qcow2", size: .gibibytes(1)), caller: caller)
        let key = { (name: String) in VolumeKey(pool: "hypervisor-images", name: name) }
        let record = try hypervisor.pending.begin(
            "Backup.Restore", machine: "mine",
            volumes: [key("mine-root.qcow2"), key("theirs-root.qcow2"), key("half-root.qcow2"), key("gone-root.qcow2")]
        )
        let made = MadeVolumes()
        let taken = [
            LibvirtError(code: Int32(VIR_ERR_STORAGE_VOL_EXIST.rawValue), domain: 0, message: "storage volume 'theirs-root.qcow2' exists already"),
            LibvirtError(code: Int32(VIR_ERR_OPERATION_INVALID.rawValue), domain: 0, message: "volume target path '/x/theirs-root.qcow2' already exists"),
        ]
        for error in taken {
            #expect(throws: LibvirtError.self) { try made.making(key("theirs-root.qcow2")) { () throws(LibvirtError) in throw error } }
        }
        #expect(throws: LibvirtError.self) {
            try made.making(key("half-root.qcow2")) { () throws(LibvirtError) in throw LibvirtError(code: -1, domain: -1, message: "connection lost") }
        }
        try made.making(key("mine-root.qcow2")) {}
        try made.making(key("gone-root.qcow2")) {}
        made.forget(key("gone-root.qcow2"))
        #expect(made.all == [key("half-root.qcow2"), key("mine-root.qcow2")])

        _ = try await hypervisor.perform(.volumeCreate(pool: nil, name: "mine-root.qcow2", size: .gibibytes(1)), caller: caller)
        hypervisor.pending.abandon(record)
        var narrowed = try #require(record)
        narrowed.volumes = made.all
        hypervisor.pending.narrow(narrowed)
        #expect(hypervisor.pending.abandoned().records.map(\.volumes) == [made.all], "the record on disk names only what was made")
        try await hypervisor.run { connection in try hypervisor.takeBack(record, made: made, connection) }
        #expect(try await volumes(hypervisor) == ["theirs-root.qcow2"], "what was made is taken back, the rest kept")
        #expect(hypervisor.pending.abandoned().records.isEmpty)
    }

    /// A finished change leaves no record; a record that can't be read is removed, not trusted.
    @Test func finishedChangesLeaveNoRecordAndUnreadableOnesAreDropped() throws {
        let directory = temporaryDirectory()
        let journal = PendingWork(directory: directory)
        let record = try journal.begin("Vm.Clone", machine: "copy", volumes: [VolumeKey(pool: "p", name: "copy-root.qcow2")])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [record!.id + ".json"])
        journal.end(record)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        #expect(try journal.begin("Vm.Apply", machine: "none", volumes: []) == nil, "a change that makes no volume needs no record")

        try "{not json".write(toFile: directory + "/forged.json", atomically: false, encoding: .utf8)
        #expect(journal.abandoned().unreadable == ["forged.json"])
    }

    /// A journal that can't be written refuses the change before anything is made, saying so.
    @Test func aJournalThatCantBeWrittenRefusesTheChange() {
        let journal = PendingWork(directory: temporaryDirectory() + "/missing")
        let error = #expect(throws: HVError.self) {
            _ = try journal.begin("Vm.Apply", machine: "m", volumes: [VolumeKey(pool: "p", name: "m-root.qcow2")])
        }
        #expect(error?.reason.hasPrefix("nothing was changed: the broker could not record the work") == true, "\(String(describing: error))")
        #expect(error?.fix?.contains("state directory") == true)
    }
}
