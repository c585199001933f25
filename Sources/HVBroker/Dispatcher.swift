import Foundation
import HVAudit
import HVPolkit
import HVProtocol
import HVServer
import HVWork
import Logging

/// The broker's socket server: framing, limits and peer credentials around the dispatcher.
public typealias BrokerServer = VarlinkServer<Dispatcher>

/// Turns one Varlink message into its reply, in the fixed order decode → validate → admit
/// (resolve the object, authorize verb and object with polkit) → audit the intent of a change →
/// act → audit the outcome. Nothing reaches the hypervisor before polkit said yes, and no change
/// is made that the audit log could not record.
public final class Dispatcher: MessageHandler {
    public static let version = "0.1.0"

    /// Every method the dispatcher answers: the broker socket's routes, the one stream, and the
    /// upload socket's calls that bring a file and those answered with a descriptor.
    public static var methods: Set<String> { Request.methods.union([streamedMethod]).union(uploadedMethods).union(handedOut) }
    /// The method answered with a stream of replies (`Dispatcher+Events`).
    static let streamedMethod = Method.eventsFollow
    /// The methods the upload socket takes, with a file descriptor (`Dispatcher+Upload`).
    static let uploadedMethods: Set<String> = [Method.isoAdd, Method.imageImport]

    let hypervisor: any Hypervisor
    let authorizer: any Authorizer
    let audit: AuditLog
    let logger: Logger
    /// State-changing requests hold their object from admission to the end of the act.
    let objectLocks = KeyedLock()
    /// The serial console sessions it started (`Dispatcher+HandOut`).
    public let consoles: ConsoleSessions

    public init(
        hypervisor: any Hypervisor, authorizer: any Authorizer, audit: AuditLog, consoles: ConsoleSessions = ConsoleSessions(),
        logger: Logger
    ) {
        self.hypervisor = hypervisor
        self.authorizer = authorizer
        self.audit = audit
        self.consoles = consoles
        self.logger = logger
    }

    /// Handles one message; returns the encoded reply, or nil for a `oneway` call.
    /// The work it causes on the broker's pools is charged to the peer's uid.
    public func handle(_ message: [UInt8], from peer: Peer) async -> [UInt8]? {
        await handle(Self.call(message), from: peer)
    }

    /// The message as a Varlink call; nil when it is not one.
    static func call(_ message: [UInt8]) -> VarlinkCall? {
        try? VarlinkJSON.decode(VarlinkCall.self, from: message)
    }

    /// Handles a message already decoded (nil: it was not a Varlink call).
    func handle(_ call: VarlinkCall?, from peer: Peer) async -> [UInt8]? {
        await WorkPool.$caller.withValue(peer.uid) {
            var entry = Entry(peer: peer)
            let (answer, oneway) = await respond(to: call, entry: &entry)
            await recordOutcome(entry)
            guard !oneway else { return nil }
            return answer.bytes()
        }
    }

    /// Records a request that never became a message (oversized, half-sent, refused at the door),
    /// without waiting for the record: the connection is closed either way.
    public func recordRejected(_ error: HVError, from peer: Peer) {
        var entry = Entry(peer: peer)
        entry.decision = "invalid"
        entry.result = error.varlinkName(interface: "")
        submitRecord(entry)
    }

    private func respond(to decoded: VarlinkCall?, entry: inout Entry) async -> (Answer, oneway: Bool) {
        guard let call = decoded else {
            entry.decision = "invalid"
            return (.reply(failureReply(Self.malformed, interface: "", entry: &entry)), false)
        }
        entry.method = call.method
        let oneway = call.oneway ?? false

        let request: Request
        do {
            request = try Request(call)
        } catch {
            entry.decision = "invalid"
            return (.reply(failureReply(error, interface: call.interface, entry: &entry)), oneway)
        }
        entry.target = request.target

        guard let operation = request.operation else {
            entry.decision = "public"
            return (.reply(introspect(request, entry: &entry, interface: call.interface)), oneway)
        }
        entry.action = operation.action
        entry.changesState = operation.rule.changesState
        let keys = operation.rule.changesState ? request.object.lockNames : []
        var held = entry
        let reply = await objectLocks.withLocks(keys) {
            await self.admitAndPerform(request, operation, interface: call.interface, entry: &held)
        }
        entry = held
        return (reply, oneway)
    }

    private func admitAndPerform(_ request: Request, _ operation: BrokerOperation, interface: String, entry: inout Entry) async -> Answer {
        let authorizationStart = ContinuousClock.now
        let admitted: Admitted
        switch await admit(operation, object: request.object, entry: &entry) {
        case .success(let value): admitted = value
        case .failure(let error): return .reply(failureReply(error, interface: interface, entry: &entry))
        }
        let authorization = ContinuousClock.now - authorizationStart
        if let refusal = await recordIntent(operation, entry: entry) {
            return .reply(failureReply(refusal, interface: interface, entry: &entry))
        }
        do {
            let request = await narrowed(request, admitted: admitted, peer: entry.peer)
            let parameters = try await perform(request, peer: entry.peer, admitted: admitted, authorization: authorization)
            entry.result = "ok"
            return .parameters(parameters)
        } catch {
            return .reply(failureReply(error, interface: interface, entry: &entry))
        }
    }

