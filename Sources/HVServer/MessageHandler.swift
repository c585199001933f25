import HVProtocol

/// Answers the messages a `VarlinkServer` receives.
public protocol MessageHandler: Sendable {
    /// Handles one message; returns the encoded reply, or nil for a `oneway` call.
    func handle(_ message: [UInt8], from peer: Peer) async -> [UInt8]?
    /// Told about a connection refused before any message was read (too many clients, oversized or
    /// half-sent input), so it can be recorded.
    func recordRejected(_ error: HVError, from peer: Peer)
}
