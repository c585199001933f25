import HVProtocol

/// Answers the messages a `VarlinkServer` receives.
///
/// A handler answers each call with one reply (`handle(_:from:)`), or streams several replies to a
/// Varlink `more` call by implementing `handle(_:from:send:)`; the default implementation of the
/// latter sends the single reply, so a handler that never streams implements only the first.
public protocol MessageHandler: Sendable {
    /// Handles one message; returns the encoded reply, or nil for a `oneway` call.
    func handle(_ message: [UInt8], from peer: Peer) async -> [UInt8]?

    /// Handles one message, handing each encoded reply to `send` as soon as it is ready: every
    /// reply but the last of a `more` call carries `"continues": true`, and a `oneway` call sends
    /// none. Calls to `send` must not overlap.
    ///
    /// `send` suspends while the client is slow to read (the connection's write buffer is full), so
    /// a stream never piles up in memory. When the client goes away the task is cancelled and
    /// `send` throws; the handler then stops and returns. The server reads the connection's next
    /// message only after this returns.
    func handle(_ message: [UInt8], from peer: Peer, send: @escaping @Sendable ([UInt8]) async throws -> Void) async

    /// Told about a connection refused before any message was read (too many clients, oversized or
    /// half-sent input), so it can be recorded.
    func recordRejected(_ error: HVError, from peer: Peer)
}

extension MessageHandler {
    public func handle(_ message: [UInt8], from peer: Peer, send: @escaping @Sendable ([UInt8]) async throws -> Void) async {
        await answerOnce(message, from: peer, send: send)
    }

    /// Answers with the single reply of `handle(_:from:)` (see `answerUncancelled`).
    public func answerOnce(_ message: [UInt8], from peer: Peer, send: @escaping @Sendable ([UInt8]) async throws -> Void) async {
        await Self.answerUncancelled(send: send) { await self.handle(message, from: peer) }
    }

    /// Runs `answer` in a task of its own, which does not inherit the connection's cancellation:
    /// a call that has begun runs to its end even if the client leaves meanwhile, so an operation
    /// is finished and recorded rather than abandoned halfway; only the reply is then lost. The
    /// task starts on the calling thread (`Task.immediate`), runs on the connection's executor, and
    /// sends the reply itself, so the client hears without the reply waiting for another thread to
    /// pick up either task.
    public static func answerUncancelled(
        send: @escaping @Sendable ([UInt8]) async throws -> Void, _ answer: @escaping @Sendable () async -> [UInt8]?
    ) async {
        await Task.immediate(executorPreference: ConnectionExecutor.current) {
            guard let reply = await answer() else { return }
            try? await send(reply)
        }.value
    }
}
