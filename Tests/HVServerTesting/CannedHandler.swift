import HVProtocol
import HVServer
import Synchronization

/// Answers each method with a reply set in advance and records the methods called, behind the
/// real server: the server does the framing, limits and peer credentials, this only the answers.
public final class CannedHandler: MessageHandler {
    /// The reply to each method; a test may change them between calls. Any other method is
    /// answered `org.varlink.service.MethodNotFound`.
    public let replies: Mutex<[String: VarlinkReply]>
    /// The methods called, in order.
    public let calls = Mutex<[String]>([])

    public init(_ replies: [String: VarlinkReply]) {
        self.replies = Mutex(replies)
    }

    /// A reply carrying `value` as its parameters.
    public static func reply<Value: Encodable>(_ value: Value) throws -> VarlinkReply {
        VarlinkReply(parameters: try VarlinkJSON.object(value))
    }

    /// The error reply a service of `interface` sends for `error`.
    public static func error(_ error: HVError, interface: String) -> VarlinkReply {
        VarlinkReply(parameters: error.varlinkParameters, error: error.varlinkName(interface: interface))
    }

    public func handle(_ message: [UInt8], from peer: Peer) async -> [UInt8]? {
        guard let call = try? VarlinkJSON.decode(VarlinkCall.self, from: message) else {
            return ErrorReply.encode(HVError(.protocolError, "the message is not a Varlink call", details: ["kind": "MalformedMessage"]))
        }
        calls.withLock { $0.append(call.method) }
        let reply = replies.withLock { $0[call.method] }
            ?? Self.error(HVError(.methodNotFound, "unknown method '\(call.method)'", details: ["method": call.method]), interface: "")
        return try? VarlinkJSON.encode(reply)
    }

    public func recordRejected(_ error: HVError, from peer: Peer) {}
}
