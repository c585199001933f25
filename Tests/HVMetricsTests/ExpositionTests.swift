import HVMetrics
import HVProtocol
import HVTestSupport
import Testing

@Suite struct ExpositionTests {
    /// Parses the text with the reference Python parser and prints `name labels value` per sample,
    /// sorted, so the test sees what a Prometheus client library sees.
    static let parser = """
        import json, sys
        import prometheus_client.parser as p
        out = []
        for family in p.text_string_to_metric_families(sys.stdin.read()):
            for s in family.samples:
                out.append(json.dumps([family.type, family.documentation, s.name, s.labels, s.value], sort_keys=True))
        print("\\n".join(sorted(out)))
        """

    func parse(_ text: String) throws -> [String] {
        let result = try run(["python3", "-c", Self.parser], input: text)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    func text(_ samples: [MetricSample]) -> String {
        String(decoding: Exposition.render(samples), as: UTF8.self)
    }

    @Test func fullSnapshotParsesWithTheReferenceParser() throws {
        let stats = Fixtures.stats([Fixtures.domain(), Fixtures.domain("db1", uuid: "x", state: "shutoff")])
        let previous = Snapshot(time: 1, host: Fixtures.host(), stats: stats, health: [])
        var samples = Snapshot(time: 16, host: Fixtures.host(user: 30), stats: stats, health: []).samples(
            previous: previous)
        samples.append(
            MetricSample(name: "hv_alerts_firing", labels: ["rule": "vm-down", "severity": "critical"], value: 1))
        samples.append(MetricSample(name: "hv_monitor_collections_total", value: 3))
        let parsed = try parse(text(samples))
        #expect(parsed.count == samples.count)
        #expect(
            parsed.contains(
                #"["counter", "CPU time the VM used since it started, in seconds.", "hv_vm_cpu_seconds_total", {"vm": "web1"}, 10.0]"#
            ))
        #expect(
            parsed.contains(
                #"["gauge", "Always 1; the state label carries the VM's libvirt state.", "hv_vm_state", {"state": "shutoff", "vm": "db1"}, 1.0]"#
            ))
        #expect(
            parsed.contains(
                #"["counter", "Collection cycles the monitor ran.", "hv_monitor_collections_total", {}, 3.0]"#))
        #expect(
            parsed.contains { $0.contains(#""hv_alerts_firing", {"rule": "vm-down", "severity": "critical"}, 1.0]"#) })
    }

    @Test func promtoolFindsNoLintProblems() throws {
        let stats = Fixtures.stats([Fixtures.domain(), Fixtures.domain("db1", uuid: "x", state: "shutoff")])
        let previous = Snapshot(time: 1, host: Fixtures.host(), stats: stats, health: [])
        let samples = Snapshot(time: 16, host: Fixtures.host(user: 30), stats: stats, health: []).samples(
            previous: previous)
        let result = try run(["promtool", "check", "metrics"], input: text(samples))
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test func typeAndHelpLines() {
        let output = text([
            MetricSample(name: "hv_host_cpu_seconds_total", labels: ["mode": "user"], value: 1.5),
            MetricSample(name: "hv_host_load1", value: 0.25),
        ])
        #expect(output.contains("# TYPE hv_host_cpu_seconds_total counter\n"))
        #expect(output.contains("# HELP hv_host_cpu_seconds_total CPU time the host spent in each mode"))
        #expect(output.contains("hv_host_cpu_seconds_total{mode=\"user\"} 1.5\n"))
        #expect(output.contains("# TYPE hv_host_load1 gauge\nhv_host_load1 0.25\n"))
    }

    @Test func labelValuesAreEscaped() throws {
        let labels = ["mountpoint": "/mnt/we\"ird\\name\nx", "device": "/dev/vdc", "fstype": "btrfs"]
        let output = text([MetricSample(name: "hv_host_filesystem_size_bytes", labels: labels, value: 42)])
        #expect(output.contains(#"mountpoint="/mnt/we\"ird\\name\nx""#))
        let parsed = try parse(output)
        #expect(parsed.contains { $0.contains(#""mountpoint": "/mnt/we\"ird\\name\nx""#) })
    }

    @Test func aDeletedVMDisappears() {
        let stats = Fixtures.stats([Fixtures.domain(), Fixtures.domain("db1", uuid: "x")])
        let first = text(Snapshot(time: 1, host: Fixtures.host(), stats: stats, health: []).samples(previous: nil))
        #expect(first.contains("vm=\"db1\""))
        let after = Fixtures.stats([Fixtures.domain()])
        let second = text(Snapshot(time: 2, host: Fixtures.host(), stats: after, health: []).samples(previous: nil))
        #expect(!second.contains("vm=\"db1\""))
        #expect(second.contains("vm=\"web1\""))
    }

    @Test func samplesTheFormatCannotCarryAreSkipped() throws {
        let output = text([
            MetricSample(name: "hv_vm_up", labels: ["vm": "a"], value: 1),
            MetricSample(name: "hv_vm_up", labels: ["vm": "a"], value: 0),
            MetricSample(name: "hv_vm_up", value: 1),
            MetricSample(name: "hv_vm_up", labels: ["vm": "b", "extra": "x"], value: 1),
            MetricSample(name: "hv_host_load1", value: .nan),
            MetricSample(name: "hv_monitor_collections_total", value: -1),
            MetricSample(name: "custom_thing_total", value: 2),
        ])
        let parsed = try parse(output)
        #expect(parsed.count == 2)
        #expect(output.contains("hv_vm_up{vm=\"a\"} 1.0\n"))
        #expect(output.contains("# TYPE custom_thing_total counter\ncustom_thing_total 2"))
        #expect(!output.contains("hv_host_load1"))
    }

    /// Values are written as the Prometheus client library wrote them before: a counter at zero as
    /// `0`, everything else in Swift's shortest exact form; families in the order they first appear.
    @Test func valuesAreWrittenAsBefore() {
        let output = text([
            MetricSample(name: "hv_monitor_collection_errors_total", value: 0),
            MetricSample(name: "hv_monitor_collections_total", value: 3),
            MetricSample(name: "hv_host_load1", value: 0),
            MetricSample(name: "hv_host_cpu_seconds_total", labels: ["mode": "user"], value: 0.125),
        ])
        #expect(output.contains("hv_monitor_collection_errors_total 0\n"))
        #expect(output.contains("hv_monitor_collections_total 3.0\n"))
        #expect(output.contains("hv_host_load1 0.0\n"))
        #expect(output.contains("hv_host_cpu_seconds_total{mode=\"user\"} 0.125\n"))
        let families = output.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(families == ["hv_monitor_collection_errors_total", "hv_monitor_collections_total", "hv_host_load1", "hv_host_cpu_seconds_total"])
    }
}
