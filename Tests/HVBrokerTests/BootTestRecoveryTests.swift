import Foundation
import HVProtocol
import HVTestSupport
import Testing

@testable import HVBroker

/// What a broker killed during a boot test leaves, removed at its next start: the scratch machine
/// a record names, when it is that test's, with its disks; never another machine.
@Suite(.enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened")) struct BootTestRecoveryTests {
    let caller = MachineSpecBrokerTests.caller
    static let backup = "2026-12-06T09-10-00Z-1f0c9a3e"

    func define(_ hypervisor: LibvirtHypervisor, _ name: String, description: String) async throws {
        var spec = MachineSpec(name: name, vcpus: 1, memory: .gibibytes(1), disks: [DiskSpec(name: "root", size: .gibibytes(2))], networks: [])
        spec.description = description
        _ = try await hypervisor.perform(.vmApply(spec.normalized(), dryRun: false), caller: caller)
    }

    func names(_ hypervisor: LibvirtHypervisor) async throws -> [String] {
        try await hypervisor.list(includeForeign: true).map(\.name).sorted()
    }

    @Test func aScratchMachineLeftRunningIsRemovedWithItsDisksAndOnlyIt() async throws {
        let hypervisor = try HostFeaturesBrokerTests().hypervisor(try FakeHost())
        let scratch = BootTestScratch(backup: Self.backup, stateDirectory: hypervisor.layout.stateDirectory)
        try scratch.begin()
        try await define(hypervisor, scratch.name, description: BootTestScratch.description(backup: Self.backup))
        try await hypervisor.start(scratch.name)
        // A record naming a machine that is not the test's: the machine stays, the record goes.
        let other = BootTestScratch(backup: Self.backup, stateDirectory: hypervisor.layout.stateDirectory)
        try other.begin()
        try await define(hypervisor, other.name, description: "someone's own machine")
        // A record whose restore never defined its machine just goes.
        let undefined = BootTestScratch(backup: Self.backup, stateDirectory: hypervisor.layout.stateDirectory)
        try undefined.begin()
        #expect(try await names(hypervisor) == [scratch.name, other.name].sorted())

        try await hypervisor.run { connection in hypervisor.recoverInterruptedBackups(connection) }

        #expect(try await names(hypervisor) == [other.name])
        let volumes = try await RecoveryTests().volumes(hypervisor)
        #expect(volumes == ["\(other.name)-root.qcow2"], "the scratch machine's disk went with it")
        let records = try FileManager.default.contentsOfDirectory(atPath: BootTestScratch.directory(stateDirectory: hypervisor.layout.stateDirectory))
        #expect(records.isEmpty)
    }
}
