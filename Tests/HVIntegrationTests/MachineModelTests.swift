import Foundation
import HVTestSupport
import Testing

/// The VM model end to end on real libvirt and a TCG guest: specs, networks, snapshots, templates,
/// linked clones and quotas, driven by users through `hv` only.
extension ZeroTrustTests {
    static let network = "hv-it-nat"
    static let machine = "hv-it-spec"

    /// A spec file the operator can read, in a fresh world-readable directory.
    func writeSpec(_ stack: Stack, _ text: String, name: String) throws -> String {
        let directory = stack.base + "/specs"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        return path
    }

    func spec(_ stack: Stack, name: String, vcpus: Int = 1) -> String {
        """
        name: \(name)
        description: Two disks, a NAT network and an ISO from the library
        tags: [hv-it]
        vcpus: \(vcpus)
        memory: 256MiB
        disks:
          - {name: root, size: 1GiB, bus: virtio}
          - {name: data, size: 2GiB, bus: sata}
        cdrom: \(stack.isoName)
        networks:
          - {network: \(Self.network), model: virtio}
        serial: true
        """
    }

    func clean(_ stack: Stack, _ names: [String]) {
        for name in names {
            _ = try? stack.hv(["vm", "kill", name], as: Stack.adminUser)
            _ = try? stack.hv(["vm", "delete", name, "--remove-disks"], as: Stack.adminUser)
        }
    }

    func waitForConsole(_ stack: Stack, _ name: String, containing needles: [String]) throws -> (Bool, String) {
        var console = ""
        let seen = try waitUntil(180, every: 2) {
            console = try stack.hv(["vm", "log", name], as: Stack.operatorUser).stdout
            return needles.allSatisfy(console.contains)
        }
        return (seen, console)
    }

