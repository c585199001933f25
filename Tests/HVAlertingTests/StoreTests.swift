import Foundation
import HVAlerting
import HVProtocol
import HVTestSupport
import Testing

@Suite struct StoreTests {
    func notification(_ time: Double, key: String = "k") -> AlertNotification {
        AlertNotification(
            id: 0, time: time, key: key, rule: "r", severity: .warning, kind: "firing", summary: "s",
            labels: ["vm": "web1"], deliveries: [])
    }

    @Test func recordsNotificationsAndDeliveries() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AlertStore(path: directory.file("alerts.sqlite"))
        let stored = try store.record(notification(100))
        #expect(stored.id > 0)
        try store.addDelivery(AlertDelivery(channel: "slack", delivered: true, attempts: 1, error: nil), to: stored.id)
        try store.addDelivery(AlertDelivery(channel: "mail", delivered: false, attempts: 3, error: "refused"), to: stored.id)
        // A reopened store sees the same rows.
        let reopened = try AlertStore(path: directory.file("alerts.sqlite"))
        let read = try reopened.notifications()
        #expect(read.count == 1)
        #expect(read[0].labels == ["vm": "web1"])
        #expect(read[0].deliveries.map(\.channel) == ["slack", "mail"])
        #expect(read[0].deliveries[1].error == "refused")
    }

    @Test func aResolvedNotificationKeepsItsReason() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var resolved = notification(100)
        resolved.kind = "resolved"
        resolved.reason = "vm web1 no longer exists"
        try AlertStore(path: directory.file("alerts.sqlite")).record(resolved)
        try AlertStore(path: directory.file("alerts.sqlite")).record(notification(200))
        let read = try AlertStore(path: directory.file("alerts.sqlite")).notifications()
        #expect(read.map(\.reason) == [nil, "vm web1 no longer exists"])
    }

    @Test func silencesAddListAndExpire() throws {
        let store = try AlertStore(path: ":memory:")
        let silence = try store.addSilence(
            matcher: #"vm-stopped-unexpectedly{vm="web1"}"#, until: 500, createdBy: "alice", comment: "maintenance", now: 100)
        #expect(try store.activeSilences(now: 200) == [silence])
        #expect(try store.activeSilences(now: 500).isEmpty)
        try store.expireSilence(id: silence.id, now: 300)
        #expect(try store.activeSilences(now: 301).isEmpty)
        #expect(throws: AlertingError.self) { try store.expireSilence(id: silence.id, now: 302) }
        let bad = #expect(throws: AlertingError.self) {
            try store.addSilence(matcher: "Bad Rule", until: 500, createdBy: "a", comment: "", now: 100)
        }
        #expect(bad?.code == .invalidParameter)
        #expect(throws: AlertingError.self) {
            try store.addSilence(matcher: "cpu", until: 50, createdBy: "a", comment: "", now: 100)
        }
    }

    @Test func engineStateRoundTrips() throws {
        let store = try AlertStore(path: ":memory:")
        let state = AlertState(
            key: "cpu", rule: "cpu", labels: [:], summary: "s", since: 1, firing: true, notified: true,
            lastFiringNotifiedAt: 2, lastSeen: 3)
        try store.saveStates([state])
        #expect(try store.loadStates() == [state])
        try store.saveStates([])
        #expect(try store.loadStates().isEmpty)
    }

    @Test func pruneDropsOldHistoryOnly() throws {
        let store = try AlertStore(path: ":memory:", retentionSeconds: 1_000)
        try store.record(notification(100, key: "old"))
        try store.record(notification(5_000, key: "new"))
        _ = try store.addSilence(matcher: "a", until: 200, createdBy: "x", comment: "", now: 0)
        _ = try store.addSilence(matcher: "b", until: 9_000, createdBy: "x", comment: "", now: 0)
        #expect(try store.prune(now: 5_500) == 2)
        #expect(try store.notifications().map(\.key) == ["new"])
        #expect(try store.activeSilences(now: 5_500).map(\.matcher) == ["b"])
    }
}

@Suite struct KeyTests {
    @Test func keysSortAndEscapeLabels() {
        #expect(AlertKey.make(rule: "r", labels: [:]) == "r")
        #expect(AlertKey.make(rule: "r", labels: ["b": "2", "a": "say \"hi\"\\"]) == #"r{a="say \"hi\"\\",b="2"}"#)
    }

