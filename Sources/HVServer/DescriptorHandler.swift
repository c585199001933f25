import HVProtocol
import HVSystem

/// Answers calls that arrive on a `DescriptorServer`: calls that carry one open file, and calls that
/// are answered with one descriptor (`handedOutMethods`).
public protocol DescriptorHandler: Sendable {
    /// Handles one Varlink call and returns its encoded reply.
    ///
    /// - Parameter descriptor: an open, close-on-exec descriptor of a regular file the caller may
    ///   read (read-only or read-write; never a pipe, socket, directory or O_PATH reference). It
    ///   is the caller's file, which the caller may still be changing: copy it before trusting its
    ///   contents. It is lent: it stays open until this returns, and the server, its owner, closes
    ///   it afterwards (`dup` it to keep it longer).
    func handle(_ message: [UInt8], descriptor: Descriptor, from peer: Peer) async -> [UInt8]

    /// The methods that are called with no descriptor and answered with one (`handOut`): a call
    /// of any other method must carry exactly one file.
    var handedOutMethods: Set<String> { get }

    /// Handles a call of one of `handedOutMethods`, which came with no descriptor, and returns its
    /// encoded reply with at most one descriptor for the caller. The server sends the descriptor
    /// with the reply's first byte and then closes its own copy, so the caller holds the only one.
    func handOut(_ message: [UInt8], from peer: Peer) async -> HandedOut

    /// Told about a call refused before it reached `handle` (no descriptor or several, one that
    /// is not a readable regular file, oversized or unfinished input, too many clients in all or
    /// from one user).
    func recordRejected(_ error: HVError, from peer: Peer)
}

/// A reply of the upload socket and the descriptor, if any, that goes with it.
public struct HandedOut: Sendable {
    public var reply: [UInt8]
    /// Owned by the reply until it is sent; nil for a reply that hands out nothing (an error).
    public var descriptor: Descriptor?

    public init(reply: [UInt8], descriptor: Descriptor? = nil) {
        self.reply = reply
        self.descriptor = descriptor
    }
}

/// Where a `DescriptorServer` listens and the limits it enforces.
public struct DescriptorServerConfiguration: Sendable {
    public var listener: ServerConfiguration.Listener
    /// The permissions of a socket file the server binds itself; polkit decides, not the mode.
    public var socketMode: UInt32 = 0o666
    /// The largest call a client may send, in bytes.
    public var maximumMessageSize = 64 * 1024
    /// Connections beyond this many at once are told so and closed.
    public var maximumClients = 8
    /// Connections one user (uid) may hold at once, and so calls under way, since each connection
    /// carries one call; more are told so and closed before anything, descriptor included, is read.
    public var maximumClientsPerUser = 2
    /// Users the per-user limit does not apply to: root by default.
    public var exemptUsers: Set<UInt32> = [0]
    /// How long a client has to send its whole call, descriptor included, after connecting.
    public var receiveTimeout: Duration = .seconds(10)
    /// How long writing the reply may take before the client is given up.
    public var sendTimeout: Duration = .seconds(10)

    public init(listener: ServerConfiguration.Listener) {
        self.listener = listener
    }
}