    /// What the caller gets of the object: cloud-init data (passwords, keys) only for those who may
    /// change the machine.
    private func narrowed(_ request: Request, admitted: Admitted, peer: Peer) async -> Request {
        guard case .resource(.vmExport(let name, _)) = request, let machine = admitted.machine else { return request }
        let mayChange = await authorizer.authorize(.vmApply, peer: peer, details: machine.details) == .allowed
        return .resource(.vmExport(name, redactSecrets: !mayChange))
    }

    /// Runs an admitted request; `authorization` is how long admission took.
    private func perform(
        _ request: Request, peer: Peer, admitted: Admitted, authorization: Duration
    ) async throws(HVError) -> EncodedParameters {
        switch request {
        case .hostInfo: return try Self.parameters(HostInfoReply(host: try await hypervisor.hostInfo()))
        case .hostStats: return try Self.parameters(try await hypervisor.stats(includeForeign: admitted.seesForeign))
        case .hostHealth:
            var facts = await hypervisor.healthFacts()
            facts.polkitBackend = await authorizer.backend()
            let checks = BrokerHealth.checks(facts: facts, authorization: authorization, audit: await audit.verifyRecent(), auditLog: audit.path)
            return try Self.parameters(HealthReply(checks: checks))
        case .vmList: return try Self.parameters(VmListReply(vms: try await hypervisor.list(includeForeign: admitted.seesForeign)))
        case .vmInfo(let name): return try Self.parameters(VmInfoReply(vm: try await hypervisor.info(name)))
        case .vmCreate(let spec): return try Self.parameters(VmInfoReply(vm: try await hypervisor.create(spec, caller: peer)))
        case .vmStart(let name): try await hypervisor.start(name)
        case .vmShutdown(let name): try await hypervisor.shutdown(name)
        case .vmReboot(let name): try await hypervisor.reboot(name)
        case .vmKill(let name): try await hypervisor.kill(name)
        case .vmDelete(let name, let removeDisks):
            let removed = try await hypervisor.delete(name, removeDisks: removeDisks)
            return try Self.parameters(VmDeleteReply(removedDisks: removed))
        case .vmConsole(let name, let maxBytes):
            return try Self.parameters(try await hypervisor.readConsole(name, maxBytes: maxBytes))
        case .vmScreenshot(let name): return try Self.parameters(try await hypervisor.screenshot(name))
        case .auditVerify:
            return try Self.parameters(AuditVerifyReply(await audit.verifyAll()))
        case .resource(let resource):
            return try Self.parameters(try await hypervisor.perform(resource, caller: peer))
        case .backup(.jobs):
            return try Self.parameters(try await visibleJobs(try await hypervisor.perform(.jobs, caller: peer), peer: peer))
        case .backup(let backup):
            if case .restoreInPlace = backup, let machine = admitted.machine {
                // Admission learns which machine a restore in place overwrites: it is held from here on.
                let outcome = await objectLocks.withLocks(RequestObject.machine(machine.name).lockNames) {
                    () async -> Result<EncodedParameters, HVError> in
                    do throws(HVError) {
                        return .success(try Self.parameters(try await self.hypervisor.perform(backup, caller: peer)))
                    } catch {
                        return .failure(error)
                    }
                }
                return try outcome.get()
            }
            let reply = try await hypervisor.perform(backup, caller: peer)
            if case .runJob = backup { await recordJobMachines(reply, method: Method.backupRunJob, peer: peer) }
            return try Self.parameters(reply)
        case .getInfo, .getInterfaceDescription:
            // Answered by introspect() before authorization; never routed here.
            throw HVError(.failed, "introspection reached the authorized path")
        }
        return .none
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

    static let malformed = HVError(
        .protocolError, "the message is not a Varlink call: expected a JSON object with a string 'method'",
        fix: "send {\"method\": \"org.hypernixos.Vm.List\", \"parameters\": {}} terminated by a NUL byte",
        details: ["kind": "MalformedMessage"]
    )

    /// The error as a reply. A refusal by the host policy is recorded as `refused`, not as a failure.
    func failureReply(_ error: HVError, interface: String, entry: inout Entry) -> VarlinkReply {
        let name = error.varlinkName(interface: interface)
        entry.result = name
        if entry.decision == "allowed", error.code == .quotaExceeded || error.details["limit"] != nil {
            entry.decision = "refused"
        }
        return VarlinkReply(parameters: error.varlinkParameters, error: name)
    }

    /// A typed reply's parameters, written once.
    static func parameters<Value: Encodable>(_ value: Value) throws(HVError) -> EncodedParameters {
        do {
            return try EncodedParameters(value)
        } catch {
            throw HVError(.failed, "could not encode the reply: \(error)")
        }
    }
}
