import Foundation
import HVPolkit
import HVProtocol
import HVServer
import HVWork
import Logging

/// What the control socket's operations act on: the monitor's history and alerting.
public protocol MonitorBackend: Sendable {
    func history(_ parameters: HistoryParameters) async throws(HVError) -> [MetricSeries]
    func alerts(limit: Int) async throws(HVError) -> ListAlertsReply
    func testAlert(channel: String?, severity: AlertSeverity) async throws(HVError) -> AlertNotification
    func silence(matcher: String, duration: Int, comment: String, createdBy: String) async throws(HVError)
        -> AlertSilence
    func removeSilence(id: Int64) async throws(HVError)
}

/// Decides whether a peer may perform a monitor operation.
public protocol MonitorAuthorizer: Sendable {
    func authorize(_ operation: MonitorOperation, peer: Peer) async -> AuthorizationOutcome
}

/// Asks polkitd, as the owner of the monitor's actions.
public struct PolkitMonitorAuthorizer: MonitorAuthorizer {
    let checker: PolkitChecker
    public init(checker: PolkitChecker) { self.checker = checker }
    public func authorize(_ operation: MonitorOperation, peer: Peer) async -> AuthorizationOutcome {
        await checker.check(operation.action, subject: PolkitSubject(pid: peer.pid, uid: peer.uid, startTime: peer.startTime))
    }
}

/// Turns one message on the control socket into its reply: decode → validate → authorize → act,
/// each request logged with its caller and outcome.
public final class ControlDispatcher: MessageHandler {
    let backend: any MonitorBackend
    let authorizer: any MonitorAuthorizer
    let logger: Logger

    public init(backend: any MonitorBackend, authorizer: any MonitorAuthorizer, logger: Logger) {
        self.backend = backend
        self.authorizer = authorizer
        self.logger = logger
    }

    public func handle(_ message: [UInt8], from peer: Peer) async -> [UInt8]? {
        let call: VarlinkCall
        do {
            call = try VarlinkJSON.decode(VarlinkCall.self, from: message)
        } catch {
            return encode(
                HVError(.protocolError, "the message is not a Varlink call", details: ["kind": "MalformedMessage"]),
                interface: ""
            )
        }
        let reply = await respond(to: call, peer: peer)
        guard call.oneway != true else { return nil }
        return reply
    }

    public func recordRejected(_ error: HVError, from peer: Peer) {
        logger.notice("connection refused", metadata: ["uid": "\(peer.uid)", "pid": "\(peer.pid)", "reason": "\(error.reason)"])
    }

    private func respond(to call: VarlinkCall, peer: Peer) async -> [UInt8] {
        let request: ControlRequest
        do {
            request = try ControlRequest(call)
        } catch {
            return encode(error, interface: call.interface)
        }
        guard let operation = request.operation else { return introspect(request, interface: call.interface) }
        let outcome = await authorizer.authorize(operation, peer: peer)
        logger.info(
            "request",
            metadata: ["method": "\(call.method)", "uid": "\(peer.uid)", "pid": "\(peer.pid)", "decision": "\(outcome)"]
        )
        switch outcome {
        case .allowed:
            break
        case .denied:
            return encode(Refusal.denied(operation), interface: call.interface)
        case .unavailable(let reason):
            return encode(
                Refusal.unavailable(reason, fix: "start polkitd and install polkit/org.hypernixos.monitor.policy"), interface: call.interface
            )
        case .busy(let error):
            return encode(error.hvError, interface: call.interface)
        }
        do {
            return try await perform(request, peer: peer)
        } catch {
            return encode(error, interface: call.interface)
        }
    }

    private func perform(_ request: ControlRequest, peer: Peer) async throws(HVError) -> [UInt8] {
        switch request {
        case .history(let parameters):
            return try encode(HistoryReply(series: try await backend.history(parameters)))
        case .listAlerts(let limit):
            return try encode(try await backend.alerts(limit: limit))
        case .testAlert(let channel, let severity):
            return try encode(TestAlertReply(notification: try await backend.testAlert(channel: channel, severity: severity)))
        case .silence(let matcher, let duration, let comment):
            let silence = try await backend.silence(
                matcher: matcher, duration: duration, comment: comment, createdBy: Self.userName(peer.uid)
            )
            return try encode(SilenceReply(silence: silence))
        case .removeSilence(let id):
            try await backend.removeSilence(id: id)
            return try encode(EmptyReply())
        case .getInfo, .getInterfaceDescription:
            throw HVError(.failed, "introspection reached the authorized path")
        }
    }

    private func introspect(_ request: ControlRequest, interface: String) -> [UInt8] {
        if case .getInterfaceDescription(let name) = request {
            switch name {
            case MonitorMethod.interface:
                return (try? encode(InterfaceDescriptionReply(description: MonitorMethod.description))) ?? []
            case Interfaces.service:
                return (try? encode(InterfaceDescriptionReply(description: Interfaces.description(of: name) ?? ""))) ?? []
            default:
                return encode(.unknownInterface(name), interface: interface)
            }
        }
        let info = ServiceInfo(
            vendor: "Hyper-NixOS", product: "hv-monitor", version: MonitorVersion.current, url: "https://hypernixos.org",
            interfaces: [Interfaces.service, MonitorMethod.interface]
        )
        return (try? encode(info)) ?? []
    }

    private func encode<Value: Encodable>(_ value: Value) throws(HVError) -> [UInt8] {
        do {
            return VarlinkJSON.reply(try EncodedParameters(value))
        } catch {
            throw HVError(.failed, "could not encode the reply: \(error)")
        }
    }

    private func encode(_ error: HVError, interface: String) -> [UInt8] {
        let reply = VarlinkReply(parameters: error.varlinkParameters, error: error.varlinkName(interface: interface))
        return (try? VarlinkJSON.encode(reply)) ?? []
    }

    /// The caller's login name for the silence record, or `uid N` when it has none.
    static func userName(_ uid: UInt32) -> String {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "uid \(uid)" }
        return String(cString: name)
    }
}

public enum MonitorVersion {
    public static let current = "0.1.0"
}
