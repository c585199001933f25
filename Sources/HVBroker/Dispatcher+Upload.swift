import Foundation
import HVProtocol
import HVServer
import HVSystem
import HVWork

/// The upload socket: `org.hypernixos.Iso.Add` with the image's open descriptor attached. Same
/// admission path as every other call: decode → validate → admit → audit the intent → act → audit.
extension Dispatcher: DescriptorHandler {
    public func handle(_ message: [UInt8], descriptor: Descriptor, from peer: Peer) async -> [UInt8] {
        await WorkPool.$caller.withValue(peer.uid) {
            var entry = Entry(peer: peer)
            let reply = await upload(message, descriptor: descriptor, entry: &entry)
            await record(entry)
            return (try? VarlinkJSON.encode(reply)) ?? BrokerServer.encode(HVError(.failed, "the reply could not be encoded"))
        }
    }

    private func upload(_ message: [UInt8], descriptor: Descriptor, entry: inout Entry) async -> VarlinkReply {
        let call: VarlinkCall
        let parameters: IsoAddParameters
        do {
            call = try VarlinkJSON.decode(VarlinkCall.self, from: message)
        } catch {
            entry.decision = "invalid"
            return failureReply(HVError(.protocolError, "the message is not a Varlink call", details: ["kind": "MalformedMessage"]), interface: "", entry: &entry)
        }
        entry.method = call.method
        do throws(HVError) {
            guard call.method == Self.uploadedMethod else {
                throw HVError(
                    .methodNotFound, "the upload socket takes only \(Self.uploadedMethod) with a file attached",
                    fix: "send other calls to the broker socket", details: ["method": call.method]
                )
            }
            parameters = try StrictDecoding.decode(IsoAddParameters.self, from: call.parameters)
            try IsoName.validate(parameters.name, field: "name")
            try Sha256Text.validate(parameters.sha256)
            if let signature = parameters.signature, signature.utf8.count > 96 * 1024 {
                throw HVError.invalidParameter("signature", "the signature is over 64 KiB; a detached signature is a few hundred bytes", fix: "pass the .sig or .asc file")
            }
            if let source = parameters.source, source.utf8.count > 2048 {
                throw HVError.invalidParameter("source", "source is longer than 2048 characters", fix: "give the URL the image came from")
            }
        } catch {
            entry.decision = "invalid"
            return failureReply(error, interface: call.interface, entry: &entry)
        }
        entry.target = parameters.name
        entry.action = BrokerOperation.isoAdd.action
        if case .failure(let refusal) = await admit(.isoAdd, object: .none, entry: &entry) {
            return failureReply(refusal, interface: call.interface, entry: &entry)
        }
        if let refusal = await recordIntent(.isoAdd, entry: entry) {
            return failureReply(refusal, interface: call.interface, entry: &entry)
        }
        do {
            let iso = try await hypervisor.isoAdd(parameters, descriptor: descriptor, caller: entry.peer)
            entry.result = "ok"
            return VarlinkReply(parameters: try Self.object(IsoReply(iso: iso)))
        } catch {
            return failureReply(error, interface: call.interface, entry: &entry)
        }
    }
}
