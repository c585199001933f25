/// Splits a byte stream into NUL-terminated Varlink messages, refusing any message longer than a limit.
///
/// Input may arrive in pieces of any size; `append` keeps the unfinished tail until its NUL arrives.
public struct MessageFramer: Sendable {
    /// The largest message, NUL excluded, that a peer may send.
    public let maximumMessageSize: Int
    private var buffer: [UInt8] = []
    private var scanned = 0

    public init(maximumMessageSize: Int) {
        precondition(maximumMessageSize > 0)
        self.maximumMessageSize = maximumMessageSize
    }

    /// Whether part of a message has arrived without its terminating NUL.
    public var hasPartialMessage: Bool { !buffer.isEmpty }

    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message, without its NUL; nil when more input is needed.
    public mutating func next() throws(FrameError) -> [UInt8]? {
        if let end = buffer[scanned...].firstIndex(of: 0) {
            guard end <= maximumMessageSize else { throw FrameError(limit: maximumMessageSize) }
            let message = Array(buffer[..<end])
            buffer.removeSubrange(...end)
            scanned = 0
            return message
        }
        scanned = buffer.count
        guard buffer.count <= maximumMessageSize else { throw FrameError(limit: maximumMessageSize) }
        return nil
    }

    /// Appends the NUL terminator to an encoded message.
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        message + [0]
    }
}

/// A message exceeded the size limit; the connection can't be resynchronised and must close.
public struct FrameError: Error, Hashable, Sendable {
    public let limit: Int
    public init(limit: Int) { self.limit = limit }
}
