import HVBroker
import HVProtocol

/// One framed message as the dispatcher reads it (`Dispatcher.respond`): decoded as a
/// `VarlinkCall`, then routed and strictly decoded into a `Request` (for `Vm.Apply`, a whole spec
/// through `StrictDecoding`). A refusal must become a reply the dispatcher can encode.
enum VarlinkTarget {
    static func run(_ message: [UInt8]) {
        guard let call = try? VarlinkJSON.decode(VarlinkCall.self, from: message) else { return }
        do {
            let request = try Request(call)
            _ = (request.operation, request.target, request.object)
        } catch {
            let reply = VarlinkReply(parameters: error.varlinkParameters, error: error.varlinkName(interface: call.interface))
            check((try? VarlinkJSON.encode(reply)) != nil, "the refusal of \(call.method) could not be encoded: \(error)")
        }
    }
}
