import Foundation
import HVAudit
import HVProtocol
import HVServer
import Logging

/// The broker's socket server: framing, limits and peer credentials around the dispatcher.
public typealias BrokerServer = VarlinkServer<Dispatcher>

/// Turns one Varlink message into its reply, in the fixed order decode → validate → authorize →
/// act → audit. Nothing reaches the hypervisor before polkit said yes.
public final class Dispatcher: MessageHandler {
    public static let version = "0.1.0"

    let hypervisor: any Hypervisor
    let authorizer: any Authorizer
    let audit: AuditLog
    let logger: Logger

    public init(hypervisor: any Hypervisor, authorizer: any Authorizer, audit: AuditLog, logger: Logger) {
        self.hypervisor = hypervisor
        self.authorizer = authorizer
        self.audit = audit
        self.logger = logger
    }

    /// Handles one message; returns the encoded reply, or nil for a `oneway` call.
    public func handle(_ message: [UInt8], from peer: Peer) async -> [UInt8]? {
        var entry = Entry(peer: peer)
        let (reply, oneway) = await respond(to: message, entry: &entry)
        record(entry)
        guard !oneway else { return nil }
        return (try? VarlinkJSON.encode(reply)) ?? BrokerServer.encode(HVError(.failed, "the reply could not be encoded"))
    }

    /// Records a request that never became a message (oversized, half-sent, refused at the door).
    public func recordRejected(_ error: HVError, from peer: Peer) {
        var entry = Entry(peer: peer)
        entry.decision = "invalid"
        entry.result = error.varlinkName(interface: "")
        record(entry)
    }

    private func respond(to message: [UInt8], entry: inout Entry) async -> (VarlinkReply, oneway: Bool) {
        let call: VarlinkCall
        do {
            call = try VarlinkJSON.decode(VarlinkCall.self, from: message)
        } catch {
            let failure = HVError(
                .protocolError, "the message is not a Varlink call: expected a JSON object with a string 'method'",
                fix: "send {\"method\": \"org.hypernixos.Vm.List\", \"parameters\": {}} terminated by a NUL byte",
                details: ["kind": "MalformedMessage"]
            )
            entry.decision = "invalid"
            return (failureReply(failure, interface: "", entry: &entry), false)
        }
        entry.method = call.method
        let oneway = call.oneway ?? false

        let request: Request
        do {
            request = try Request(call)
        } catch {
            entry.decision = "invalid"
            return (failureReply(error, interface: call.interface, entry: &entry), oneway)
        }
        entry.target = request.target

        guard let operation = request.operation else {
            entry.decision = "public"
            return (introspect(request, entry: &entry, interface: call.interface), oneway)
        }
        entry.action = operation.action

        let authorizationStart = ContinuousClock.now
        let outcome = await authorizer.authorize(operation, peer: entry.peer)
        let authorization = ContinuousClock.now - authorizationStart
        switch outcome {
        case .allowed:
            entry.decision = "allowed"
        case .denied:
            entry.decision = "denied"
            return (failureReply(Self.denial(operation), interface: call.interface, entry: &entry), oneway)
        case .unavailable(let reason):
            entry.decision = "unavailable"
            let fix = reason.contains("is not registered")
                ? "install the broker's polkit actions: copy polkit/org.hypernixos.policy to /usr/share/polkit-1/actions/"
                : "start the system D-Bus and polkitd (systemctl start dbus polkit); the broker retries on the next request"
            let failure = HVError(
                .authorizationUnavailable, "polkit could not be asked, so the request was refused: \(reason)", fix: fix
            )
            return (failureReply(failure, interface: call.interface, entry: &entry), oneway)
        }

        do {
            let parameters = try await perform(request, peer: entry.peer, authorization: authorization)
            entry.result = "ok"
            return (VarlinkReply(parameters: parameters), oneway)
        } catch {
            return (failureReply(error, interface: call.interface, entry: &entry), oneway)
        }
    }

