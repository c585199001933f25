import HVProtocol
import HVServer

/// What a call is answered with: a typed reply's parameters, already written, or a reply the
/// dispatcher built itself (an error, introspection).
enum Answer: Sendable {
    case parameters(EncodedParameters)
    case reply(VarlinkReply)

    /// The reply's bytes; an error reply when a reply of the dispatcher's own can't be written.
    func bytes() -> [UInt8] {
        switch self {
        case .parameters(let parameters):
            return VarlinkJSON.reply(parameters)
        case .reply(let reply):
            return (try? VarlinkJSON.encode(reply)) ?? BrokerServer.encode(HVError(.failed, "the reply could not be encoded"))
        }
    }
}
