import Foundation
import HVProtocol
import Testing

@Suite struct SpecChangesTests {
    private func changes(_ change: (inout MachineSpec) -> Void) -> [SpecChange] {
        var desired = baseSpec
        change(&desired)
        return SpecChanges.between(current: baseSpec, desired: desired)
    }

    @Test func theSameSpecChangesNothing() {
        #expect(SpecChanges.between(current: baseSpec, desired: baseSpec).isEmpty)
        var loud = baseSpec
        loud.networks[0].mac = "52:54:00:12:34:56".uppercased()
        #expect(SpecChanges.between(current: baseSpec, desired: loud).isEmpty)
    }

    @Test func metadataChangesApplyImmediately() {
        let result = changes {
            $0.description = "new"
            $0.tags = ["web"]
            $0.autostart = AutostartSpec(enabled: true, order: 5)
        }
        #expect(result == [
            SpecChange(field: "description", from: nil, to: "new", effect: .immediate),
            SpecChange(field: "tags", from: "[]", to: "[web]", effect: .immediate),
            SpecChange(field: "autostart", from: nil, to: "enabled, order 5", effect: .immediate),
        ])
        #expect(!result.needsRestart)
    }

    @Test func hardwareChangesWaitForTheNextBoot() {
        let result = changes {
            $0.vcpus = 4
            $0.memory = .gibibytes(4)
            $0.firmware = .uefi
            $0.machine = .pc
            $0.cdrom = "debian-12.iso"
            $0.networks[1].model = .e1000e
            $0.graphics = GraphicsSpec(type: .vnc)
            $0.serial = false
            $0.cloudInit = CloudInitSpec(userData: "#cloud-config\n")
        }
        #expect(result.map(\.field) == [
            "vcpus", "memory", "firmware", "machine", "cdrom", "networks[1].model", "graphics", "serial", "cloud_init",
        ])
        #expect(result.allSatisfy { $0.effect == .nextBoot })
        #expect(result.needsRestart)
        #expect(result[1] == SpecChange(field: "memory", from: "2GiB", to: "4GiB", effect: .nextBoot))
        #expect(result[6].to == "vnc on broker")
        #expect(result[8].note?.contains("instance-id") == true)
    }

    /// No TPM can be added to or removed from a running machine: both wait for the next boot, and
    /// say what becomes of the TPM's state.
    @Test func turningTheTPMOnOrOffWaitsForTheNextBootAndKeepsItsState() throws {
        let on = changes { $0.tpm = true }
        #expect(on.map(\.field) == ["tpm"])
        #expect(on[0].from == "false" && on[0].to == "true")
        #expect(on[0].effect == .nextBoot)
        #expect(on.needsRestart && on.refused.isEmpty)
        #expect(try #require(on[0].note).contains("new, empty TPM"))

        var withTPM = baseSpec
        withTPM.tpm = true
        let off = SpecChanges.between(current: withTPM, desired: baseSpec)
        #expect(off.map(\.field) == ["tpm"])
        #expect(off[0].effect == .nextBoot)
        #expect(try #require(off[0].note).contains("kept until the machine is deleted"))
        #expect(SpecChanges.between(current: withTPM, desired: withTPM).isEmpty)
    }

    /// A display an earlier version put on loopback shows as a change to the broker's, not as nothing.
    @Test func aLoopbackDisplayMovesToTheBrokerAtTheNextBoot() {
        var current = baseSpec
        current.graphics = GraphicsSpec(type: .vnc, listen: .unsupported("127.0.0.1"))
        var desired = baseSpec
        desired.graphics = GraphicsSpec(type: .vnc)
        #expect(
            SpecChanges.between(current: current, desired: desired) == [
                SpecChange(field: "graphics", from: "vnc on 127.0.0.1", to: "vnc on broker", effect: .nextBoot)
            ])
    }

    @Test func addingAndGrowingDisksWaitForTheNextBoot() {
        let result = changes {
            $0.disks[0].size = .gibibytes(40)
            $0.disks[0].bus = .sata
            $0.disks[1].size = .gibibytes(30)
            $0.disks.append(DiskSpec(name: "logs", size: .gibibytes(5)))
            $0.networks.append(NicSpec(network: "lab"))
        }
        #expect(result.map(\.field) == ["disks[0].size", "disks[0].bus", "disks[1].size", "disks[2]", "networks[2]"])
        #expect(result.allSatisfy { $0.effect == .nextBoot })
        #expect(result[0].from == "20GiB" && result[0].to == "40GiB")
        #expect(result[3].note == "a new volume web1-logs.qcow2 is created")
        #expect(result.refused.isEmpty)
    }

    @Test func removingADiskKeepsItsVolume() throws {
        let result = changes { $0.disks.removeLast() }
        let removal = try #require(result.first)
        #expect(result.count == 1)
        #expect(removal.field == "disks")
        #expect(removal.to == nil)
        #expect(removal.effect == .nextBoot)
        #expect(removal.note?.contains("web1-data.qcow2 is kept") == true)
    }

    @Test func changesThatWouldDiscardDataAreRefused() throws {
        let shrink = changes { $0.disks[0].size = .gibibytes(10) }
        #expect(shrink.count == 1)
        guard case .refused(let reason) = try #require(shrink.first).effect else {
            Issue.record("shrinking was not refused")
            return
        }
        #expect(reason.contains("shrinking a disk would discard"))
        #expect(reason.contains("size: 20GiB"))

        let retemplate = changes { $0.disks[1].template = "ubuntu-24.04" }
        #expect(retemplate.map(\.field) == ["disks[1].template"])
        #expect(retemplate.refused.count == 1)

        let repool = changes { $0.disks[0].pool = "fast" }
        #expect(repool.refused.map(\.field) == ["disks[0].pool"])

        let unsized = SpecChanges.between(
            current: { var spec = baseSpec; spec.disks[1].size = .gibibytes(30); return spec }(), desired: baseSpec
        )
        #expect(unsized.refused.map(\.field) == ["disks[1].size"])

        let renamed = changes { $0.name = "web2" }
        #expect(renamed.refused.map(\.field) == ["name"])
    }

    @Test func disksAreMatchedByNameNotPosition() {
        let result = changes { $0.disks.reverse() }
        #expect(result.isEmpty)
    }

    @Test func changesSurviveTheWire() throws {
        let list = [
            SpecChange(field: "disks[0].size", from: "20GiB", to: "10GiB", effect: .refused(reason: "no")),
            SpecChange(field: "disks", from: "data", to: nil, effect: .nextBoot, note: "kept"),
            SpecChange(field: "tags", from: "[]", to: "[a]", effect: .immediate),
        ]
        let data = try JSONEncoder().encode(list)
        #expect(try JSONDecoder().decode([SpecChange].self, from: data) == list)
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(list[0])) as? [String: String]
        #expect(object == ["field": "disks[0].size", "from": "20GiB", "to": "10GiB", "effect": "refused", "reason": "no"])
    }
}
