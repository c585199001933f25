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
    func handle(_ message: [UInt8], from peer: Peer, send: @Sendable ([UInt8]) async throws -> Void) async

    /// Told about a connection refused before any message was read (too many clients, oversized or
    /// half-sent input), so it can be recorded.
    func recordRejected(_ error: HVError, from peer: Peer)
}

extension MessageHandler {
    public func handle(_ message: [UInt8], from peer: Peer, send: @Sendable ([UInt8]) async throws -> Void) async {
        await answerOnce(message, from: peer, send: send)
    }

    /// Answers with the single reply of `handle(_:from:)`. That call runs to its end even if the
    /// client leaves meanwhile, so an operation that has begun is finished and recorded rather than
    /// abandoned halfway; only the reply is then lost.
    public func answerOnce(_ message: [UInt8], from peer: Peer, send: @Sendable ([UInt8]) async throws -> Void) async {
        // A task of its own does not inherit the connection's cancellation.
        let reply = await Task { await self.handle(message, from: peer) }.value
        guard let reply else { return }
        try? await send(reply)
    }
}
