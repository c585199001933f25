import Foundation
import HVProtocol
import HVTestSupport
import Logging
import Testing

@testable import HVBroker

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
