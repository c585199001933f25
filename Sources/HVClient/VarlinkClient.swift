import CHVFDPassing
import Foundation
import HVProtocol
import HVSystem

#if canImport(Glibc)
import Glibc
#endif

/// A blocking Varlink client over a Unix socket: one call at a time, replies in order.
public final class VarlinkClient {
    public static let defaultSocketPath = "/run/hypervisor/broker.sock"
    /// Replies larger than this are refused rather than buffered without end.
    public static let maximumReplySize = 16 * 1024 * 1024

    /// How long a call may wait for its reply by default.
    public static let defaultTimeoutSeconds = 120

    public let socketPath: String
    let descriptor: Descriptor
    let service: String
    let timeoutSeconds: Int
    private var framer = MessageFramer(maximumMessageSize: VarlinkClient.maximumReplySize)
    /// Whether the reply being read may bring a descriptor (`receiveReplyWithDescriptor`), and
    /// the one it brought.
    private var takesDescriptor = false
    private var passedDescriptor: Descriptor?

    /// - Parameters:
    ///   - service: which service listens there, for error messages: `broker` or `monitor`.
    ///   - timeoutSeconds: how long a send or a reply may take before the call fails, so a server
    ///     that accepts but never answers can't hang the caller.
    public init(
        socketPath: String, service: String = "broker", timeoutSeconds: Int = defaultTimeoutSeconds
    ) throws(HVError) {
        self.socketPath = socketPath
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw HVError(.invalidParameter, "socket path is too long: \(socketPath)", fix: "use a shorter path")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let descriptor: Descriptor
        do {
            descriptor = try Descriptor.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), name: socketPath)
            try systemCall("connect to \(socketPath)") {
                withUnsafePointer(to: &address) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(descriptor.raw, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
            }
        } catch {
            throw Self.unavailable(socketPath, error.code, service: service)
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            setsockopt(descriptor.raw, SOL_SOCKET, option, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        self.descriptor = descriptor
        self.service = service
        self.timeoutSeconds = timeoutSeconds
    }

    /// Sets how long a read may wait for data; 0 waits without limit (between the replies of a stream).
    func setReceiveTimeout(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor.raw, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Calls a method and decodes its reply parameters.
    public func call<Parameters: Encodable, Reply: Decodable>(
        _ method: String, _ parameters: Parameters, as reply: Reply.Type = Reply.self
    ) throws(HVError) -> Reply {
        let answer = try callRaw(VarlinkCall(method: method, parameters: try Self.encodeParameters(parameters)))
        return try answer.decoded(as: Reply.self, method: method)
    }

    /// Sends a call and returns the raw reply.
    public func callRaw(_ call: VarlinkCall) throws(HVError) -> VarlinkReply {
        try send(MessageFramer.frame(try Self.encode(call)))
        return try receiveReply()
    }

    /// Typed parameters as the JSON object a call carries.
    static func encodeParameters<Parameters: Encodable>(_ parameters: Parameters) throws(HVError) -> [String: JSONValue] {
        do {
            return try VarlinkJSON.object(parameters)
        } catch {
            throw HVError(.invalidParameter, "could not encode parameters: \(error)")
        }
    }

    /// A call as the bytes of one message, without its NUL.
    static func encode(_ call: VarlinkCall) throws(HVError) -> [UInt8] {
        do {
            return try VarlinkJSON.encode(call)
        } catch {
            throw HVError(.invalidParameter, "could not encode the call: \(error)")
        }
    }

    /// Reads one message and decodes it as a reply.
    func receiveReply() throws(HVError) -> VarlinkReply {
        let reply = try receive()
        do {
            return try VarlinkJSON.decode(VarlinkReply.self, from: reply)
        } catch {
            throw HVError(.protocolError, "the broker sent a reply that is not Varlink JSON: \(error)")
        }
    }

    /// Reads one reply and the descriptor that came with it, if any (SCM_RIGHTS). Room is made for
    /// one descriptor until one came, so no more can enter this process.
    func receiveReplyWithDescriptor() throws(HVError) -> (reply: VarlinkReply, descriptor: Descriptor?) {
        takesDescriptor = true
        defer {
            takesDescriptor = false
            passedDescriptor = nil
        }
        let reply = try receiveReply()
        return (reply, passedDescriptor)
    }

    /// Writes raw bytes, for tests of malformed input.
    public func send(_ bytes: [UInt8]) throws(HVError) {
        do {
            try descriptor.writeAll(bytes)
        } catch {
            throw HVError(.brokerUnavailable, "the connection to the broker broke: \(error.reason)")
        }
    }

    /// Reads one NUL-terminated message.
    public func receive() throws(HVError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            do {
                if let message = try framer.next() { return message }
            } catch {
                throw HVError(.protocolError, "the broker's reply exceeds \(Self.maximumReplySize) bytes")
            }
            let count = readChunk(into: &buffer)
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw HVError(
                    .brokerUnavailable, "the \(service) did not answer within \(timeoutSeconds) s",
                    fix: "check the \(service)'s log; it may be overloaded or stuck"
                )
            }
            guard count > 0 else {
                let fix = "check the broker's log (journalctl -u hv-broker)"
                do {
                    try framer.finish()
                } catch {
                    throw HVError(.brokerUnavailable, "the broker's reply was cut off: \(error.reason)", fix: fix)
                }
                throw HVError(.brokerUnavailable, "the broker closed the connection before replying", fix: fix)
            }
            framer.append(buffer[..<count])
        }
    }

