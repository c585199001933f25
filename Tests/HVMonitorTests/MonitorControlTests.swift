import Foundation
import HVAlerting
import HVHistory
import HVMonitor
import HVProtocol
import HVServer
import HVTestSupport
import Logging
import Testing

/// The control socket's alert operations on the real backend: a dispatcher over `MonitorControl`
/// and an `AlertService` with its store, as hv-monitor wires them.
@Suite struct MonitorControlTests {
    let peer = Peer(uid: 0, gid: 0, pid: 1, startTime: 1, executable: "/usr/bin/hv")

    func call(_ dispatcher: ControlDispatcher, _ method: String, _ parameters: [String: JSONValue]) async throws
        -> VarlinkReply
    {
        let message = try VarlinkJSON.encode(VarlinkCall(method: method, parameters: parameters))
        let bytes = try #require(await dispatcher.handle(message, from: peer))
        let reply = try VarlinkJSON.decode(VarlinkReply.self, from: bytes)
        #expect(reply.error == nil, "\(method): \(reply)")
        return reply
    }

    func list(_ dispatcher: ControlDispatcher) async throws -> ListAlertsReply {
        let reply = try await call(dispatcher, MonitorMethod.listAlerts, [:])
        return try VarlinkJSON.decode(ListAlertsReply.self, from: try VarlinkJSON.encode(reply.parameters ?? [:]))
    }

    /// `hv alerts silence` then `hv alerts unsilence`: each shows in the next `hv alerts list`, not
    /// only after the next collection cycle.
    @Test func silencingAndUnsilencingShowAtOnceInTheList() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let rule = AlertRule(
            name: "host-cpu-high", severity: .warning, summary: "CPU {value}",
            condition: .threshold(.init(metric: "hv_host_cpu_usage_ratio", comparison: .above, threshold: 0.9)))
        let alerts = try AlertService(
            configuration: AlertConfiguration(rules: [rule]), store: try AlertStore(path: ":memory:"), channels: [:])
        let control = MonitorControl(history: try HistoryStore(path: directory.file("history.sqlite")), alerts: alerts)
        let dispatcher = ControlDispatcher(
            backend: control, authorizer: FixedAuthorizer(allowed: Set(MonitorOperation.allCases)),
            logger: Logger(label: "test"))
        let busy = AlertInput(samples: [MetricSample(name: "hv_host_cpu_usage_ratio", value: 0.95)])
        _ = try await alerts.evaluate(busy, now: Date())
        #expect(try await list(dispatcher).active.map(\.silencedUntil) == [nil])

        let silenced = try await call(
            dispatcher, MonitorMethod.silence,
            ["matcher": .string("host-cpu-high"), "durationSeconds": .int(3_600), "comment": .string("load test")])
        let reply = try VarlinkJSON.encode(silenced.parameters ?? [:])
        let silence = try VarlinkJSON.decode(SilenceReply.self, from: reply)
        let whileSilenced = try await list(dispatcher)
        #expect(whileSilenced.silences.map(\.id) == [silence.silence.id])
        #expect(whileSilenced.active.map(\.silencedUntil) == [silence.silence.until])
        // A collection cycle passes while the silence holds.
        _ = try await alerts.evaluate(busy, now: Date())

        _ = try await call(dispatcher, MonitorMethod.removeSilence, ["id": .int(silence.silence.id)])
        let afterwards = try await list(dispatcher)
        #expect(afterwards.silences.isEmpty)
        #expect(afterwards.active.map(\.key) == ["host-cpu-high"])
        #expect(afterwards.active.map(\.silencedUntil) == [nil])
    }
}
