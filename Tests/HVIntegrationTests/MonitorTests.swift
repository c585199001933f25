import Foundation
import HVTestSupport
import Testing

/// The monitor end to end, in the serialized zero-trust suite (another test there restarts
/// libvirtd): hv-monitor as an unprivileged viewer, a real TCG guest, a real webhook receiver.
extension ZeroTrustTests {
    @Test func monitorExportsAGuestAndAlertsWhenItDies() async throws {
        try withMonitor { monitor in
            let name = "hv-it-mon"
            let vm = ["vm": name]
            defer {
                _ = try? monitor.stack.hv(["vm", "kill", name], as: operatorUser)
                _ = try? monitor.stack.hv(["vm", "delete", name, "--remove-disks"], as: operatorUser)
            }
            let created = try monitor.stack.hv(
                ["vm", "create", name, "--vcpus", "1", "--memory", "256M", "--disk", "1G", "--iso", monitor.stack.isoName],
                as: operatorUser
            )
            try #require(created.status == 0, "\(created)")
            try #require(try monitor.stack.hv(["vm", "start", name], as: operatorUser).status == 0)

            // The guest's CPU time, read with the Prometheus reference parser, rises between scrapes.
            var first: Double?
            #expect(waitUntil(30, every: 0.5) { first = try? monitor.value("hv_vm_cpu_seconds_total", labels: vm); return first != nil })
            Thread.sleep(forTimeInterval: Double(3 * MonitorStack.interval))
            let second = try #require(try monitor.value("hv_vm_cpu_seconds_total", labels: vm))
            #expect(second > (first ?? .infinity), "cpu seconds \(String(describing: first)) then \(second)")
            #expect(try monitor.value("hv_vm_up", labels: vm) == 1)
            #expect(try monitor.value("hv_vm_state", labels: ["vm": name, "state": "running"]) == 1)
            #expect(try monitor.value("hv_monitor_broker_up") == 1)

            // Kill QEMU behind libvirt's back: the "stopped unexpectedly" alert reaches both webhooks
            // within two collection cycles.
            let before = try #require(try monitor.value("hv_monitor_collections_total"))
            let killed = try run(["/usr/bin/pkill", "-KILL", "-f", "guest=\(name),"])
            try #require(killed.status == 0, "no QEMU process for \(name): \(killed)")
            func alerted() -> [[String: Any]] {
                monitor.webhooks().filter { hook in
                    guard let body = hook["body"] as? [String: Any] else { return false }
                    let text = String(decoding: (try? JSONSerialization.data(withJSONObject: body)) ?? Data(), as: UTF8.self)
                    return text.contains("vm-stopped-unexpectedly") && text.contains(name)
                }
            }
            #expect(waitUntil(30, every: 0.2) { alerted().count >= 2 }, "webhooks: \(monitor.webhooks())")
            let after = try #require(try monitor.value("hv_monitor_collections_total"))
            #expect(after - before <= 3, "the alert came \(after - before) cycles after the kill")
            #expect(Set(alerted().compactMap { $0["path"] as? String }) == ["/generic", "/slack"])
            #expect(try monitor.value("hv_vm_up", labels: vm) == 0)

            // Viewers read the alert history and the metric history; only operators silence.
            let list = try monitor.hv(["alerts", "list", "--json"], as: Stack.viewerUser)
            try #require(list.status == 0, "\(list)")
            #expect(list.stdout.contains("vm-stopped-unexpectedly") && list.stdout.contains("\"delivered\" : true"))
            let chart = try monitor.hv(["metrics", "show", name, "--since", "1h", "--metric", "cpu_usage_ratio"], as: Stack.viewerUser)
            #expect(chart.status == 0 && chart.stdout.contains("cpu_usage_ratio"), "\(chart)")
            let csv = try monitor.hv(["metrics", "show", "host", "--since", "1h", "--csv"], as: Stack.viewerUser)
            #expect(csv.status == 0 && csv.stdout.hasPrefix("target,metric,time_iso8601,value,min,max"), "\(csv)")
            #expect(try monitor.hv(["metrics", "show", "host"], as: Stack.strangerUser).status == 4)
            let denied = try monitor.hv(["alerts", "silence", "vm-stopped-unexpectedly", "--for", "1h"], as: Stack.viewerUser)
            #expect(denied.status == 4 && denied.stderr.contains("hypervisor-operators"), "\(denied)")
            let silenced = try monitor.hv(
                ["alerts", "silence", "vm-stopped-unexpectedly{vm=\"\(name)\"}", "--for", "1h", "--comment", "test"], as: operatorUser
            )
            #expect(silenced.status == 0, "\(silenced)")
            let listed = try monitor.hv(["alerts", "list"], as: Stack.viewerUser).stdout
            #expect(listed.contains("silences:") && listed.contains("vm-stopped-unexpectedly{vm=\"\(name)\"}"), "\(listed)")
        }
    }

