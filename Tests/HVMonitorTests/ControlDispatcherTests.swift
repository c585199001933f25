import Foundation
import HVMonitor
import HVPolkit
import HVProtocol
import HVServer
import Logging
import Synchronization
import Testing

/// Records what reached it, so tests can tell that refused requests went no further.
final class RecordingBackend: MonitorBackend {
    let calls = Mutex<[String]>([])

    func history(_ parameters: HistoryParameters) async throws(HVError) -> [MetricSeries] {
        calls.withLock { $0.append("history \(parameters.target)") }
        return [MetricSeries(target: parameters.target, metric: "up", resolutionSeconds: 15, points: [])]
    }

    func alerts(limit: Int) async throws(HVError) -> ListAlertsReply {
        calls.withLock { $0.append("alerts \(limit)") }
        return ListAlertsReply(active: [], recent: [], silences: [])
    }

    func testAlert(channel: String?, severity: AlertSeverity) async throws(HVError) -> AlertNotification {
        calls.withLock { $0.append("test \(severity.rawValue)") }
        return AlertNotification(
            id: 1, time: 0, key: "test", rule: "test", severity: severity, kind: "test", summary: "", labels: [:],
            deliveries: []
        )
    }

    func silence(matcher: String, duration: Int, comment: String, createdBy: String) async throws(HVError)
        -> AlertSilence
    {
        calls.withLock { $0.append("silence \(matcher) \(duration) by \(createdBy)") }
        return AlertSilence(id: 7, matcher: matcher, until: Double(duration), createdBy: createdBy, comment: comment)
    }

    func removeSilence(id: Int64) async throws(HVError) {
        calls.withLock { $0.append("unsilence \(id)") }
    }
}

final class FixedAuthorizer: MonitorAuthorizer {
    let allowed: Set<MonitorOperation>
    let asked = Mutex<[MonitorOperation]>([])

    init(allowed: Set<MonitorOperation>) { self.allowed = allowed }

    func authorize(_ operation: MonitorOperation, peer: Peer) async -> AuthorizationOutcome {
        asked.withLock { $0.append(operation) }
        return allowed.contains(operation) ? .allowed : .denied
    }
}

@Suite struct ControlDispatcherTests {
    let peer = Peer(uid: 0, gid: 0, pid: 1, startTime: 1, executable: "/usr/bin/hv")

    func call(_ method: String, _ parameters: [String: JSONValue], allowed: Set<MonitorOperation>)
        async throws -> (reply: VarlinkReply, backend: RecordingBackend, authorizer: FixedAuthorizer)
    {
        let backend = RecordingBackend()
        let authorizer = FixedAuthorizer(allowed: allowed)
        let dispatcher = ControlDispatcher(backend: backend, authorizer: authorizer, logger: Logger(label: "test"))
        let message = try VarlinkJSON.encode(VarlinkCall(method: method, parameters: parameters))
        let bytes = try #require(await dispatcher.handle(message, from: peer))
        return (try VarlinkJSON.decode(VarlinkReply.self, from: bytes), backend, authorizer)
    }

    @Test func anAuthorizedHistoryCallReachesTheBackend() async throws {
        let (reply, backend, _) = try await call(
            MonitorMethod.history, ["target": .string("web1"), "sinceSeconds": .int(3600)], allowed: [.history]
        )
        #expect(reply.error == nil)
        #expect(backend.calls.withLock { $0 } == ["history web1"])
    }

    @Test func aDeniedSilenceNeverReachesTheBackendAndNamesTheGroup() async throws {
        let (reply, backend, _) = try await call(
            MonitorMethod.silence,
            ["matcher": .string("host-cpu-high"), "durationSeconds": .int(3600), "comment": .string("")],
            allowed: [.history, .listAlerts]
        )
        #expect(reply.error == "org.hypernixos.Monitor.PermissionDenied")
        #expect(reply.parameters?["fix"]?.stringValue?.contains("hypervisor-operators") == true)
        #expect(backend.calls.withLock { $0 }.isEmpty)
    }

    @Test(arguments: [
        ("../etc", 3600, "target"),
        ("host", 10, "sinceSeconds"),
        ("host", 400 * 86_400, "sinceSeconds"),
    ])
    func invalidHistoryIsRefusedBeforePolkit(target: String, since: Int, parameter: String) async throws {
        let (reply, backend, authorizer) = try await call(
            MonitorMethod.history, ["target": .string(target), "sinceSeconds": .int(Int64(since))],
            allowed: Set(MonitorOperation.allCases)
        )
        #expect(reply.error == "org.varlink.service.InvalidParameter")
        #expect(reply.parameters?["parameter"]?.stringValue == parameter)
        #expect(authorizer.asked.withLock { $0 }.isEmpty)
        #expect(backend.calls.withLock { $0 }.isEmpty)
    }

    @Test(arguments: ["", "Host-CPU", "rule{vm=web1}", "rule{vm=\"a\"", "rule{\"vm\"=\"a\"}", "a b"])
    func malformedMatchersAreRefused(matcher: String) async throws {
        let (reply, backend, authorizer) = try await call(
            MonitorMethod.silence,
            ["matcher": .string(matcher), "durationSeconds": .int(3600), "comment": .string("")],
            allowed: Set(MonitorOperation.allCases)
        )
        #expect(reply.error == "org.varlink.service.InvalidParameter")
        #expect(authorizer.asked.withLock { $0 }.isEmpty)
        #expect(backend.calls.withLock { $0 }.isEmpty)
    }

    @Test func aSilenceRecordsWhoSetIt() async throws {
        let (reply, backend, _) = try await call(
            MonitorMethod.silence,
            [
                "matcher": .string("vm-stopped-unexpectedly{vm=\"web1\"}"), "durationSeconds": .int(7200),
                "comment": .string("maintenance"),
            ],
            allowed: [.silence]
        )
        #expect(reply.error == nil)
        #expect(backend.calls.withLock { $0 } == ["silence vm-stopped-unexpectedly{vm=\"web1\"} 7200 by root"])
    }

    @Test func unknownFieldsAndMethodsGetPreciseErrors() async throws {
        let unknownField = try await call(MonitorMethod.listAlerts, ["limit": .int(5), "all": .bool(true)], allowed: [.listAlerts])
        #expect(unknownField.reply.error == "org.varlink.service.InvalidParameter")
        let unknownMethod = try await call("org.hypernixos.Monitor.DropTables", [:], allowed: Set(MonitorOperation.allCases))
        #expect(unknownMethod.reply.error == "org.varlink.service.MethodNotFound")
        #expect(unknownMethod.authorizer.asked.withLock { $0 }.isEmpty)
    }

    @Test func introspectionNeedsNoAuthorization() async throws {
        let (reply, _, authorizer) = try await call(
            Method.getInterfaceDescription, ["interface": .string(MonitorMethod.interface)], allowed: []
        )
        #expect(reply.parameters?["description"]?.stringValue?.contains("method Silence(") == true)
        #expect(authorizer.asked.withLock { $0 }.isEmpty)
    }
}
