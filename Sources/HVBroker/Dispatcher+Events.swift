import Foundation
import HVProtocol
import HVServer
import HVWork

/// `org.hypernixos.Events.Follow`: the one method answered with a stream of replies (Varlink `more`).
extension Dispatcher {
    public func handle(_ message: [UInt8], from peer: Peer, send: @Sendable ([UInt8]) async throws -> Void) async {
        guard let call = try? VarlinkJSON.decode(VarlinkCall.self, from: message) else {
            return await answerOnce(message, from: peer, send: send)
        }
        switch call.method {
        case Method.eventsFollow:
            await WorkPool.$caller.withValue(peer.uid) { await follow(call, from: peer, send: send) }
        case Method.isoVerify:
            await answerJob(message, more: call.more == true, from: peer, send: send)
        default:
            await answerOnce(message, from: peer, send: send)
        }
    }

    private func follow(_ call: VarlinkCall, from peer: Peer, send: @Sendable ([UInt8]) async throws -> Void) async {
        var entry = Entry(peer: peer)
        entry.method = call.method
        entry.action = BrokerOperation.eventsFollow.action
        func fail(_ error: HVError) async {
            let reply = failureReply(error, interface: call.interface, entry: &entry)
            record(entry)
            if let bytes = try? VarlinkJSON.encode(reply) { try? await send(bytes) }
        }
        do {
            _ = try StrictDecoding.decode(NoParameters.self, from: call.parameters)
        } catch {
            return await fail(error)
        }
        guard call.more == true else {
            entry.decision = "invalid"
            return await fail(HVError(
                .invalidParameter, "Follow streams events: call it with \"more\": true",
                fix: "set \"more\": true in the call, or use 'hv events'", details: ["kind": "ExpectedMore"]
            ))
        }
        let admitted: Admitted
        switch await admit(.eventsFollow, object: .none, entry: &entry) {
        case .success(let value): admitted = value
        case .failure(let refusal): return await fail(refusal)
        }
        let events: AsyncStream<VmEvent>
        do {
            events = try await hypervisor.follow()
        } catch {
            return await fail(error)
        }
        entry.result = "ok"
        record(entry)
        do {
            try await send(try VarlinkJSON.encode(VarlinkReply(parameters: try Self.object(EventReply(subscribed: true)), continues: true)))
            var visible = VisibleMachines(seesForeign: admitted.seesForeign, hypervisor: hypervisor)
            for await event in events {
                guard await visible.contains(event.vm) else { continue }
                try await send(try VarlinkJSON.encode(VarlinkReply(parameters: try Self.object(EventReply(event: event)), continues: true)))
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
