import CHVFDPassing
import Foundation
import HVProtocol
import HVSystem

#if canImport(Glibc)
import Glibc
#endif

/// Calls on the broker's upload socket, which carry one open file along with the Varlink call
/// (SCM_RIGHTS): the broker reads the caller's file through the descriptor and never opens a path
/// the caller names.
public enum DescriptorPassing {
    public static let defaultSocketPath = "/run/hypervisor/upload.sock"
    /// How long the broker may take to answer by default: it copies and checks the whole file first.
    public static let defaultTimeoutSeconds = 3600

    /// Sends one call with `descriptor` attached and returns the reply (which may be an error
    /// reply; see `VarlinkReply.error`). The descriptor stays open here; the broker gets its own.
    public static func call(
        socketPath: String = defaultSocketPath, method: String, parameters: [String: JSONValue] = [:],
        descriptor: Descriptor, timeoutSeconds: Int = defaultTimeoutSeconds
    ) throws(HVError) -> VarlinkReply {
        let message = try VarlinkClient.encode(VarlinkCall(method: method, parameters: parameters))
        return try exchange(socketPath: socketPath, message: message, descriptors: [descriptor], timeoutSeconds: timeoutSeconds)
    }

    /// Calls `method` with typed parameters and decodes the reply, throwing an error reply as `HVError`.
    public static func call<Parameters: Encodable, Reply: Decodable>(
        _ method: String, _ parameters: Parameters, descriptor: Descriptor, socketPath: String = defaultSocketPath,
        timeoutSeconds: Int = defaultTimeoutSeconds, as reply: Reply.Type = Reply.self
    ) throws(HVError) -> Reply {
        let answer = try call(
            socketPath: socketPath, method: method, parameters: try VarlinkClient.encodeParameters(parameters),
            descriptor: descriptor, timeoutSeconds: timeoutSeconds
        )
        return try answer.decoded(as: Reply.self, method: method)
    }

    /// Sends one call alone and returns the reply with the descriptor it brings (nil with an error
    /// reply): the caller owns that descriptor. The reply's first read makes room for one
    /// descriptor, so a broker can't fill this process with more.
    public static func receiving(
        socketPath: String = defaultSocketPath, method: String, parameters: [String: JSONValue] = [:],
        timeoutSeconds: Int = VarlinkClient.defaultTimeoutSeconds
    ) throws(HVError) -> (reply: VarlinkReply, descriptor: Descriptor?) {
        let client = try VarlinkClient(socketPath: socketPath, service: "broker", timeoutSeconds: timeoutSeconds)
        try client.send(MessageFramer.frame(try VarlinkClient.encode(VarlinkCall(method: method, parameters: parameters))))
        return try client.receiveReplyWithDescriptor()
    }

    /// Calls a handed-out `method` with typed parameters: its reply, decoded, and the descriptor
    /// it brings. An error reply is thrown as `HVError`; a success without a descriptor is a
    /// protocol error.
    public static func receiving<Parameters: Encodable, Reply: Decodable>(
        _ method: String, _ parameters: Parameters, socketPath: String = defaultSocketPath, as reply: Reply.Type = Reply.self
    ) throws(HVError) -> (Reply, Descriptor) {
        let answer = try receiving(socketPath: socketPath, method: method, parameters: try VarlinkClient.encodeParameters(parameters))
        let decoded = try answer.reply.decoded(as: Reply.self, method: method)
        guard let descriptor = answer.descriptor else {
            throw HVError(.protocolError, "the broker answered \(method) without the descriptor the answer needs")
        }
        return (decoded, descriptor)
    }

    /// Sends an encoded call (without its NUL) with any number of descriptors attached, at most 16,
    /// and reads the reply. The broker accepts exactly one; this form exists so tests can check
    /// that it refuses anything else.
    public static func exchange(
        socketPath: String, message: [UInt8], descriptors: [Descriptor], timeoutSeconds: Int = defaultTimeoutSeconds
    ) throws(HVError) -> VarlinkReply {
        let client = try VarlinkClient(socketPath: socketPath, service: "broker", timeoutSeconds: timeoutSeconds)
        let frame = MessageFramer.frame(message)
        // sendmsg gives the broker copies; these descriptors stay their owners'.
        let numbers = descriptors.map(\.raw)
        let sent = retryingInterrupts {
            frame.withUnsafeBytes { bytes in
                numbers.withUnsafeBufferPointer { fds in
                    hv_send_with_descriptors(client.descriptor.raw, bytes.baseAddress, bytes.count, fds.baseAddress, Int32(fds.count))
                }
            }
        }
        guard sent > 0 else {
            throw HVError(
                .brokerUnavailable, "could not send the call to \(socketPath): \(String(cString: strerror(errno)))",
                fix: "check that the broker is running: systemctl status hv-broker.socket"
            )
        }
        // The descriptors went with the first bytes; the rest of a long call follows as plain data.
        if sent < frame.count { try client.send(Array(frame[sent...])) }
        return try client.receiveReply()
    }
}