    /// One read of the socket; while a descriptor may come and none has, with room for exactly one.
    private func readChunk(into buffer: inout [UInt8]) -> Int {
        guard takesDescriptor, passedDescriptor == nil else {
            return retryingInterrupts { buffer.withUnsafeMutableBytes { read(descriptor.raw, $0.baseAddress, $0.count) } }
        }
        var received: Int32 = -1
        var count: Int32 = 0
        var cut: Int32 = 0
        let bytes = retryingInterrupts {
            buffer.withUnsafeMutableBytes {
                hv_receive_with_descriptors(descriptor.raw, $0.baseAddress, $0.count, &received, 1, &count, &cut)
            }
        }
        if count > 0 { passedDescriptor = Descriptor(received, name: "the descriptor the broker passed") }
        return bytes
    }

    static func unavailable(_ path: String, _ code: Int32, service: String) -> HVError {
        let unit = service == "broker" ? "hv-broker.socket" : "hv-monitor"
        let fix: String
        switch code {
        case ENOENT:
            fix = service == "broker"
                ? "the broker socket \(path) does not exist: start the broker with 'systemctl start hv-broker.socket' "
                    + "(or, as root, 'scripts/setup.sh' on a machine without systemd), or point --socket / HV_SOCKET at its socket"
                : "the monitor socket \(path) does not exist: start the monitor with 'systemctl start hv-monitor', "
                    + "or point --monitor-socket / HV_MONITOR_SOCKET at its socket"
        case ECONNREFUSED:
            fix = "nothing is listening on \(path): start the \(service) with 'systemctl start \(unit)'"
        case EACCES:
            fix = "you may not open \(path): the socket should be mode 0666 (polkit rules decide access)"
        default:
            fix = "check that the \(service) is running: systemctl status \(unit)"
        }
        return HVError(
            .brokerUnavailable, "cannot connect to the \(service) at \(path): \(String(cString: strerror(code)))",
            fix: fix
        )
    }
}

extension VarlinkReply {
    /// The reply's parameters as `Reply`, or the error the reply carries.
    func decoded<Reply: Decodable>(as type: Reply.Type, method: String) throws(HVError) -> Reply {
        if let error {
            throw HVError(varlinkName: error, parameters: parameters)
        }
        do {
            return try VarlinkJSON.convert(parameters ?? [:], to: Reply.self)
        } catch {
            throw HVError(.protocolError, "the broker's reply to \(method) could not be read: \(error)")
        }
    }
}