    /// A deliberate `hv vm kill` and `hv vm delete`, back to back as a newcomer types them, raise no
    /// "stopped unexpectedly"; a machine that did die unexpectedly and is then deleted has its alert
    /// resolved, and the webhook is told why.
    @Test func killAndDeleteRaiseNothingAndADeletedMachinesAlertResolves() throws {
        try withMonitor { monitor in
            let killed = "hv-it-killed"
            let died = "hv-it-died"
            defer {
                for name in [killed, died] {
                    _ = try? monitor.stack.hv(["vm", "kill", name], as: operatorUser)
                    _ = try? monitor.stack.hv(["vm", "delete", name, "--remove-disks"], as: operatorUser)
                }
            }
            for name in [killed, died] {
                let created = try monitor.stack.hv(
                    [
                        "vm", "create", name, "--vcpus", "1", "--memory", "256M", "--disk", "1G",
                        "--iso", monitor.stack.isoName,
                    ],
                    as: operatorUser
                )
                try #require(created.status == 0, "\(created)")
                try #require(try monitor.stack.hv(["vm", "start", name], as: operatorUser).status == 0)
            }
            try #require(
                waitUntil(30, every: 0.5) {
                    [killed, died].allSatisfy { (try? monitor.value("hv_vm_up", labels: ["vm": $0])) == 1 }
                },
                "the monitor never saw both machines running"
            )
            /// The generic webhook's bodies about machine `name`, and those of one kind.
            func notes(_ name: String) -> [[String: Any]] {
                monitor.webhooks().filter { $0["path"] as? String == "/generic" }
                    .compactMap { $0["body"] as? [String: Any] }
                    .filter { ($0["labels"] as? [String: String])?["vm"] == name }
            }
            func notes(_ name: String, _ kind: String) -> [[String: Any]] {
                notes(name).filter { $0["kind"] as? String == kind }
            }
            func firing(_ name: String) throws -> [String] {
                let list = try monitor.hv(["alerts", "list", "--json"], as: Stack.viewerUser)
                try #require(list.status == 0, "\(list)")
                let reply = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any]
                return ((reply?["active"] as? [[String: Any]]) ?? []).filter { alert in
                    alert["rule"] as? String == "vm-stopped-unexpectedly"
                        && (alert["labels"] as? [String: String])?["vm"] == name
                }.compactMap { $0["key"] as? String }
            }

            // One machine killed and deleted at once, as an operator; the other's QEMU killed behind
            // libvirt's back, which is what "stopped unexpectedly" is for.
            let before = try #require(try monitor.value("hv_monitor_collections_total"))
            let kill = try monitor.stack.hv(["vm", "kill", killed], as: operatorUser)
            try #require(kill.status == 0, "\(kill)")
            let delete = try monitor.stack.hv(["vm", "delete", killed, "--remove-disks"], as: operatorUser)
            try #require(delete.status == 0, "\(delete)")
            let sigkill = try run(["/usr/bin/pkill", "-KILL", "-f", "guest=\(died),"])
            try #require(sigkill.status == 0, "no QEMU process for \(died): \(sigkill)")
            #expect(waitUntil(30, every: 0.2) { !notes(died, "firing").isEmpty }, "\(monitor.webhooks())")
            #expect(
                waitUntil(30, every: 0.5) { ((try? monitor.value("hv_monitor_collections_total")) ?? 0) >= before + 3 },
                "the monitor stopped collecting"
            )
            #expect(try firing(killed).isEmpty)
            #expect(notes(killed).isEmpty, "\(notes(killed))")
            #expect(try firing(died) == ["vm-stopped-unexpectedly{vm=\"\(died)\"}"])

            // Deleting the machine that died resolves its alert, saying why.
            let deleted = try monitor.stack.hv(["vm", "delete", died, "--remove-disks"], as: operatorUser)
            try #require(deleted.status == 0, "\(deleted)")
            #expect(waitUntil(30, every: 0.2) { !notes(died, "resolved").isEmpty }, "\(notes(died))")
            let resolved = notes(died, "resolved").first
            #expect(resolved?["reason"] as? String == "vm \(died) no longer exists", "\(String(describing: resolved))")
            #expect(try firing(died).isEmpty)
        }
    }

    /// The issue this closes: a user in no group, refused `hv vm list`, read every machine's name
    /// from `/metrics`. Now `/metrics` wants the token that only hypervisor-viewers can read.
    @Test func metricsNeedTheTokenThatOnlyViewersRead() throws {
        try withMonitor { monitor in
            let stranger = try monitor.fetch(as: Stack.strangerUser, tokenFile: nil)
            #expect(stranger.status == 401, "\(stranger)")
            #expect(!stranger.body.contains("hv_"), "\(stranger.body)")
            #expect(try run(["/bin/cat", monitor.tokenFile], as: Stack.strangerUser).status != 0)
            #expect(try monitor.fetch(as: Stack.strangerUser, tokenFile: "/dev/null").status == 401)

            let viewer = try monitor.fetch(as: Stack.viewerUser, tokenFile: monitor.tokenFile)
            #expect(viewer.status == 200, "\(viewer)")
            #expect(viewer.body.contains("\nhv_monitor_broker_up "), "\(viewer.body.prefix(500))")
        }
    }
}
