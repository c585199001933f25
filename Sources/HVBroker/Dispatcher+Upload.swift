import Foundation
import HVProtocol
import HVServer
import HVSystem
import HVWork

/// The upload socket: `org.hypernixos.Iso.Add` and `org.hypernixos.Image.Import`, each with the
/// file's open descriptor attached. Same admission path as every other call: decode → validate →
/// admit → audit the intent → act → audit.
extension Dispatcher: DescriptorHandler {
    public func handle(_ message: [UInt8], descriptor: Descriptor, from peer: Peer) async -> [UInt8] {
        await WorkPool.$caller.withValue(peer.uid) {
            var entry = Entry(peer: peer)
            let answer = await upload(message, descriptor: descriptor, entry: &entry)
            await record(entry)
            return answer.bytes()
        }
    }

    private func upload(_ message: [UInt8], descriptor: Descriptor, entry: inout Entry) async -> Answer {
        let call: VarlinkCall
        do {
            call = try VarlinkJSON.decode(VarlinkCall.self, from: message)
        } catch {
            entry.decision = "invalid"
            return .reply(failureReply(HVError(.protocolError, "the message is not a Varlink call", details: ["kind": "MalformedMessage"]), interface: "", entry: &entry))
        }
        entry.method = call.method
        switch call.method {
        case Method.isoAdd: return await isoAdd(call, descriptor: descriptor, entry: &entry)
        case Method.imageImport: return await imageImport(call, descriptor: descriptor, entry: &entry)
        default:
            entry.decision = "invalid"
            let error = HVError(
                .methodNotFound, "the upload socket takes only \(Self.uploadedMethods.sorted().joined(separator: " and ")) with a file attached",
                fix: "send other calls to the broker socket", details: ["method": call.method]
            )
            return .reply(failureReply(error, interface: call.interface, entry: &entry))
        }
    }

    private func isoAdd(_ call: VarlinkCall, descriptor: Descriptor, entry: inout Entry) async -> Answer {
        let parameters: IsoAddParameters
        do throws(HVError) {
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
            return .reply(failureReply(error, interface: call.interface, entry: &entry))
        }
        entry.target = parameters.name
        return await admitUpload(.isoAdd, object: .none, call: call, entry: &entry) { peer throws(HVError) in
            IsoReply(iso: try await self.hypervisor.isoAdd(parameters, descriptor: descriptor, caller: peer))
        }
    }

    private func imageImport(_ call: VarlinkCall, descriptor: Descriptor, entry: inout Entry) async -> Answer {
        let parameters: ImageImportParameters
        do throws(HVError) {
            parameters = try StrictDecoding.decode(ImageImportParameters.self, from: call.parameters)
            try parameters.validate()
        } catch {
            entry.decision = "invalid"
            return .reply(failureReply(error, interface: call.interface, entry: &entry))
        }
        entry.target = parameters.name
        // The group the template will be charged to: the one named, else the caller's.
        var group = parameters.group ?? ""
        if parameters.group == nil {
            do throws(HVError) {
                group = try await hypervisor.chargeGroup(for: entry.peer)
            } catch {
                return .reply(failureReply(error, interface: call.interface, entry: &entry))
            }
        }
        return await admitUpload(.imageImport, object: .groupImage(name: parameters.name, group: group), call: call, entry: &entry) {
            peer throws(HVError) in
            ImageImportReply(image: try await self.hypervisor.imageImport(parameters, group: group, descriptor: descriptor, caller: peer))
        }
    }

    /// Admits the call, records the intent, then acts; the act's reply or error is the answer.
    private func admitUpload<Reply: Encodable>(
        _ operation: BrokerOperation, object: RequestObject, call: VarlinkCall, entry: inout Entry,
        act: (Peer) async throws(HVError) -> Reply
    ) async -> Answer {
        entry.action = operation.action
        if case .failure(let refusal) = await admit(operation, object: object, entry: &entry) {
            return .reply(failureReply(refusal, interface: call.interface, entry: &entry))
        }
        if let refusal = await recordIntent(operation, entry: entry) {
            return .reply(failureReply(refusal, interface: call.interface, entry: &entry))
        }
        do throws(HVError) {
            let reply = try await act(entry.peer)
            entry.result = "ok"
            return .parameters(try Self.parameters(reply))
        } catch {
            return .reply(failureReply(error, interface: call.interface, entry: &entry))
        }
    }
}
