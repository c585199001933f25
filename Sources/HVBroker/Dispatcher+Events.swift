import Foundation
import HVProtocol
import HVServer

/// `org.hypernixos.Events.Follow`: the one method answered with a stream of replies (Varlink `more`).
extension Dispatcher {
    public func handle(_ message: [UInt8], from peer: Peer, send: @Sendable ([UInt8]) async throws -> Void) async {
        guard let call = try? VarlinkJSON.decode(VarlinkCall.self, from: message), call.method == Method.eventsFollow else {
            return await answerOnce(message, from: peer, send: send)
        }
        await follow(call, from: peer, send: send)
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
        switch await authorizer.authorize(.eventsFollow, peer: peer) {
        case .allowed: entry.decision = "allowed"
        case .denied:
            entry.decision = "denied"
            return await fail(Self.denial(.eventsFollow))
        case .unavailable(let reason):
            entry.decision = "unavailable"
            return await fail(HVError(.authorizationUnavailable, "polkit could not be asked, so the request was refused: \(reason)", fix: "start polkitd"))
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
            for await event in events {
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
