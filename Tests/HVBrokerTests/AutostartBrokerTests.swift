import Foundation
import HVBroker
import HVProtocol
import HVServer
import HVTestSupport
import Logging
import Testing

/// Boot-time start in spec order, on a private test-driver node.
@Suite(.serialized, .enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened")) struct AutostartBrokerTests {
    let caller = MachineSpecBrokerTests.caller

    func apply(_ hypervisor: LibvirtHypervisor, _ name: String, autostart: AutostartSpec?) async throws {
        let spec = MachineSpec(
            name: name, vcpus: 1, memory: .mebibytes(256), disks: [DiskSpec(name: "root", size: .gibibytes(1))],
            networks: [NicSpec(network: "default")], autostart: autostart
        )
        _ = try await hypervisor.perform(.vmApply(spec.normalized(), dryRun: false), caller: caller)
    }

    /// The test driver keeps no image files, so the template's disk is written for the broker's probe.
    static func makeTemplate(_ hypervisor: LibvirtHypervisor, _ name: String) async throws {
        let created = try run(["qemu-img", "create", "-q", "-f", "qcow2", hypervisor.layout.imageDirectory + "/\(name)-root.qcow2", "1G"])
        #expect(created.status == 0, "\(created)")
        _ = try await hypervisor.perform(.vmMarkTemplate(name), caller: MachineSpecBrokerTests.caller)
    }

    func autostart(_ hypervisor: LibvirtHypervisor, delay: Int = 0) async throws -> [AutostartResult] {
        try VarlinkJSON.convert(try await hypervisor.perform(.hostAutostart(groupDelaySeconds: delay), caller: caller), to: HostAutostartReply.self).machines
    }

    /// `hv vm autostart NAME on --order N` on a machine made without an autostart setting: kept in
    /// its spec, read by the boot-time start, and turned off again keeping the order.
    @Test func autostartIsSetOnAMachineAndKeptInItsSpec() async throws {
        let hypervisor = try HostFeaturesBrokerTests().hypervisor(try FakeHost())
        try await apply(hypervisor, "made", autostart: nil)
        #expect(try await hypervisor.info("made").autostart == false)

        let on = try VarlinkJSON.convert(
            try await hypervisor.perform(.vmAutostart("made", enabled: true, order: 7), caller: caller), to: VmAutostartReply.self)
        #expect(on == VmAutostartReply(autostart: true, order: 7))
        let info = try await hypervisor.info("made")
        #expect(info.autostart && info.autostartOrder == 7)
        let exported = try await hypervisor.perform(.vmExport("made", redactSecrets: false), caller: caller)
        #expect(try VarlinkJSON.convert(exported, to: VmExportReply.self).spec.autostart == AutostartSpec(enabled: true, order: 7))
        #expect(try await autostart(hypervisor).map(\.name) == ["made"])

        let off = try VarlinkJSON.convert(
            try await hypervisor.perform(.vmAutostart("made", enabled: false, order: nil), caller: caller), to: VmAutostartReply.self)
        #expect(off == VmAutostartReply(autostart: false, order: 7), "the order is kept for when it is turned on again")
        #expect(try await hypervisor.info("made").autostart == false)
        #expect(try await hypervisor.info("made").state == "running", "turning autostart off leaves a running machine alone")

        try await hypervisor.kill("made")
        try await AutostartBrokerTests.makeTemplate(hypervisor, "made")
        await #expect(throws: HVError.self, "a template never starts") {
            _ = try await hypervisor.perform(.vmAutostart("made", enabled: true, order: nil), caller: caller)
        }
    }

    @Test func machinesStartInOrderThenByName() async throws {
        let hypervisor = try HostFeaturesBrokerTests().hypervisor(try FakeHost())
        try await apply(hypervisor, "app", autostart: AutostartSpec(enabled: true, order: 20))
        try await apply(hypervisor, "db-b", autostart: AutostartSpec(enabled: true, order: 10))
        try await apply(hypervisor, "db-a", autostart: AutostartSpec(enabled: true, order: 10))
        try await apply(hypervisor, "manual", autostart: AutostartSpec(enabled: false, order: 1))
        try await apply(hypervisor, "base", autostart: AutostartSpec(enabled: true, order: 0))
        try await AutostartBrokerTests.makeTemplate(hypervisor, "base")

        // Before boot: every autostart machine is reported, with its order, and the health check sees them stopped.
        let app = try await hypervisor.info("app")
        #expect(app.autostart && app.autostartOrder == 20)
        #expect(try await hypervisor.info("manual").autostart == false)
        #expect(await hypervisor.healthFacts().stoppedAutostartMachines == ["app", "db-a", "db-b"])
        #expect(try await hypervisor.stats(includeForeign: true).domains.filter(\.autostart).map(\.name) == ["app", "db-a", "db-b"])

        let first = try await autostart(hypervisor)
        #expect(first.map(\.name) == ["db-a", "db-b", "app"])
        #expect(first.map(\.order) == [10, 10, 20])
        #expect(first.allSatisfy { $0.result == "started" }, "\(first)")
        for name in ["db-a", "db-b", "app"] { #expect(try await hypervisor.info(name).state == "running") }
        for name in ["manual", "base"] { #expect(try await hypervisor.info(name).state == "shutoff") }
        #expect(await hypervisor.healthFacts().stoppedAutostartMachines == [])

        // Run again, nothing starts twice.
        let second = try await autostart(hypervisor)
        #expect(second.map(\.result) == ["running", "running", "running"])
    }

    @Test func theDelaySeparatesGroupsThatStartedSomething() async throws {
        let hypervisor = try HostFeaturesBrokerTests().hypervisor(try FakeHost())
        try await apply(hypervisor, "first", autostart: AutostartSpec(enabled: true, order: 1))
        try await apply(hypervisor, "second", autostart: AutostartSpec(enabled: true, order: 2))
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try await autostart(hypervisor, delay: 1).map(\.result) == ["started", "started"])
        #expect(clock.now - start >= .seconds(1))
        // Nothing started in the first group this time, so there is no wait.
        try await hypervisor.kill("second")
        let again = clock.now
        #expect(try await autostart(hypervisor, delay: 30).map(\.result) == ["running", "started"])
        #expect(clock.now - again < .seconds(30))
    }
}
