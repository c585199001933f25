import Logging
import NIOCore
import Synchronization

/// Connections to `/metrics` held at once by one owner (a local user, or a remote address): past
/// the limit a new one is closed as soon as it is accepted, so one local user can't hold every
/// slot and keep Prometheus out.
public final class ConnectionsPerOwner: Sendable {
    public let limit: Int
    private let counts = Mutex<[ConnectionOwner: Int]>([:])
    private let tables: @Sendable () -> [String]
    let logger: Logger

    public init(limit: Int, logger: Logger, tables: @escaping @Sendable () -> [String] = ConnectionOwner.readTables) {
        self.limit = limit
        self.logger = logger
        self.tables = tables
    }

    /// Counts a new connection; nil when its owner already holds `limit`.
    ///
    /// The kernel builds /proc/net/tcp a page at a time, and a socket can be skipped while others
    /// come and go, so a connection not found is looked up twice more before it counts as its
    /// address's.
    func admit(peer: SocketAddress, local: SocketAddress) -> ConnectionOwner? {
        var owner = ConnectionOwner.of(peer: peer, local: local, tables: tables())
        for _ in 0..<2 {
            guard case .address = owner else { break }
            owner = ConnectionOwner.of(peer: peer, local: local, tables: tables())
        }
        let counted = owner
        let admitted = counts.withLock { counts in
            guard counts[counted, default: 0] < limit else { return false }
            counts[counted, default: 0] += 1
            return true
        }
        return admitted ? counted : nil
    }

    func release(_ owner: ConnectionOwner) {
        counts.withLock { counts in
            let left = counts[owner, default: 1] - 1
            counts[owner] = left > 0 ? left : nil
        }
    }

    /// Connections `owner` holds now.
    public func count(_ owner: ConnectionOwner) -> Int { counts.withLock { $0[owner, default: 0] } }

    /// A handler for each connection's pipeline.
    func handler() -> OwnerLimitHandler { OwnerLimitHandler(limits: self) }
}

/// Admits its connection when it becomes active, or closes it; gives the slot back when it closes.
final class OwnerLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let limits: ConnectionsPerOwner
    private var owner: ConnectionOwner?
    private var checked = false

    init(limits: ConnectionsPerOwner) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { check(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        check(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    private func check(_ context: ChannelHandlerContext) {
        guard !checked else { return }
        checked = true
        guard let peer = context.channel.remoteAddress, let local = context.channel.localAddress else { return }
        owner = limits.admit(peer: peer, local: local)
        if owner == nil {
            limits.logger.notice(
                "metrics connection refused: its owner already holds as many as one client may",
                metadata: ["peer": "\(peer)", "limit": "\(limits.limit)"]
            )
            context.close(promise: nil)
        }
    }

    private func release() {
        if let owner { limits.release(owner) }
        owner = nil
    }
}