    @Test func matchersParseAndMatchSubsets() throws {
        let matcher = try SilenceMatcher(parsing: #"fs{mountpoint="/srv",device="a\"b"}"#)
        #expect(matcher.rule == "fs")
        #expect(matcher.labels == ["mountpoint": "/srv", "device": "a\"b"])
        #expect(matcher.matches(rule: "fs", labels: ["mountpoint": "/srv", "device": "a\"b", "fstype": "ext4"]))
        #expect(!matcher.matches(rule: "fs", labels: ["mountpoint": "/srv"]))
        #expect(!matcher.matches(rule: "other", labels: ["mountpoint": "/srv", "device": "a\"b"]))
        // A key is a valid matcher for itself.
        let key = AlertKey.make(rule: "vm-down", labels: ["vm": "we\"b"])
        #expect(try SilenceMatcher(parsing: key).matches(rule: "vm-down", labels: ["vm": "we\"b"]))
    }

    @Test(arguments: ["", "Upper", "r{", "r{vm=web1}", #"r{vm="web1"} x"#, #"r{vm="a",vm="b"}"#, #"r{="a"}"#])
    func badMatchersAreRefused(text: String) {
        let error = #expect(throws: AlertingError.self) { try SilenceMatcher(parsing: text) }
        #expect(error?.code == .invalidParameter)
    }
}

@Suite struct ServiceTests {
    @Test func evaluatePrunesOldHistoryOnceADay() async throws {
        let store = try AlertStore(path: ":memory:", retentionSeconds: 1_000)
        let old = AlertNotification(
            id: 0, time: 10, key: "k", rule: "k", severity: .info, kind: "firing", summary: "s", labels: [:], deliveries: [])
        try store.record(old)
        let service = try AlertService(configuration: AlertConfiguration(rules: []), store: store, channels: [:])
        _ = try await service.evaluate(AlertInput(), now: Date(timeIntervalSince1970: 5_000))
        #expect(try store.notifications().isEmpty)
        var later = old
        later.time = 5_100
        try store.record(later)
        // Within a day of the last pruning nothing is pruned, even what is past the retention.
        _ = try await service.evaluate(AlertInput(), now: Date(timeIntervalSince1970: 7_000))
        #expect(try store.notifications().count == 1)
        _ = try await service.evaluate(AlertInput(), now: Date(timeIntervalSince1970: 5_000 + 86_400))
        #expect(try store.notifications().isEmpty)
    }

    @Test func aDeletedMachinesAlertIsResolvedAndRecordedWithWhy() async throws {
        let rule = AlertRule(
            name: "vm-stopped-unexpectedly", severity: .critical, summary: "VM {vm} stopped unexpectedly",
            condition: .event(.init(event: .vmStoppedUnexpectedly)))
        let store = try AlertStore(path: ":memory:")
        let service = try AlertService(configuration: AlertConfiguration(rules: [rule]), store: store, channels: [:])
        let running = [domain("web1", "running", "booted")]
        let crashed = [domain("web1", "shutoff", "crashed")]
        _ = try await service.evaluate(AlertInput(domains: running), now: Date(timeIntervalSince1970: 0))
        let crash = AlertInput(domains: crashed, previousDomains: running)
        _ = try await service.evaluate(crash, now: Date(timeIntervalSince1970: 15))
        let deletion = AlertInput(domains: [], previousDomains: crashed)
        let gone = try await service.evaluate(deletion, now: Date(timeIntervalSince1970: 30))
        #expect(gone.sent.map(\.kind) == ["resolved"])
        #expect(gone.sent.map(\.reason) == ["vm web1 no longer exists"])
        #expect(gone.active.isEmpty)
        #expect(try store.notifications().map(\.reason) == ["vm web1 no longer exists", nil])
    }

    @Test func testNotificationNeedsARoute() async throws {
        let service = try AlertService(configuration: AlertConfiguration(rules: []), store: try AlertStore(path: ":memory:"), channels: [:])
        let error = await #expect(throws: AlertingError.self) { try await service.sendTest(severity: .info, now: Date()) }
        #expect(error?.code == .noChannel)
    }
}
