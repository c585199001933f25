import Foundation
import HVAudit
import HVTestSupport
import Testing

/// The zero-trust core end to end: real polkitd, real libvirtd, a real TCG guest, users in each
/// group talking to the broker through `hv` only.
@Suite(.serialized, .enabled(if: Environment.enabled))
struct ZeroTrustTests {
    let operatorUser = Stack.operatorUser

    @Test func operatorRunsARealGuest() async throws {
        try withStack { stack in
            let name = "hv-it-guest"
            _ = try? stack.hv(["vm", "kill", name], as: operatorUser)
            _ = try? stack.hv(["vm", "delete", name, "--remove-disks"], as: operatorUser)

            let created = try stack.hv(
                ["vm", "create", name, "--vcpus", "1", "--memory", "256M", "--disk", "1G", "--iso", stack.isoName], as: operatorUser
            )
            #expect(created.status == 0, "\(created)")
            let info = try stack.hv(["vm", "info", name, "--json"], as: operatorUser)
            #expect(info.status == 0, "\(info)")
            let details = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any]
            #expect(details?["domainType"] as? String == "qemu", "KVM is not usable here, so the broker must pick TCG")
            #expect(!info.stdout.contains(stack.stateDirectory), "clients see image names, never host paths")

            let started = try stack.hv(["vm", "start", name], as: operatorUser)
            #expect(started.status == 0, "\(started)")

            // The guest prints its marker and the disks it sees on the serial console.
            var console = ""
            let booted = try waitUntil(180, every: 2) {
                console = try stack.hv(["vm", "log", name], as: operatorUser).stdout
                return console.contains(Stack.marker) && console.contains("HV-DISK vda")
            }
            #expect(booted, "no marker on the serial console; it showed:\n\(console)")

            let list = try stack.hv(["vm", "list", "--json"], as: operatorUser)
            let vms = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
            #expect(vms?.contains { $0["name"] as? String == name && $0["state"] as? String == "running" } == true, "\(list)")

            // Deleting a running machine is refused; it stays as it was.
            let early = try stack.hv(["vm", "delete", name], as: operatorUser)
            #expect(early.status == 6, "\(early)")

            let stopped = try stack.hv(["vm", "stop", name, "--wait", "90"], as: operatorUser)
            #expect(stopped.status == 0, "\(stopped)")
            #expect(try stack.hv(["vm", "log", name], as: operatorUser).stdout.contains("HV-POWEROFF"))

            let deleted = try stack.hv(["vm", "delete", name, "--remove-disks"], as: operatorUser)
            #expect(deleted.status == 0, "\(deleted)")
            #expect(deleted.stdout.contains("\(name)-disk0.qcow2"))
            #expect(!FileManager.default.fileExists(atPath: stack.stateDirectory + "/images/\(name)-disk0.qcow2"))
            #expect(try stack.hv(["vm", "info", name], as: operatorUser).status == 3)
        }
    }

    @Test func viewerReadsButCannotStart() async throws {
        try withStack { stack in
            let listed = try stack.hv(["vm", "list"], as: Stack.viewerUser)
            #expect(listed.status == 0, "\(listed)")
            #expect(try stack.hv(["host", "info"], as: Stack.viewerUser).status == 0)

            let created = try stack.hv(["vm", "create", "hv-it-denied"], as: Stack.viewerUser)
            #expect(created.status == 4, "\(created)")
            let start = try stack.hv(["vm", "start", "anything"], as: Stack.viewerUser)
            #expect(start.status == 4, "\(start)")
            #expect(start.stderr.contains("org.hypernixos.vm.start"), "the denial names the action")
            #expect(start.stderr.contains("hypervisor-operators"), "the denial names the group that grants it")
        }
    }

    @Test(arguments: [
        ["host", "info"], ["vm", "list"], ["vm", "info", "x"], ["vm", "create", "x"], ["vm", "start", "x"],
        ["vm", "stop", "x"], ["vm", "reboot", "x"], ["vm", "kill", "x"], ["vm", "delete", "x"],
        ["vm", "delete", "x", "--remove-disks"], ["vm", "log", "x"], ["audit", "verify"], ["health"],
    ])
    func strangerIsDeniedEverything(arguments: [String]) async throws {
        try withStack { stack in
            let output = try stack.hv(arguments, as: Stack.strangerUser)
            #expect(output.status == 4, "\(output)")
            #expect(output.stderr.contains("not authorized"))
        }
    }

    @Test func hostInfoTellsWhetherKVMIsUsable() async throws {
        try withStack { stack in
            let output = try stack.hv(["host", "info", "--json"], as: Stack.viewerUser)
            let host = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
            let kvm = host?["kvm"] as? [String: Any]
            #expect(kvm?["usable"] is Bool)
            #expect((kvm?["reason"] as? String)?.isEmpty == false)
            #expect(host?["domainType"] as? String == ((kvm?["usable"] as? Bool) == true ? "kvm" : "qemu"))
        }
    }

    /// Viewers may run the health checks; `hv health` merges the broker's with its own.
    @Test func viewerRunsTheHealthChecks() async throws {
        try withStack { stack in
            let output = try stack.hv(["health", "--json"], as: Stack.viewerUser)
            let checks = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]], "\(output)")
            let status = Dictionary(checks.map { ($0["id"] as? String ?? "", $0["status"] as? String ?? "") }) { first, _ in first }
            #expect(status["libvirtd"] == "ok", "\(output)")
            #expect(status["broker"] == "ok", "\(output)")
            // polkitd 121 and 122 (Debian 12's) have a known 15 s stall, which the check names.
            let polkitd = try run(["/usr/bin/pkaction", "--version"]).stdout
            let stalls = polkitd.contains(" 121") || polkitd.contains(" 122")
            #expect(status["polkit"] == (stalls ? "warning" : "ok"), "polkitd \(polkitd): \(output)")
            if stalls {
                #expect(output.stdout.contains("15 s"), "the warning names the stall: \(output)")
            }
            #expect(status["audit"] == "ok", "\(output)")
            let pools = try run(["/usr/bin/virsh", "-c", "qemu:///system", "pool-list", "--all", "--name"]).stdout
                .split(separator: "\n").map { "pool:" + $0.trimmingCharacters(in: .whitespaces) }.filter { $0 != "pool:" }
            #expect(Set(status.keys.filter { $0.hasPrefix("pool:") }) == Set(pools), "one check per libvirt pool: \(output)")
            #expect(status["kvm"] != nil && status["clock"] != nil && status["autostart"] != nil, "\(output)")
            let failing = status.values.contains { $0 == "critical" || $0 == "unknown" }
            #expect(output.status == (failing ? 1 : 0), "exit 1 exactly when a check is critical or unknown: \(output)")

            let table = try stack.hv(["health"], as: Stack.viewerUser)
            #expect(table.stdout.contains("STATUS") && table.stdout.contains("libvirtd"), "\(table)")
        }
    }

    /// Host.Stats and Host.Health through a third-party Varlink client: the viewer gets them, the
    /// stranger is refused by polkit.
    @Test func hostStatsForViewersOnly() async throws {
        try withStack { stack in
            let script = """
                import json, sys, varlink
                with varlink.Client("unix:\(stack.socket)") as client:
                    with client.open("org.hypernixos.Host") as host:
                        try:
                            stats = host.Stats()
                            health = host.Health()
                            print(json.dumps({"pools": [p["name"] for p in stats["pools"]], "domains": len(stats["domains"]),
                                              "checks": [c["id"] for c in health["checks"]]}))
                        except varlink.VarlinkError as error:
                            print(error.error())
                            sys.exit(4)
                """
            let environment = ["PYTHONPATH": stack.base + "/py"]
            let viewer = try run(["/usr/bin/python3", "-c", script], as: Stack.viewerUser, environment: environment)
            #expect(viewer.status == 0, "\(viewer)")
            let reply = try JSONSerialization.jsonObject(with: Data(viewer.stdout.utf8)) as? [String: Any]
            let pools = try run(["/usr/bin/virsh", "-c", "qemu:///system", "pool-list", "--all", "--name"]).stdout
                .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            #expect(Set(reply?["pools"] as? [String] ?? []) == Set(pools), "the same pools as virsh: \(viewer)")
            #expect((reply?["checks"] as? [String])?.contains("libvirtd") == true, "\(viewer)")

            let stranger = try run(["/usr/bin/python3", "-c", script], as: Stack.strangerUser, environment: environment)
            #expect(stranger.status == 4, "\(stranger)")
            #expect(stranger.stdout.contains("org.hypernixos.Host.PermissionDenied"), "\(stranger)")
        }
    }

    /// A client the project did not write speaks to the same socket.
    @Test func thirdPartyVarlinkClientListsMachines() async throws {
        try withStack { stack in
            let script = """
                import json, varlink
                with varlink.Client("unix:\(stack.socket)") as client:
                    assert "org.hypernixos.Vm" in client.get_interfaces()
                    with client.open("org.hypernixos.Vm") as vm:
                        print(json.dumps(vm.List()))
                """
            let output = try run(["/usr/bin/python3", "-c", script], as: Stack.viewerUser, environment: ["PYTHONPATH": stack.base + "/py"])
            #expect(output.status == 0, "\(output)")
            #expect(output.stdout.contains("\"vms\""))
        }
    }

    /// The lessons: operators get no libvirt socket, no host paths, no shell.
    @Test func operatorCannotReachLibvirtOrTheHost() async throws {
        try withStack { stack in
            let virsh = try run(["/usr/bin/virsh", "-c", "qemu:///system", "list", "--all"], as: operatorUser)
            #expect(virsh.status != 0, "an operator must not manage libvirt directly: \(virsh)")

            let shadow = try stack.hv(["vm", "create", "hv-it-x", "--iso", "../../../etc/shadow"], as: operatorUser)
            #expect(shadow.status == 2, "\(shadow)")
            let injected = try stack.hv(["vm", "create", "$(touch /tmp/hv-it-pwned)"], as: operatorUser)
            #expect(injected.status == 2, "\(injected)")
            #expect(!FileManager.default.fileExists(atPath: "/tmp/hv-it-pwned"))
            let missing = try stack.hv(["vm", "create", "hv-it-noiso", "--iso", "absent.iso"], as: operatorUser)
            #expect(missing.status == 3, "\(missing)")
            #expect(try stack.hv(["vm", "info", "hv-it-noiso"], as: operatorUser).status == 3, "a failed create leaves nothing")
        }
    }

    @Test func missingSocketSaysHowToStartTheBroker() async throws {
        try withStack { stack in
            let output = try run([stack.bin + "/hv", "vm", "list"], as: Stack.viewerUser, environment: ["HV_SOCKET": "/nonexistent/broker.sock"])
            #expect(output.status == 5)
            #expect(output.stderr.contains("does not exist"))
            #expect(output.stderr.contains("hv-broker.socket"))
        }
    }

    /// Every request is in the audit log; the chain verifies, and breaks where a line is edited.
    @Test func auditLogRecordsRequestsAndDetectsEdits() async throws {
        try withStack { stack in
            let marker = "hv-it-audit-\(UUID().uuidString.prefix(6))"
            _ = try stack.hv(["vm", "info", marker], as: Stack.viewerUser)
            _ = try stack.hv(["vm", "start", marker], as: Stack.strangerUser)

            let records = try String(contentsOfFile: stack.auditLog, encoding: .utf8).split(separator: "\n")
                .map { try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8)) }
            let viewerUID = UInt32(try run(["/usr/bin/id", "-u", Stack.viewerUser]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            let strangerUID = UInt32(try run(["/usr/bin/id", "-u", Stack.strangerUser]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            let info = records.first { $0.target == marker && $0.method == "org.hypernixos.Vm.Info" }
            #expect(info?.uid == viewerUID && info?.decision == "allowed" && info?.result == "org.hypernixos.Vm.NotFound")
            #expect(info?.executable.hasSuffix("/hv") == true)
            let start = records.first { $0.target == marker && $0.method == "org.hypernixos.Vm.Start" }
            #expect(start?.uid == strangerUID && start?.decision == "denied" && start?.action == "org.hypernixos.vm.start")

            let intact = try stack.hv(["audit", "verify"], as: Stack.adminUser)
            #expect(intact.status == 0, "\(intact)")
            #expect(intact.stdout.contains("intact"))
            #expect(try stack.hv(["audit", "verify"], as: operatorUser).status == 4, "only admins verify the audit log")

            // Edit one line, as someone covering their tracks would.
            var lines = try String(contentsOfFile: stack.auditLog, encoding: .utf8).components(separatedBy: "\n")
            let index = try #require(lines.firstIndex { $0.contains(marker) && $0.contains("\"denied\"") })
            let genuine = lines[index]
            lines[index] = genuine.replacingOccurrences(of: "\"denied\"", with: "\"allowed\"")
            try lines.joined(separator: "\n").write(toFile: stack.auditLog, atomically: false, encoding: .utf8)
            defer {
                // Put the genuine line back, keeping whatever the broker appended meanwhile.
                if var current = try? String(contentsOfFile: stack.auditLog, encoding: .utf8).components(separatedBy: "\n") {
                    current[index] = genuine
                    try? current.joined(separator: "\n").write(toFile: stack.auditLog, atomically: false, encoding: .utf8)
                }
            }

            let broken = try stack.hv(["audit", "verify"], as: Stack.adminUser)
            #expect(broken.status == 1, "\(broken)")
            #expect(broken.stdout.contains("line \(index + 1)"))
        }
    }
}
