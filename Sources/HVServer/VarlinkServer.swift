import CHVShims
import Foundation
import HVProtocol
import HVSystem
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Accepts clients on a Unix socket and serves each connection in its own child task, so a slow,
/// broken or hostile client never holds up another; its tasks run on the event loop of its socket
/// when the configuration says so (`tasksOnEventLoop`). What each message means is the handler's
/// business; the server owns framing, limits and peer credentials.
public final class VarlinkServer<Handler: MessageHandler>: Service {
    let configuration: ServerConfiguration
    let handler: Handler
    let name: String
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let limits: UserLimits
    private let lastActivity = Mutex(ContinuousClock.now)
    private let onListening: @Sendable () async -> Void

    /// - Parameters:
    ///   - name: how log lines name this server, e.g. `broker` or `monitor`.
    ///   - onListening: called once the socket is bound, published and listening, before the first
    ///     client is served; a test waits for it rather than for the socket file to appear.
    public init(
        name: String, configuration: ServerConfiguration, handler: Handler,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        onListening: @escaping @Sendable () async -> Void = {}
    ) {
        self.name = name
        self.configuration = configuration
        self.handler = handler
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.limits = configuration.userLimits()
        self.onListening = onListening
    }

    struct Client: Sendable {
        var channel: NIOAsyncChannel<InboundFrame, ByteBuffer>
        var credentials: hv_ucred
        var activity: ConnectionActivity
    }

    public func run() async throws {
        let server = try await bind()
        logger.info("\(name) listening", metadata: ["listener": "\(configuration.listener)"])
        await onListening()
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                if let idle = configuration.idleExit {
                    group.addTask { try await self.closeWhenIdle(server.channel, after: idle) }
                }
                try await server.executeThenClose { clients in
                    for try await client in clients {
                        guard configuration.tasksOnEventLoop else {
                            group.addTask { await self.serve(client) }
                            continue
                        }
                        let executor = EventLoopExecutor(client.channel.channel.eventLoop)
                        group.addTask(executorPreference: executor) {
                            await ConnectionExecutor.$current.withValue(executor) { await self.serve(client) }
                        }
                    }
                }
                // The listener is closed: drop the remaining connections rather than wait on idle ones.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        logger.info("\(name) stopped")
    }