    /// Runs an authorized request; `authorization` is how long polkit took to allow it.
    private func perform(_ request: Request, peer: Peer, authorization: Duration) async throws(HVError) -> [String: JSONValue] {
        switch request {
        case .hostInfo: return try Self.object(HostInfoReply(host: try await hypervisor.hostInfo()))
        case .hostStats: return try Self.object(try await hypervisor.stats())
        case .hostHealth:
            let facts = await hypervisor.healthFacts()
            let checks = BrokerHealth.checks(facts: facts, authorization: authorization, audit: audit.verify(), auditLog: audit.path)
            return try Self.object(HealthReply(checks: checks))
        case .vmList: return try Self.object(VmListReply(vms: try await hypervisor.list()))
        case .vmInfo(let name): return try Self.object(VmInfoReply(vm: try await hypervisor.info(name)))
        case .vmCreate(let spec): return try Self.object(VmInfoReply(vm: try await hypervisor.create(spec)))
        case .vmStart(let name): try await hypervisor.start(name)
        case .vmShutdown(let name): try await hypervisor.shutdown(name)
        case .vmReboot(let name): try await hypervisor.reboot(name)
        case .vmKill(let name): try await hypervisor.kill(name)
        case .vmDelete(let name, let removeDisks):
            let removed = try await hypervisor.delete(name, removeDisks: removeDisks)
            return try Self.object(VmDeleteReply(removedDisks: removed))
        case .vmConsole(let name, let maxBytes):
            return try Self.object(try await hypervisor.readConsole(name, maxBytes: maxBytes))
        case .auditVerify:
            let result = audit.verify()
            return try Self.object(
                AuditVerifyReply(
                    intact: result.intact, records: result.records, brokenAtLine: result.brokenAtLine, reason: result.reason
                )
            )
        case .resource(let resource):
            return try await hypervisor.perform(resource, caller: peer)
        case .getInfo, .getInterfaceDescription:
            // Answered by introspect() before authorization; never routed here.
            throw HVError(.failed, "introspection reached the authorized path")
        }
        return [:]
    }

    private func introspect(_ request: Request, entry: inout Entry, interface: String) -> VarlinkReply {
        switch request {
        case .getInterfaceDescription(let name):
            guard let description = Interfaces.description(of: name) else {
                return failureReply(.unknownInterface(name), interface: interface, entry: &entry)
            }
            entry.result = "ok"
            return VarlinkReply(parameters: ["description": .string(description)])
        default:
            entry.result = "ok"
            return VarlinkReply(parameters: [
                "vendor": .string("Hyper-NixOS"),
                "product": .string("hv-broker"),
                "version": .string(Self.version),
                "url": .string("https://hypernixos.org"),
                "interfaces": .array(Interfaces.all.map(JSONValue.string)),
            ])
        }
    }

    static func denial(_ operation: BrokerOperation) -> HVError {
        HVError(
            .permissionDenied, "not authorized: polkit denied '\(operation.action)'",
            fix: "ask an administrator to add your user to the '\(operation.grantingGroup)' group "
                + "(usermod -aG \(operation.grantingGroup) USER); membership takes effect on the next request",
            details: ["action": operation.action]
        )
    }

    func failureReply(_ error: HVError, interface: String, entry: inout Entry) -> VarlinkReply {
        let name = error.varlinkName(interface: interface)
        entry.result = name
        return VarlinkReply(parameters: error.varlinkParameters, error: name)
    }

    static func object<Value: Encodable>(_ value: Value) throws(HVError) -> [String: JSONValue] {
        do {
            return try VarlinkJSON.object(value)
        } catch {
            throw HVError(.failed, "could not encode the reply: \(error)")
        }
    }

    // MARK: Audit

    struct Entry {
        let peer: Peer
        let started = ContinuousClock.now
        let time = Date()
        var method = ""
        var action = ""
        var target = ""
        var decision = "invalid"
        var result = ""
    }

    func record(_ entry: Entry) {
        let elapsed = ContinuousClock.now - entry.started
        let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        let record = AuditRecord(
            time: AuditRecord.timestamp(entry.time),
            uid: entry.peer.uid, gid: entry.peer.gid, pid: entry.peer.pid, executable: entry.peer.executable,
            method: entry.method, action: entry.action, target: entry.target, decision: entry.decision,
            result: entry.result, durationMs: (milliseconds * 1_000).rounded() / 1_000
        )
        do {
            try audit.append(record)
        } catch {
            logger.error("audit record lost", metadata: ["error": "\(error)", "method": "\(entry.method)"])
        }
    }
}