    @Test func specWithTwoDisksNatAndIsoBootsSnapshotsAndClones() async throws {
        try withStack { stack in
            let clone = Self.machine + "-clone"
            clean(stack, [clone, Self.machine])
            _ = try? stack.hv(["net", "delete", Self.network], as: Stack.adminUser)

            // Networks are host infrastructure: operators may not create them, admins may.
            let denied = try stack.hv(["net", "create", Self.network, "--address", "10.213.7.1/24"], as: Stack.operatorUser)
            #expect(denied.status == 4 && denied.stderr.contains("hypervisor-admins"), "\(denied)")
            let net = try stack.hv(["net", "create", Self.network, "--address", "10.213.7.1/24"], as: Stack.adminUser)
            #expect(net.status == 0, "\(net)")
            #expect(try stack.hv(["net", "list"], as: Stack.viewerUser).stdout.contains("10.213.7.1/24"))

            let file = try writeSpec(stack, spec(stack, name: Self.machine), name: "machine.yaml")
            let applied = try stack.hv(["vm", "apply", file], as: Stack.operatorUser)
            #expect(applied.status == 0, "\(applied)")
            let again = try stack.hv(["vm", "apply", file], as: Stack.operatorUser)
            #expect(again.status == 0 && again.stdout.contains("nothing to do"), "\(again)")

            // The guest sees both disks at their sizes in 512-byte sectors: 1 GiB virtio, 2 GiB SATA.
            #expect(try stack.hv(["vm", "start", Self.machine], as: Stack.operatorUser).status == 0)
            let (booted, console) = try waitForConsole(stack, Self.machine, containing: [Stack.marker, "HV-DISK vda 2097152", "HV-DISK sda 4194304"])
            #expect(booted, "the guest did not report both disks:\n\(console)")
            let leases = try stack.hv(["net", "leases", Self.machine], as: Stack.viewerUser)
            #expect(leases.status == 0, "\(leases)")

            // A running machine is never destroyed by apply: the change waits for the next boot.
            let bigger = try writeSpec(stack, spec(stack, name: Self.machine, vcpus: 2), name: "bigger.yaml")
            let changed = try stack.hv(["vm", "apply", bigger], as: Stack.operatorUser)
            #expect(changed.status == 0 && changed.stdout.contains("at next boot") && changed.stdout.contains("restart"), "\(changed)")
            #expect(try stack.hv(["vm", "info", Self.machine, "--json"], as: Stack.operatorUser).stdout.contains("\"state\" : \"running\""))

            // Snapshot, change, revert: the snapshot's definition (1 vCPU) and running state come back.
            let snapshot = try stack.hv(["snapshot", "create", Self.machine, "booted", "--description", "after first boot"], as: Stack.operatorUser)
            #expect(snapshot.status == 0, "\(snapshot)")
            #expect(try stack.hv(["vm", "kill", Self.machine], as: Stack.operatorUser).status == 0)
            #expect(try stack.hv(["vm", "info", Self.machine, "--json"], as: Stack.operatorUser).stdout.contains("\"vcpus\" : 2"))
            let reverted = try stack.hv(["snapshot", "revert", Self.machine, "booted"], as: Stack.operatorUser)
            #expect(reverted.status == 0, "\(reverted)")
            let restored = try stack.hv(["vm", "info", Self.machine, "--json"], as: Stack.operatorUser).stdout
            #expect(restored.contains("\"state\" : \"running\"") && restored.contains("\"vcpus\" : 1"), "\(restored)")
            let tree = try stack.hv(["snapshot", "list", Self.machine], as: Stack.viewerUser)
            #expect(tree.stdout.contains("booted") && tree.stdout.contains("(current)"), "\(tree)")
            #expect(try stack.hv(["snapshot", "delete", Self.machine, "booted"], as: Stack.operatorUser).status == 0)

            // A template never starts again; a linked clone of it boots from overlays.
            #expect(try stack.hv(["vm", "kill", Self.machine], as: Stack.operatorUser).status == 0)
            let template = try stack.hv(["vm", "template", Self.machine], as: Stack.operatorUser)
            #expect(template.status == 0, "\(template)")
            #expect(try stack.hv(["vm", "start", Self.machine], as: Stack.operatorUser).status == 6)
            let cloned = try stack.hv(["vm", "clone", Self.machine, clone, "--linked"], as: Stack.operatorUser)
            #expect(cloned.status == 0, "\(cloned)")
            let volumes = try stack.hv(["pool", "volumes", "--json"], as: Stack.viewerUser).stdout
            #expect(volumes.contains("\"backingTemplate\" : \"\(Self.machine)-root.qcow2\""), "\(volumes)")
            #expect(try stack.hv(["vm", "start", clone], as: Stack.operatorUser).status == 0)
            let (cloneBooted, cloneConsole) = try waitForConsole(stack, clone, containing: [Stack.marker, "HV-DISK vda 2097152"])
            #expect(cloneBooted, "the linked clone did not boot:\n\(cloneConsole)")
            // The template's disks can't be removed from under the clone.
            let early = try stack.hv(["vm", "delete", Self.machine, "--remove-disks"], as: Stack.operatorUser)
            #expect(early.status == 6 && early.stderr.contains("base of"), "\(early)")

            let exported = try stack.hv(["vm", "export", clone], as: Stack.viewerUser)
            #expect(exported.status == 0 && exported.stdout.contains("template: \(Self.machine)-root.qcow2"), "\(exported)")

            clean(stack, [clone, Self.machine])
            #expect(try stack.hv(["net", "delete", Self.network], as: Stack.adminUser).status == 0)
            let audit = try String(contentsOfFile: stack.auditLog, encoding: .utf8)
            for action in ["vm.apply", "vm.template", "vm.clone", "snapshot.create", "snapshot.revert", "network.create", "vm.export"] {
                #expect(audit.contains("\"org.hypernixos.\(action)\""), "no audit record for \(action)")
            }
        }
    }

