import Foundation
import HVProtocol
import HVTestSupport
import Testing

/// The monitoring assets in `docs/monitoring`: the Prometheus alerting rules and their unit tests, the
/// example scrape configuration and the Grafana dashboard. promtool checks the Prometheus files and
/// the dashboard's queries; every `hv_*` name they use must be one the exporter exports and
/// METRICS.md documents.
@Suite struct MonitoringAssetsTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/monitoring").path

    static let rules = directory + "/prometheus-rules.yml"
    static let ruleTests = directory + "/prometheus-rules.test.yml"
    static let scrapeConfig = directory + "/prometheus-scrape.example.yml"
    static let dashboard = directory + "/grafana-dashboard.json"
    static let metricsReference = directory + "/METRICS.md"

    // MARK: promtool

    @Test(.enabled(if: Promtool.path != nil, "promtool is not installed (Debian package prometheus)"))
    func rulesPassPromtoolCheck() throws {
        let output = try Promtool.run(["check", "rules", Self.rules])
        #expect(output.status == 0, "\(output)")
        #expect(output.stdout.contains("SUCCESS"), "\(output)")
    }

    @Test(.enabled(if: Promtool.path != nil, "promtool is not installed (Debian package prometheus)"))
    func ruleUnitTestsPass() throws {
        let output = try Promtool.run(["test", "rules", Self.ruleTests])
        #expect(output.status == 0, "\(output)")
        #expect(output.stdout.contains("SUCCESS"), "\(output)")
    }

    @Test(.enabled(if: Promtool.path != nil, "promtool is not installed (Debian package prometheus)"))
    func exampleScrapeConfigPassesPromtoolCheck() throws {
        let config = try String(contentsOfFile: Self.scrapeConfig, encoding: .utf8)
        #expect(config.contains("job_name: hypervisor"))
        #expect(config.contains("127.0.0.1:9478"))
        // The monitor's token, as setup.sh and the NixOS module write it.
        let bearer = "authorization:\n      type: Bearer\n      credentials_file: /etc/hypervisor/metrics.token\n"
        #expect(config.contains("    " + bearer))

        // promtool checks that the credentials file exists: check a copy that names the test's own,
        // beside a copy of the rules.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let token = try directory.write("metrics.token", "0123456789abcdef0123456789abcdef\n")
        _ = try directory.write("prometheus-rules.yml", try String(contentsOfFile: Self.rules, encoding: .utf8))
        let copy = try directory.write(
            "prometheus-scrape.yml", config.replacingOccurrences(of: "/etc/hypervisor/metrics.token", with: token))
        let output = try Promtool.run(["check", "config", copy])
        #expect(output.status == 0, "\(output)")
        // The rules file is found relative to the config and checked with it.
        #expect(output.stdout.contains("1 rule files found"), "\(output)")
    }

    /// Every dashboard query is valid PromQL: each becomes a recording rule that promtool parses.
    @Test(.enabled(if: Promtool.path != nil, "promtool is not installed (Debian package prometheus)"))
    func dashboardQueriesAreValidPromQL() throws {
        let queries = try Self.dashboardQueries()
        #expect(!queries.isEmpty)
        let variable = try NSRegularExpression(pattern: #"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?"#)
        let rules: [[String: String]] = queries.enumerated().map { index, query in
            let range = NSRange(query.startIndex..., in: query)
            let expr = variable.stringByReplacingMatches(in: query, range: range, withTemplate: ".+")
            return ["record": "dashboard:query_\(index)", "expr": expr]
        }
        let document: [String: Any] = ["groups": [["name": "dashboard", "rules": rules]]]
        // JSON is YAML (once `\/` is not used: YAML has no such escape), so promtool reads it as rules.
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("hv-dashboard-queries-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: document, options: .withoutEscapingSlashes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let output = try Promtool.run(["check", "rules", file.path])
        #expect(output.status == 0, "\(output)")
        #expect(output.stdout.contains("\(queries.count) rules found"), "\(output)")
    }

    // MARK: rules

    @Test func everyAlertHasSeverityAndAnnotations() throws {
        let text = try String(contentsOfFile: Self.rules, encoding: .utf8)
        let alerts = text.components(separatedBy: "- alert: ").dropFirst()
        #expect(alerts.count >= 10)
        for alert in alerts {
            let name = alert.prefix { !$0.isNewline }
            #expect(alert.contains(/severity: (critical|warning|info)\n/), "\(name) needs a severity")
            for key in ["summary:", "description:", "fix:"] {
                #expect(alert.contains(key), "\(name) needs the annotation \(key)")
            }
        }
    }

    @Test func everyAlertHasAUnitTest() throws {
        let rules = try String(contentsOfFile: Self.rules, encoding: .utf8)
        let tests = try String(contentsOfFile: Self.ruleTests, encoding: .utf8)
        let defined = Set(rules.matches(of: /- alert: (\w+)/).map { String($0.output.1) })
        let tested = Set(tests.matches(of: /alertname: (\w+)/).map { String($0.output.1) })
        #expect(defined.count >= 10)
        #expect(defined.subtracting(tested).isEmpty, "alerts without a test: \(defined.subtracting(tested).sorted())")
        #expect(tested.subtracting(defined).isEmpty, "tests of unknown alerts: \(tested.subtracting(defined).sorted())")
    }

    @Test func rulesCoverTheRequiredConditions() throws {
        let text = try String(contentsOfFile: Self.rules, encoding: .utf8)
        for expression in [
            "hv_vm_autostart == 1 and hv_vm_up == 0", #"hv_vm_state{state="crashed"} == 1"#,
            "hv_host_cpu_usage_ratio > 0.9", "hv_host_memory_used_ratio > 0.9", "hv_pool_used_ratio > 0.85",
            "hv_host_filesystem_used_ratio > 0.9", "hv_health_check_status == 2", "hv_monitor_broker_up == 0",
            "time() - hv_monitor_last_collection_timestamp_seconds > 3 *", #"up{job="hypervisor"} == 0"#,
            "hv_backup_last_attempt_success == 0", "time() - hv_backup_last_success_timestamp_seconds > 26 * 3600",
            "hv_backup_verify_ok == 0", "hv_backup_boot_test_ok == 0",
        ] {
            #expect(text.contains("expr: \(expression)"), "no rule with expr: \(expression)")
        }
    }

    // MARK: dashboard

    @Test func dashboardHasImportableStructure() throws {
        let dashboard = try Self.dashboardObject()
        #expect((dashboard["title"] as? String)?.isEmpty == false)
        #expect((dashboard["uid"] as? String)?.isEmpty == false)
        let schemaVersion = try #require(dashboard["schemaVersion"] as? Int)
        #expect((36...41).contains(schemaVersion))

        let templating = try #require(dashboard["templating"] as? [String: Any])
        let variables = try #require(templating["list"] as? [[String: Any]])
        let datasource = variables.first { $0["name"] as? String == "DS_PROMETHEUS" }
        #expect(datasource?["type"] as? String == "datasource")
        #expect(datasource?["query"] as? String == "prometheus")
        let vm = try #require(variables.first { $0["name"] as? String == "vm" })
        #expect(vm["type"] as? String == "query")
        let definition = try #require(vm["definition"] as? String)
        #expect(definition.hasPrefix("label_values(hv_vm_up") && definition.hasSuffix(", vm)"))
        #expect(Self.datasourceUID(vm["datasource"]) == "${DS_PROMETHEUS}")
    }

    @Test func everyPanelQueriesPrometheus() throws {
        let panels = try Self.panels()
        #expect(panels.count >= 20)
        var ids: Set<Int> = []
        for panel in panels {
            let title = panel["title"] as? String ?? "?"
            let id = try #require(panel["id"] as? Int, "panel \(title) has no id")
            #expect(ids.insert(id).inserted, "panel id \(id) is used twice")
            if panel["type"] as? String == "row" { continue }
            #expect(Self.datasourceUID(panel["datasource"]) == "${DS_PROMETHEUS}", "panel \(title)")
            let targets = try #require(panel["targets"] as? [[String: Any]], "panel \(title) has no targets")
            #expect(!targets.isEmpty, "panel \(title) has no targets")
            var refIDs: Set<String> = []
            for target in targets {
                let expr = target["expr"] as? String ?? ""
                #expect(!expr.trimmingCharacters(in: .whitespaces).isEmpty, "panel \(title) has a target without expr")
                let refID = target["refId"] as? String ?? ""
                #expect(!refID.isEmpty && refIDs.insert(refID).inserted, "panel \(title): refId \(refID)")
                #expect(Self.datasourceUID(target["datasource"]) == "${DS_PROMETHEUS}", "panel \(title)")
            }
        }
    }

    @Test func panelsFitTheGridWithoutOverlapping() throws {
        let boxes: [(title: String, x: Int, y: Int, w: Int, h: Int)] = try Self.panels().map { panel in
            let title = panel["title"] as? String ?? "?"
            let grid = try #require(panel["gridPos"] as? [String: Int], "panel \(title) has no gridPos")
            return (title, grid["x"] ?? -1, grid["y"] ?? -1, grid["w"] ?? 0, grid["h"] ?? 0)
        }
        for box in boxes {
            #expect(box.x >= 0 && box.y >= 0 && box.w > 0 && box.h > 0 && box.x + box.w <= 24, "\(box)")
        }
        for (index, a) in boxes.enumerated() {
            for b in boxes[(index + 1)...] {
                let overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
                #expect(!overlap, "\(a.title) overlaps \(b.title)")
            }
        }
    }

    @Test func dashboardShowsWhatOperatorsNeed() throws {
        let queries = try Self.dashboardQueries().joined(separator: "\n")
        for name in [
            "hv_host_cpu_usage_ratio", "hv_host_memory_used_ratio", "hv_host_load1", "hv_host_filesystem_used_ratio",
            "hv_pool_used_ratio", "hv_vm_state", "hv_vm_up", "hv_vm_cpu_usage_ratio", "hv_vm_memory_rss_bytes",
            "hv_vm_disk_read_bytes_total", "hv_vm_disk_written_bytes_total", "hv_vm_network_receive_bytes_total",
            "hv_vm_network_transmit_bytes_total", "hv_health_check_status", "hv_alerts_firing", "ALERTS{",
            "hv_backup_last_attempt_success", "hv_backup_verify_ok", "hv_backup_boot_test_ok", "hv_backup_size_bytes",
        ] {
            #expect(queries.contains(name), "no panel queries \(name)")
        }
    }

    /// A counter is only meaningful as a rate: every `_total` series sits inside rate() or increase().
    @Test func countersAreShownAsRates() throws {
        for query in try Self.dashboardQueries() {
            for match in query.matches(of: /hv_[a-z0-9_]+/) where match.output.hasSuffix("_total") {
                let before = query[..<match.range.lowerBound]
                #expect(before.hasSuffix("rate(") || before.hasSuffix("increase("), "\(match.output) in \(query)")
            }
        }
    }

    // MARK: metric names

    @Test func assetsUseOnlyExportedNames() throws {
        for (file, names) in try Self.namesByAsset() {
            let unknown = names.subtracting(MetricCatalog.names)
            #expect(unknown.isEmpty, "\(file) uses names the exporter does not export: \(unknown.sorted())")
            #expect(!names.isEmpty, "\(file) uses no hv_ metric")
        }
    }

    /// Read at test time: METRICS.md is the operator's reference for every name the assets use.
    @Test func assetsUseOnlyDocumentedNames() throws {
        guard FileManager.default.fileExists(atPath: Self.metricsReference) else {
            Issue.record("\(Self.metricsReference) does not exist")
            return
        }
        let documented = Self.metricNames(in: try String(contentsOfFile: Self.metricsReference, encoding: .utf8))
        for (file, names) in try Self.namesByAsset() {
            let undocumented = names.subtracting(documented)
            #expect(undocumented.isEmpty, "\(file) uses names METRICS.md does not document: \(undocumented.sorted())")
        }
    }

    // MARK: helpers

    static func metricNames(in text: String) -> Set<String> {
        Set(text.matches(of: /hv_[a-z0-9_]+/).map { String($0.output) })
    }

    static func namesByAsset() throws -> [(String, Set<String>)] {
        try [rules, ruleTests, dashboard].map { path in
            ((path as NSString).lastPathComponent, metricNames(in: try String(contentsOfFile: path, encoding: .utf8)))
        }
    }

    static func dashboardObject() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: dashboard))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// All panels, including those nested in collapsed rows.
    static func panels() throws -> [[String: Any]] {
        let top = try #require(try dashboardObject()["panels"] as? [[String: Any]])
        return top.flatMap { panel in [panel] + (panel["panels"] as? [[String: Any]] ?? []) }
    }

    static func dashboardQueries() throws -> [String] {
        try panels().flatMap { panel in
            (panel["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        }
    }

    static func datasourceUID(_ value: Any?) -> String? {
        (value as? [String: Any])?["uid"] as? String
    }
}

/// Where promtool is installed, if it is.
private enum Promtool {
    static let path: String? = {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        return (directories + ["/usr/bin", "/usr/local/bin"]).map { $0 + "/promtool" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static func run(_ arguments: [String]) throws -> Output {
        guard let path else { throw SetupError("promtool is not installed") }
        return try HVTestSupport.run([path] + arguments, timeout: 60)
    }
}
