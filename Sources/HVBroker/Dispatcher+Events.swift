import Foundation
import HVProtocol
import HVServer
import HVWork

/// `org.hypernixos.Events.Follow`, answered with a stream of replies (Varlink `more`); the other
/// streamed call, `Audit.Verify` with progress, is in Dispatcher+AuditVerify.swift.
extension Dispatcher {
    public func handle(_ message: [UInt8], from peer: Peer, send: @escaping @Sendable ([UInt8]) async throws -> Void) async {
        // Decoded once, here, for the routing and the answer alike.
        let call = Self.call(message)
        switch call?.method {
        case Method.eventsFollow?:
            await WorkPool.$caller.withValue(peer.uid) { await follow(call!, from: peer, send: send) }
        case Method.auditVerify? where call?.more == true:
            await verifyAudit(call!, from: peer, send: send)
        case Method.isoVerify?, Method.backupCreate?, Method.backupVerify?, Method.backupRestore?, Method.backupPrune?,
            Method.backupRunJob?, Method.backupBootTest?:
            await answerJob(call!, from: peer, send: send)
        default:
            // Finished and recorded even if its caller leaves.
            await Self.answerUncancelled(send: send) { await self.handle(call, from: peer) }
        }
    }

    private func follow(_ call: VarlinkCall, from peer: Peer, send: @Sendable ([UInt8]) async throws -> Void) async {
        var entry = Entry(peer: peer)
        guard call.more == true else {
            entry.method = call.method
            entry.action = BrokerOperation.eventsFollow.action
            entry.decision = "invalid"
            return await failStream(
                HVError(
                    .invalidParameter, "Follow streams events: call it with \"more\": true",
                    fix: "set \"more\": true in the call, or use 'hv events'", details: ["kind": "ExpectedMore"]
                ), call: call, entry: &entry, send: send
            )
        }
        guard let admitted = await admitStream(call, .eventsFollow, entry: &entry, send: send) else { return }
        func fail(_ error: HVError) async {
            await failStream(error, call: call, entry: &entry, send: send)
        }
        let events: AsyncStream<VmEvent>
        do {
            events = try await hypervisor.follow()
        } catch {
            return await fail(error)
        }
        entry.result = "ok"
        await record(entry)
        do {
            try await send(VarlinkJSON.reply(try Self.parameters(EventReply(subscribed: true)), continues: true))
            var visible = VisibleMachines(seesForeign: admitted.seesForeign, hypervisor: hypervisor)
            for await event in events {
                guard await visible.contains(event.vm) else { continue }
                try await send(VarlinkJSON.reply(try Self.parameters(EventReply(event: event)), continues: true))
            }
            // The events ended without the client leaving: libvirt's connection closed.
            let error = HVError(
                .hypervisorUnavailable, "the broker lost its connection to libvirt, so the events stopped",
                fix: "run it again once libvirtd is back (systemctl status libvirtd)"
            )
            let reply = VarlinkReply(parameters: error.varlinkParameters, error: error.varlinkName(interface: call.interface))
            try await send(try VarlinkJSON.encode(reply))
        } catch {
            // The client went away: the stream ends with it.
        }
    }
}

extension Dispatcher {
    /// Decodes (a streamed call takes no parameters) and admits a streamed call; on refusal it is
    /// answered and recorded, and nil returned.
    func admitStream(
        _ call: VarlinkCall, _ operation: BrokerOperation, entry: inout Entry, send: @Sendable ([UInt8]) async throws -> Void
    ) async -> Admitted? {
        entry.method = call.method
        entry.action = operation.action
        do {
            _ = try StrictDecoding.decode(NoParameters.self, from: call.parameters)
        } catch {
            await failStream(error, call: call, entry: &entry, send: send)
            return nil
        }
        switch await admit(operation, object: .none, entry: &entry) {
        case .success(let admitted): return admitted
        case .failure(let refusal):
            await failStream(refusal, call: call, entry: &entry, send: send)
            return nil
        }
    }

    /// Ends a streamed call with an error: the reply is sent and the request recorded.
    func failStream(_ error: HVError, call: VarlinkCall, entry: inout Entry, send: @Sendable ([UInt8]) async throws -> Void) async {
        let reply = failureReply(error, interface: call.interface, entry: &entry)
        await record(entry)
        if let bytes = try? VarlinkJSON.encode(reply) { try? await send(bytes) }
    }
}

/// Which machines' events a follower sees: those the broker manages, or every domain for those who
/// may see foreign ones. A machine seen as managed stays visible, so its own deletion is reported.
struct VisibleMachines {
    let seesForeign: Bool
    let hypervisor: any Hypervisor
    private var managed: Set<String> = []

    init(seesForeign: Bool, hypervisor: any Hypervisor) {
        self.seesForeign = seesForeign
        self.hypervisor = hypervisor
    }

    mutating func contains(_ name: String) async -> Bool {
        if seesForeign || managed.contains(name) { return true }
        guard let machine = try? await hypervisor.resolve(machine: name), machine.managed else { return false }
        managed.insert(name)
        return true
    }
}