    @Test func quotasAndPolicyRefuseWithTheLimitNamed() async throws {
        try withStack { stack in
            let huge = try writeSpec(stack, spec(stack, name: "hv-it-huge", vcpus: 4).replacingOccurrences(of: "network: \(Self.network)", with: "network: default"), name: "huge.yaml")
            let refused = try stack.hv(["vm", "apply", huge], as: Stack.operatorUser)
            #expect(refused.status == 6 && refused.stderr.contains("limits.vcpus"), "\(refused)")
            let bridged = try writeSpec(
                stack,
                """
                name: hv-it-bridged
                vcpus: 1
                memory: 128MiB
                disks: [{name: root, size: 1GiB}]
                networks: [{bridge: br-nope}]
                """, name: "bridged.yaml"
            )
            let bridge = try stack.hv(["vm", "apply", bridged], as: Stack.operatorUser)
            #expect(bridge.status == 2 && bridge.stderr.contains("networks[0].bridge"), "\(bridge)")
            let typo = try writeSpec(stack, "name: hv-it-typo\nvcpus: 1\nmemory: 128MiB\ndisks: [{name: root, sise: 1GiB}]\n", name: "typo.yaml")
            let typoResult = try stack.hv(["vm", "apply", typo], as: Stack.operatorUser)
            #expect(typoResult.status == 2 && typoResult.stderr.contains("disks[0].sise") && typoResult.stderr.contains("size"), "\(typoResult)")
            #expect(try stack.hv(["vm", "info", "hv-it-huge"], as: Stack.operatorUser).status == 3, "a refused spec leaves nothing behind")
        }
    }

    static let authorizationCases: [([String], String, Int32)] = [
        (["pool", "list"], Stack.viewerUser, 0), (["net", "list"], Stack.viewerUser, 0), (["iso", "list"], Stack.viewerUser, 0),
        (["vm", "export", "hv-it-none"], Stack.viewerUser, 3), (["snapshot", "list", "hv-it-none"], Stack.viewerUser, 3),
        (["snapshot", "create", "hv-it-none", "s"], Stack.viewerUser, 4), (["pool", "create-volume", "hv-it-v", "--size", "1GiB"], Stack.viewerUser, 4),
        (["vm", "clone", "hv-it-none", "hv-it-x"], Stack.viewerUser, 4), (["iso", "remove", "hv-it-none.iso"], Stack.viewerUser, 4),
        (["snapshot", "create", "hv-it-none", "s"], Stack.operatorUser, 3), (["net", "stop", "default"], Stack.operatorUser, 4),
        (["net", "autostart", "hv-it-none", "on"], Stack.adminUser, 3),
        (["pool", "list"], Stack.strangerUser, 4), (["net", "list"], Stack.strangerUser, 4), (["iso", "list"], Stack.strangerUser, 4),
        (["vm", "export", "x"], Stack.strangerUser, 4), (["snapshot", "list", "x"], Stack.strangerUser, 4),
        (["net", "leases", "x"], Stack.strangerUser, 4), (["pool", "volumes"], Stack.strangerUser, 4),
        // Host-level actions are the administrators' alone.
        (["vm", "pin", "hv-it-none", "0=0"], Stack.viewerUser, 4), (["host", "autostart"], Stack.viewerUser, 4),
        (["vm", "hugepages", "hv-it-none", "on"], Stack.operatorUser, 4),
        (["vm", "passthrough", "hv-it-none", "--usb", "046d:c52b"], Stack.operatorUser, 4),
        (["vm", "pin", "hv-it-none", "0=0"], Stack.operatorUser, 4), (["host", "autostart"], Stack.strangerUser, 4),
        (["vm", "hugepages", "hv-it-none", "on"], Stack.strangerUser, 4), (["vm", "passthrough", "x", "--clear"], Stack.strangerUser, 4),
        (["vm", "pin", "hv-it-none", "0=0"], Stack.adminUser, 3), (["vm", "hugepages", "hv-it-none", "off"], Stack.adminUser, 3),
        (["vm", "passthrough", "hv-it-none", "--clear"], Stack.adminUser, 3),
    ]

    @Test(arguments: authorizationCases)
    func newOperationsFollowTheGroups(arguments: [String], user: String, expected: Int32) throws {
        try withStack { stack in
            let result = try stack.hv(arguments, as: user)
            #expect(result.status == expected, "\(user): hv \(arguments.joined(separator: " ")) → \(result)")
        }
    }
}
