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
