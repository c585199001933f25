import Foundation
import HVTestSupport
import Testing

/// Ordered autostart and the admin-only host features on real libvirt, through `hv` only.
extension ZeroTrustTests {
    func autostartSpec(_ name: String, order: Int) -> String {
        """
        name: \(name)
        vcpus: 1
        memory: 128MiB
        disks: [{name: root, size: 1GiB}]
        autostart: {enabled: true, order: \(order)}
        """
    }

    @Test func autostartStartsSpecMachinesInOrderAndHostFeaturesAreAdminOnly() async throws {
        try withStack { stack in
            let names = ["hv-it-auto-late", "hv-it-auto-early"]
            clean(stack, names)
            defer { clean(stack, names) }
            for (name, order) in zip(names, [20, 10]) {
                let file = try writeSpec(stack, autostartSpec(name, order: order), name: "\(name).yaml")
                let applied = try stack.hv(["vm", "apply", file], as: Stack.operatorUser)
                #expect(applied.status == 0, "\(applied)")
            }
            // libvirt's own (unordered) autostart stays off; the broker reports the spec's.
            for name in names {
                let flag = try run(["virsh", "-c", "qemu:///system", "dominfo", name])
                #expect(flag.stdout.contains("Autostart:      disable"), "\(flag)")
            }
            let info = try stack.hv(["vm", "info", "hv-it-auto-late"], as: Stack.viewerUser)
            #expect(info.stdout.contains("autostart: yes, order 20"), "\(info)")

            // Operators may not run the boot-time start; admins may, and it goes in order.
            let denied = try stack.hv(["host", "autostart"], as: Stack.operatorUser)
            #expect(denied.status == 4 && denied.stderr.contains("hypervisor-admins"), "\(denied)")
            let started = try stack.hv(["host", "autostart", "--json"], as: Stack.adminUser)
            #expect(started.status == 0, "\(started)")
            let results = try JSONDecoder().decode([[String: AnyCodableValue]].self, from: Data(started.stdout.utf8))
            let ours = results.filter { names.contains($0["name"]?.text ?? "") }
            #expect(ours.map { $0["name"]?.text } == ["hv-it-auto-early", "hv-it-auto-late"], "\(started)")
            #expect(ours.allSatisfy { $0["result"]?.text == "started" }, "\(started)")
            for name in names {
                #expect(try stack.hv(["vm", "info", name], as: Stack.viewerUser).stdout.contains("state:     running"))
            }
            let audit = try String(contentsOfFile: stack.auditLog, encoding: .utf8)
            #expect(audit.contains("\"org.hypernixos.host.autostart\""), "the call is in the audit log")

            // Host features: operators are refused; admins get checked against this host.
            let pinDenied = try stack.hv(["vm", "pin", "hv-it-auto-late", "0=0"], as: Stack.operatorUser)
            #expect(pinDenied.status == 4, "\(pinDenied)")
            let pinned = try stack.hv(["vm", "pin", "hv-it-auto-late", "0=0"], as: Stack.adminUser)
            #expect(pinned.status == 0 && pinned.stdout.contains("cpu pins 0=0") && pinned.stdout.contains("next start"), "\(pinned)")
            let xml = try run(["virsh", "-c", "qemu:///system", "dumpxml", "--inactive", "hv-it-auto-late"])
            #expect(xml.stdout.contains("<vcpupin vcpu='0' cpuset='0'/>"), "\(xml)")
            let offline = try stack.hv(["vm", "pin", "hv-it-auto-late", "0=4000"], as: Stack.adminUser)
            #expect(offline.status == 2 && offline.stderr.contains("is not online"), "\(offline)")
            let reapplied = try stack.hv(["vm", "apply", try writeSpec(stack, autostartSpec("hv-it-auto-late", order: 5), name: "late.yaml")], as: Stack.operatorUser)
            #expect(reapplied.status == 0, "\(reapplied)")
            #expect(try run(["virsh", "-c", "qemu:///system", "dumpxml", "--inactive", "hv-it-auto-late"]).stdout.contains("<vcpupin"), "apply keeps the pins")
        }
    }
}

/// A JSON value read loosely, for checking `--json` output.
enum AnyCodableValue: Decodable {
    case string(String), number(Double), other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) { self = .string(text) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else { self = .other }
    }

    var text: String? { if case .string(let text) = self { text } else { nil } }
}
