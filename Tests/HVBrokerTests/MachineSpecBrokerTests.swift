import Foundation
import HVBroker
import HVClient
import HVProtocol
import HVServer
import HVTestSupport
import Logging
import NIOPosix
import Testing

/// Specs, snapshots, storage and networks through the broker's libvirt code, on the test driver.
@Suite(.serialized, .enabled(if: TestDriverCheck.available, "libvirt's test driver (test:///default) can't be opened")) struct MachineSpecBrokerTests {
    static let caller = Peer(uid: 0, gid: 0, pid: getpid(), startTime: 1, executable: "/usr/bin/hv")

    func hypervisor(
        policy: HostPolicy = HostPolicy(), domains: String = "", tpmStateDirectory: String? = nil
    ) -> LibvirtHypervisor {
        let directory = temporaryDirectory()
        return LibvirtHypervisor(
            uri: "test://" + (try! TestDriverNode.write(TestDriverNode.xml(domains: domains), in: directory)),
            layout: StorageLayout(
                stateDirectory: directory + "/state", consoleDirectory: directory + "/console", tpmStateDirectory: tpmStateDirectory
            ),
            policy: policy, pools: BulkTests.pools, logger: Logger(label: "test")
        )
    }

    func spec(_ name: String, vcpus: Int = 2) -> MachineSpec {
        MachineSpec(
            name: name, description: "R and D box", tags: ["lab"], vcpus: vcpus, memory: .gibibytes(1),
            disks: [DiskSpec(name: "root", size: .gibibytes(10)), DiskSpec(name: "data", size: .gibibytes(2), bus: .sata)],
            networks: [NicSpec(network: "default")], autostart: AutostartSpec(enabled: true, order: 3)
        ).normalized()
    }

    func decode<Value: Decodable>(_ type: Value.Type, _ parameters: some Encodable) throws -> Value {
        try VarlinkJSON.convert(parameters, to: type)
    }

    @Test func applyExportAndReapply() async throws {
        let hypervisor = hypervisor()
        let name = "spec-\(UUID().uuidString.prefix(6))"
        let first = try decode(VmApplyReply.self, try await hypervisor.perform(.vmApply(spec(name), dryRun: false), caller: Self.caller))
        #expect(first.created && first.changes.isEmpty && first.vm?.vcpus == 2)
        #expect(first.vm?.disks.filter { $0.device == "disk" }.count == 2)

        let exported = try decode(VmExportReply.self, try await hypervisor.perform(.vmExport(name, redactSecrets: false), caller: Self.caller)).spec
        var expected = spec(name)
        expected.networks[0].mac = exported.networks[0].mac
        #expect(exported == expected)
        #expect(exported.networks[0].mac?.hasPrefix("52:54:00") == true)

        // Applying the export changes nothing; a new vCPU count waits for the next boot.
        let same = try decode(VmApplyReply.self, try await hypervisor.perform(.vmApply(exported, dryRun: false), caller: Self.caller))
        #expect(!same.created && same.changes.isEmpty)
        var bigger = exported
        bigger.vcpus = 4
        let dry = try decode(VmApplyReply.self, try await hypervisor.perform(.vmApply(bigger, dryRun: true), caller: Self.caller))
        #expect(dry.changes.map(\.field) == ["vcpus"] && dry.changes.first?.effect == .nextBoot)
        #expect(try await hypervisor.info(name).vcpus == 2)
        _ = try await hypervisor.perform(.vmApply(bigger, dryRun: false), caller: Self.caller)
        #expect(try await hypervisor.info(name).vcpus == 4)

        let list = try await hypervisor.list(includeForeign: true)
        #expect(list.first { $0.name == name }?.tags == ["lab"])
        _ = try await hypervisor.delete(name, removeDisks: true)
    }

    /// A TPM reaches the definition and `info`; turning it off waits for the next boot; deleting the
    /// machine removes the TPM state libvirt kept from when it had one, and no other machine's.
    @Test func aTPMIsDefinedReportedAndItsStateGoesWithTheMachine() async throws {
        let tpmStates = temporaryDirectory()
        let hypervisor = hypervisor(tpmStateDirectory: tpmStates)
        let name = "tpm-\(UUID().uuidString.prefix(6))"
        var withTPM = spec(name)
        withTPM.tpm = true
        let created = try decode(VmApplyReply.self, try await hypervisor.perform(.vmApply(withTPM, dryRun: false), caller: Self.caller))
        #expect(created.created && created.vm?.tpm == true)
        #expect(try await hypervisor.info(name).tpm == true)
        let exported = try decode(VmExportReply.self, try await hypervisor.perform(.vmExport(name, redactSecrets: false), caller: Self.caller)).spec
        #expect(exported.tpm)

        let off = try decode(VmApplyReply.self, try await hypervisor.perform(.vmApply(spec(name), dryRun: false), caller: Self.caller))
        #expect(off.changes.map(\.field) == ["tpm"] && off.changes.first?.effect == .nextBoot)
        #expect(try await hypervisor.info(name).tpm == false)

        let uuid = try await hypervisor.info(name).uuid
        let state = tpmStates + "/" + uuid + "/tpm2"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: state + "/tpm2-00.permall", contents: Data("state".utf8)))
        let other = tpmStates + "/" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        _ = try await hypervisor.delete(name, removeDisks: true)
        #expect(!FileManager.default.fileExists(atPath: tpmStates + "/" + uuid))
        #expect(FileManager.default.fileExists(atPath: other), "another machine's TPM state stays")
    }

    /// Only the system connection's swtpm directory is known; a broker on any other libvirt (the
    /// test driver, a session) leaves the host's TPM states alone.
    @Test func theTPMStateDirectoryIsKnownForTheSystemConnectionOnly() {
        #expect(StorageLayout.tpmStateDirectory(uri: "qemu:///system") == "/var/lib/libvirt/swtpm")
        for uri in ["qemu:///session", "test:///default", "test:///tmp/node.xml", "qemu+ssh://host/system"] {
            #expect(StorageLayout.tpmStateDirectory(uri: uri) == nil, "\(uri)")
        }
    }

    /// Adopting a domain that has the TPM a spec gives keeps it (`tpm: true`, and the same UUID, so
    /// libvirt keeps its state); another kind of TPM is refused, named.
    @Test func adoptionKeepsTheTPMASpecGivesAndRefusesAnyOther() async throws {
        let directory = temporaryDirectory()
        let layout = StorageLayout(stateDirectory: directory + "/state", consoleDirectory: directory + "/console")
        try FileManager.default.createDirectory(atPath: layout.isoDirectory, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: layout.isoPath("win11.iso"), contents: Data("iso".utf8)))
        func domain(_ name: String, model: String) -> String {
            """
            <domain type='test'>
              <name>\(name)</name><memory unit='GiB'>1</memory><vcpu>1</vcpu><os><type>hvm</type></os>
              <devices>
                <disk type='file' device='cdrom'><source file='\(layout.isoPath("win11.iso"))'/><target dev='sda' bus='sata'/><readonly/></disk>
                <tpm model='\(model)'><backend type='emulator' version='2.0'/></tpm>
              </devices>
            </domain>
            """
        }
        let node = try TestDriverNode.write(
            TestDriverNode.xml(domains: domain("win-crb", model: "tpm-crb") + domain("win-tis", model: "tpm-tis")), in: directory
        )
        let hypervisor = LibvirtHypervisor(uri: "test://" + node, layout: layout, pools: BulkTests.pools, logger: Logger(label: "test"))
        let uuid = try await hypervisor.info("win-crb").uuid

        let adopted = try decode(VmInfoReply.self, try await hypervisor.perform(.vmAdopt("win-crb", group: nil), caller: Self.caller))
        #expect(adopted.vm.tpm == true && adopted.vm.uuid == uuid)
        let exported = try decode(VmExportReply.self, try await hypervisor.perform(.vmExport("win-crb", redactSecrets: false), caller: Self.caller)).spec
        #expect(exported.tpm && exported.machine == .q35)

        let refused = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.vmAdopt("win-tis", group: nil), caller: Self.caller)
        }
        #expect(refused?.code == .invalidSpec && refused?.reason.contains("its TPM is not an emulated TPM 2.0 of model tpm-crb") == true, "\(String(describing: refused))")
        #expect(try await hypervisor.info("win-tis").tpm == true, "a refused adoption changes nothing")
    }

    /// A machine an earlier version gave a loopback display (recorded as `loopback`, defined on
    /// 127.0.0.1): applying its spec shows the move to the broker's display, for the next boot, and
    /// redefines it; after that nothing is left to change.
    @Test func applyMovesALoopbackDisplayToTheBroker() async throws {
        let recorded = #"{"graphics":{"listen":"loopback","type":"vnc"},"memory":"1GiB","name":"legacy","vcpus":1}"#
        let legacy = """
            <domain type='test'>
              <name>legacy</name><memory unit='GiB'>1</memory><vcpu>1</vcpu><os><type>hvm</type></os>
              <metadata>
                <hv:machine xmlns:hv="https://hypernixos.org/xmlns/machine/1">
                  <hv:spec>\(recorded)</hv:spec><hv:owner uid="0" group="root"/><hv:template>false</hv:template>
                </hv:machine>
              </metadata>
              <devices>
                <graphics type='vnc' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics>
              </devices>
            </domain>
            """
        let hypervisor = hypervisor(domains: legacy)
        let exported = try decode(VmExportReply.self, try await hypervisor.perform(.vmExport("legacy", redactSecrets: false), caller: Self.caller))
        #expect(exported.spec.graphics == GraphicsSpec(type: .vnc, listen: .unsupported("loopback")))

        let spec = MachineSpec(name: "legacy", vcpus: 1, memory: .gibibytes(1), graphics: GraphicsSpec(type: .vnc)).normalized()
        let moved = try decode(VmApplyReply.self, try await hypervisor.perform(.vmApply(spec, dryRun: false), caller: Self.caller))
        #expect(moved.changes == [SpecChange(field: "graphics", from: "vnc on 127.0.0.1", to: "vnc on broker", effect: .nextBoot)])
        let again = try decode(VmApplyReply.self, try await hypervisor.perform(.vmApply(spec, dryRun: false), caller: Self.caller))
        #expect(again.changes.isEmpty)
        let now = try decode(VmExportReply.self, try await hypervisor.perform(.vmExport("legacy", redactSecrets: false), caller: Self.caller))
        #expect(now.spec.graphics == GraphicsSpec(type: .vnc, listen: .broker))
    }

    @Test func refusedChangesAndPolicyLimitsNameTheirField() async throws {
        let policy = try HostPolicy.parse("limits: {vcpus: 2}\ngroups: {root: {vms: 1}}")
        let hypervisor = hypervisor(policy: policy)
        let name = "quota-\(UUID().uuidString.prefix(6))"
        let tooBig = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.vmApply(spec(name, vcpus: 3), dryRun: false), caller: Self.caller)
        }
        #expect(tooBig?.code == .quotaExceeded && tooBig?.details["limit"] == "limits.vcpus")

        _ = try await hypervisor.perform(.vmApply(spec(name), dryRun: false), caller: Self.caller)
        let second = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.vmApply(spec(name + "-b"), dryRun: false), caller: Self.caller)
        }
        #expect(second?.details["limit"] == "groups.root.vms")

        var shrunk = spec(name)
        shrunk.disks[0].size = .gibibytes(5)
        let shrink = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.vmApply(shrunk, dryRun: false), caller: Self.caller)
        }
        #expect(shrink?.details["field"] == "disks[0].size")

        var bridged = spec(name)
        bridged.networks = [NicSpec(bridge: "br0")]
        let bridge = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.vmApply(bridged, dryRun: false), caller: Self.caller)
        }
        #expect(bridge?.details["field"] == "networks[0].bridge")
        _ = try await hypervisor.delete(name, removeDisks: true)
    }

    @Test func snapshotsFormATree() async throws {
        let hypervisor = hypervisor()
        let name = "snap-\(UUID().uuidString.prefix(6))"
        _ = try await hypervisor.perform(.vmApply(spec(name), dryRun: false), caller: Self.caller)
        _ = try await hypervisor.perform(.snapshotCreate(vm: name, name: "base", description: "clean install"), caller: Self.caller)
        _ = try await hypervisor.perform(.snapshotCreate(vm: name, name: "tuned", description: nil), caller: Self.caller)
        let list = try decode(SnapshotListReply.self, try await hypervisor.perform(.snapshotList(vm: name), caller: Self.caller)).snapshots
        #expect(list.map(\.name) == ["base", "tuned"])
        #expect(list.first { $0.name == "tuned" }?.parent == "base" && list.first { $0.name == "tuned" }?.current == true)
        #expect(list.first { $0.name == "base" }?.description == "clean install")

        _ = try await hypervisor.perform(.snapshotRevert(vm: name, name: "base"), caller: Self.caller)
        let after = try decode(SnapshotListReply.self, try await hypervisor.perform(.snapshotList(vm: name), caller: Self.caller)).snapshots
        #expect(after.first { $0.current }?.name == "base")
        let duplicate = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.snapshotCreate(vm: name, name: "base", description: nil), caller: Self.caller)
        }
        #expect(duplicate?.code == .alreadyExists)
        _ = try await hypervisor.perform(.snapshotDelete(vm: name, name: "tuned"), caller: Self.caller)
        let missing = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.snapshotRevert(vm: name, name: "tuned"), caller: Self.caller)
        }
        #expect(missing?.code == .notFound)
    }

    @Test func networksAndVolumes() async throws {
        let hypervisor = hypervisor()
        let net = "n\(UUID().uuidString.prefix(6).lowercased())"
        let created = try decode(
            NetworkReply.self,
            try await hypervisor.perform(.networkCreate(NetworkCreateParameters(name: net, address: "10.77.0.1/24")), caller: Self.caller)
        ).network
        #expect(created.active && created.forward == "nat" && created.address == "10.77.0.1/24")
        #expect(created.dhcpStart == "10.77.0.2" && created.dhcpEnd == "10.77.0.254")
        let bad = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.networkCreate(NetworkCreateParameters(name: net + "x", address: "10.77.0.1/33")), caller: Self.caller)
        }
        #expect(bad?.code == .invalidParameter)
        _ = try await hypervisor.perform(.networkStop(net), caller: Self.caller)
        _ = try await hypervisor.perform(.networkDelete(net), caller: Self.caller)
        let networks = try decode(NetworkListReply.self, try await hypervisor.perform(.networkList, caller: Self.caller)).networks
        #expect(!networks.contains { $0.name == net })

        let volume = "v-\(UUID().uuidString.prefix(6)).qcow2"
        _ = try await hypervisor.perform(.volumeCreate(pool: nil, name: volume, size: .gibibytes(2)), caller: Self.caller)
        let shrink = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.volumeResize(pool: nil, name: volume, size: .gibibytes(1)), caller: Self.caller)
        }
        #expect(shrink?.code == .invalidParameter)
        let volumes = try decode(VolumeListReply.self, try await hypervisor.perform(.volumeList(pool: nil), caller: Self.caller)).volumes
        #expect(volumes.first { $0.name == volume }?.capacity == .gibibytes(2))
        let foreign = await #expect(throws: HVError.self) {
            _ = try await hypervisor.perform(.volumeList(pool: "default-pool"), caller: Self.caller)
        }
        #expect(foreign?.code == .permissionDenied)
        _ = try await hypervisor.perform(.volumeDelete(pool: nil, name: volume), caller: Self.caller)
    }
}