    private func bind() async throws -> NIOAsyncChannel<Client, Never> {
        let maximumMessageSize = configuration.maximumMessageSize
        let readTimeout = configuration.readTimeout
        let idleTimeout = configuration.idleTimeout
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Client> = { channel in
            let activity = ConnectionActivity()
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    FramingHandler(
                        maximumMessageSize: maximumMessageSize, readTimeout: readTimeout, idleTimeout: idleTimeout,
                        activity: activity
                    )
                )
                return try NIOAsyncChannel<InboundFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
            }.flatMap { wrapped in
                guard let provider = channel as? any SocketOptionProvider else {
                    return channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
                }
                let credentials: EventLoopFuture<hv_ucred> = provider.unsafeGetSocketOption(
                    level: .socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED)
                )
                return credentials.map { Client(channel: wrapped, credentials: $0, activity: activity) }
            }
        }
        let bootstrap = ServerBootstrap(group: eventLoopGroup).serverChannelOption(.backlog, value: 256)
        switch configuration.listener {
        case .path(let path):
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o755]
            )
            // Published through `SocketPath`: bound under a staging name, then renamed.
            let staging = SocketPath.staging(path)
            try SocketPath.requireSocketOrAbsent(path)
            let server = try await bootstrap.bind(
                unixDomainSocketPath: staging, cleanupExistingSocketFile: true, childChannelInitializer: initializer
            )
            guard SocketPath.publish(path, mode: configuration.socketMode) else {
                let reason = String(cString: strerror(errno))
                try? await server.executeThenClose { _ in }
                unlink(staging)
                throw HVError(.failed, "cannot publish the socket at \(path): \(reason)", fix: "check the directory's ownership and free space")
            }
            return server
        case .inherited(let descriptor):
            // The channel owns the socket from here on and closes it.
            return try await bootstrap.bind(descriptor.take(), childChannelInitializer: initializer)
        }
    }

    /// Serves one connection. Streaming connections count against the connection limits like any
    /// other. The limits are checked on the kernel's uid before any message is read.
    private func serve(_ client: Client) async {
        let uid = client.credentials.uid
        let refusal = limits.connect(uid)
        defer {
            if refusal == nil { limits.disconnect(uid) }
            lastActivity.withLock { $0 = .now }
        }
        let peer = Peer(uid: uid, gid: client.credentials.gid, pid: client.credentials.pid)
        let channel = client.channel.channel
        do {
            try await client.channel.executeThenClose { inbound, outbound in
                if let refusal {
                    try await refuse(refusal.error(server: name, uid: uid), peer: peer, outbound: outbound)
                    return
                }
                // When the client goes away, whatever its connection is doing (waiting for the next
                // event of a stream, say) is cancelled.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await self.answer(inbound, outbound, peer: peer, activity: client.activity)
                    }
                    group.addTask { await ChannelClosure.wait(for: channel) }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["pid": "\(peer.pid)", "error": "\(error)"])
        }
    }

    /// Answers the connection's messages in order until it ends or breaks a limit.
    private func answer(
        _ inbound: NIOAsyncChannelInboundStream<InboundFrame>, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        peer: Peer, activity: ConnectionActivity
    ) async throws {
        let send: @Sendable ([UInt8]) async throws -> Void = { reply in
            try await outbound.write(Self.frame(reply))
        }
        for try await frame in inbound {
            switch frame {
            case .message(let message):
                activity.begin()
                defer { activity.end() }
                // Cancelled while waiting: the client left.
                guard await limits.startCall(peer.uid) else { return }
                let place = CallPlace(limits: limits, uid: peer.uid)
                await handler.handle(message, from: peer) { reply in
                    place.release()
                    try await send(reply)
                }
                place.release()
            case .tooLarge(let limit):
                try await refuse(
                    "MessageTooLarge", "the message exceeds the limit of \(limit) bytes; the connection is closed",
                    fix: "send smaller requests", peer: peer, outbound: outbound
                )
                return
            case .timedOut(let seconds):
                try await refuse(
                    "ReadTimeout", "the message was not finished within \(seconds) s; the connection is closed",
                    fix: "terminate every message with a NUL byte", peer: peer, outbound: outbound
                )
                return
            case .idle(let seconds):
                // Told, not audited: no request was refused.
                let error = HVError(
                    .protocolError, "no message came for \(seconds) s; the connection is closed",
                    fix: "connect again for the next call", details: ["kind": "IdleTimeout"]
                )
                logger.debug("idle connection closed", metadata: ["pid": "\(peer.pid)", "uid": "\(peer.uid)"])
                try await outbound.write(Self.frame(Self.encode(error)))
                return
            }
        }
    }

    /// Audits a connection-level refusal and tells the client; the caller then ends the connection.
    private func refuse(
        _ kind: String, _ reason: String, fix: String, peer: Peer, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws {
        try await refuse(HVError(.protocolError, reason, fix: fix, details: ["kind": kind]), peer: peer, outbound: outbound)
    }

    private func refuse(_ error: HVError, peer: Peer, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        handler.recordRejected(error, from: peer)
        try await outbound.write(Self.frame(Self.encode(error)))
    }

    /// Encodes an error reply for a problem found before any method was known.
    public static func encode(_ error: HVError) -> [UInt8] {
        ErrorReply.encode(error)
    }

    private static func frame(_ reply: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(reply.count + 1)
        buffer.writeBytes(reply)
        buffer.writeInteger(MessageFramer.terminator)
        return buffer
    }

    /// Under socket activation the server may leave once nobody has used it for a while; systemd
    /// keeps the socket and starts it again on the next connection.
    private func closeWhenIdle(_ server: any Channel, after idle: Duration) async throws {
        while !Task.isCancelled {
            // Cancelled when the server stops for another reason: a normal end, not a failure.
            guard (try? await Task.sleep(for: .seconds(1))) != nil else { return }
            let quietFor = ContinuousClock.now - lastActivity.withLock { $0 }
            if limits.connections == 0, quietFor >= idle, !configuration.busyElsewhere() {
                logger.info("idle, exiting", metadata: ["idleSeconds": "\(idle.components.seconds)"])
                try? await server.close()
                return
            }
        }
    }
}

/// One call's place among its user's calls under way, given up exactly once: at the first reply
/// or when the call ends, whichever comes first.
private final class CallPlace: Sendable {
    private let limits: UserLimits
    private let uid: UInt32
    private let released = Atomic<Bool>(false)

    init(limits: UserLimits, uid: UInt32) {
        self.limits = limits
        self.uid = uid
    }

    func release() {
        guard !released.exchange(true, ordering: .relaxed) else { return }
        limits.finishCall(uid)
    }
}
