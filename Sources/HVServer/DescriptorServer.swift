import CHVShims
import Foundation
import HVProtocol
import HVSystem
import Logging
import ServiceLifecycle

/// A small Unix-socket server for Varlink calls that carry one open file descriptor (SCM_RIGHTS),
/// which the NIO channel of the main socket cannot receive: `hv iso add` hands the broker the file
/// it downloaded this way, so the broker never opens a path the caller names. The handler's
/// `handedOutMethods` go the other way: the call comes alone and its reply carries one descriptor
/// to the caller (a console, a display), which the server closes once sent.
///
/// Each connection carries exactly one call: the client sends it with the descriptor attached,
/// reads the reply, and the server closes the descriptor and the connection. Accepting and every
/// blocking read and write happen on dedicated threads, never on an event loop or the cooperative
/// pool; only the handler runs as async code. Graceful shutdown wakes every blocked thread.
public final class DescriptorServer<Handler: DescriptorHandler>: Service {
    let configuration: DescriptorServerConfiguration
    let handler: Handler
    let name: String
    let logger: Logger
    private let limits: UserLimits
    private let onListening: @Sendable () async -> Void

    /// - Parameters:
    ///   - name: how log lines and error messages name this server, e.g. `broker upload`.
    ///   - onListening: called once the socket is bound, published and listening, before the first
    ///     client is accepted; a test waits for it rather than for the socket file to appear.
    public init(
        name: String, configuration: DescriptorServerConfiguration, handler: Handler, logger: Logger,
        onListening: @escaping @Sendable () async -> Void = {}
    ) {
        self.name = name
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        self.onListening = onListening
        // One call a connection: a user's calls under way never outnumber its connections.
        self.limits = UserLimits(
            maximumClients: configuration.maximumClients, maximumClientsPerUser: configuration.maximumClientsPerUser,
            maximumCallsPerUser: configuration.maximumClientsPerUser, exemptUsers: configuration.exemptUsers
        )
    }

    public func run() async throws {
        let listener: UnixListener
        switch configuration.listener {
        case .path(let path): listener = try UnixListener(path: path, mode: configuration.socketMode)
        case .inherited(let descriptor): listener = try UnixListener(adopting: descriptor)
        }
        let wake = try WakePipe()
        defer {
            listener.close()
            wake.close()
        }
        logger.info("\(name) listening", metadata: ["listener": "\(configuration.listener)"])
        await onListening()
        let (connections, continuation) = AsyncStream.makeStream(of: Admitted.self)
        do {
            try await withGracefulShutdownHandler {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask {
                        let failure = await DedicatedThread.run { () -> HVError? in
                            do throws(HVError) {
                                while let socket = try listener.accept(wake: wake) {
                                    self.admit(socket, into: continuation)
                                }
                                return nil
                            } catch {
                                return error
                            }
                        }
                        continuation.finish()
                        if let failure { throw failure }
                    }
                    for await connection in connections {
                        group.addTask { await self.serve(connection, wake: wake) }
                    }
                    // Stopping (or cancelled): wake the accept thread and every connection's thread.
                    wake.signal()
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                wake.signal()
            }
        } catch {
            logger.error("\(name) stopped accepting", metadata: ["error": "\(error)"])
            throw error
        }
        logger.info("\(name) stopped")
    }

    /// A connection counted against the limits, with its peer's credentials.
    struct Admitted: Sendable {
        var socket: Descriptor
        var credentials: hv_ucred
    }

    /// On the accept thread: learns who is calling and passes the connection on, or tells the
    /// client it is over a limit. Nothing is read from the socket, and so no descriptor is
    /// received, before the caller's uid is known and admitted.
    private func admit(_ socket: Descriptor, into continuation: AsyncStream<Admitted>.Continuation) {
        guard let credentials = DescriptorConnection.credentials(of: socket) else {
            socket.close()
            return
        }
        if let refusal = limits.connect(credentials.uid) {
            let connection = DescriptorConnection(socket: socket, credentials: credentials)
            let error = refusal.error(server: name, uid: credentials.uid)
            handler.recordRejected(error, from: connection.peer)
            connection.reply(ErrorReply.encode(error), timeout: .seconds(1))
            connection.close()
            return
        }
        if case .terminated = continuation.yield(Admitted(socket: socket, credentials: credentials)) {
            limits.disconnect(credentials.uid)
            socket.close()
        }
    }

    private func serve(_ admitted: Admitted, wake: WakePipe) async {
        defer { limits.disconnect(admitted.credentials.uid) }
        let configuration = configuration
        let handedOut = handler.handedOutMethods
        let (connection, received) = await DedicatedThread.run {
            let connection = DescriptorConnection(socket: admitted.socket, credentials: admitted.credentials)
            let received = connection.receive(
                maximumMessageSize: configuration.maximumMessageSize, timeout: configuration.receiveTimeout,
                handedOut: handedOut, wake: wake
            )
            return (connection, received)
        }
        let answer: HandedOut
        switch received {
        case .abandoned:
            connection.close()
            return
        case .refused(let error):
            handler.recordRejected(error, from: connection.peer)
            answer = HandedOut(reply: ErrorReply.encode(error))
        case .call(let message, let descriptor):
            answer = HandedOut(reply: await handler.handle(message, descriptor: descriptor, from: connection.peer))
            descriptor.close()
        case .handOut(let message):
            answer = await handler.handOut(message, from: connection.peer)
        }
        await DedicatedThread.run {
            connection.reply(answer.reply, passing: answer.descriptor, timeout: configuration.sendTimeout)
            // The client has its copy, or never will: either way the server's goes.
            answer.descriptor?.close()
            connection.close()
        }
    }
}

/// Runs blocking work on a thread of its own, so it holds up neither an event loop nor the
/// cooperative pool.
enum DedicatedThread {
    static func run<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: body())
            }
        }
    }
}
