import HVSystem
import NIOCore

/// Where a Varlink server listens and the limits it enforces on every client.
public struct ServerConfiguration: Sendable {
    public enum Listener: Sendable {
        /// Bind this path, replacing a stale socket file.
        case path(String)
        /// Adopt a listening socket passed by systemd; the server takes it over and closes it.
        case inherited(descriptor: Descriptor)
    }

    public var listener: Listener
    /// The permissions of a socket file the server binds itself. World-connectable by default:
    /// polkit, not the file mode, decides what each caller may do.
    public var socketMode: UInt32 = 0o666
    /// The largest message a client may send, in bytes.
    public var maximumMessageSize = 1024 * 1024
    /// Connections beyond this many are told so and closed.
    public var maximumClients = 64
    /// Connections one user (uid) may hold at once; more are told so and closed before anything is
    /// read from them. Users in `exemptUsers` are held only to `maximumClients`.
    public var maximumClientsPerUser = 16
    /// Calls of one user answered at once; further calls of that user wait their turn. A call
    /// counts until its first reply, so a stream that waits for events holds no place.
    public var maximumCallsPerUser = 4
    /// Users the per-user limits do not apply to: root by default.
    public var exemptUsers: Set<UInt32> = [0]
    /// How long part of a message may wait for its rest.
    public var readTimeout: TimeAmount = .seconds(10)
    /// How long a connection may stay open between messages, with nothing under way; a stream
    /// being sent is not idle.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// Exit after this long without any connection (socket activation); nil to run until stopped.
    public var idleExit: Duration?
    /// Whether a connection's tasks run on the event loop of its socket (`EventLoopExecutor`), so
    /// a request and its reply cross no thread, or on Swift's threads. Only for a handler that does
    /// no blocking work itself: the broker's runs every blocking call on its pools, while the
    /// monitor's reads its SQLite history in place and keeps Swift's threads.
    public var tasksOnEventLoop = false
    /// Whether work that outlives its connection is under way (the broker's console sessions):
    /// while it is, the server does not exit for being idle.
    public var busyElsewhere: @Sendable () -> Bool = { false }

    public init(listener: Listener) {
        self.listener = listener
    }

    /// The per-user accounting these limits describe.
    func userLimits() -> UserLimits {
        UserLimits(
            maximumClients: maximumClients, maximumClientsPerUser: maximumClientsPerUser,
            maximumCallsPerUser: maximumCallsPerUser, exemptUsers: exemptUsers
        )
    }
}
