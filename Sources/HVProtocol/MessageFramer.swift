/// Splits a byte stream into NUL-terminated Varlink messages, refusing any message longer than a limit.
///
/// Every side reads its messages through this one type: the servers (`FramingHandler` on the event
/// loop, the upload socket's connection on its thread) and the clients. Input may arrive in pieces
/// of any size; `append` keeps the unfinished tail until its NUL arrives.
public struct MessageFramer: Sendable {
    /// The byte that ends every message.
    public static let terminator: UInt8 = 0

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

    /// The next complete message, without its NUL; nil when more input is needed. Throws
    /// `tooLarge` as soon as a message is known to exceed the limit, terminated or not.
    public mutating func next() throws(FrameError) -> [UInt8]? {
        if let end = buffer[scanned...].firstIndex(of: Self.terminator) {
            guard end <= maximumMessageSize else { throw .tooLarge(limit: maximumMessageSize) }
            let message = Array(buffer[..<end])
            buffer.removeSubrange(...end)
            scanned = 0
            return message
        }
        scanned = buffer.count
        guard buffer.count <= maximumMessageSize else { throw .tooLarge(limit: maximumMessageSize) }
        return nil
    }

    /// Says the input has ended: throws `unterminated` when part of a message is left without its NUL.
    public func finish() throws(FrameError) {
        guard !hasPartialMessage else { throw .unterminated(received: buffer.count, limit: maximumMessageSize) }
    }

    /// Appends the NUL terminator to an encoded message.
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        message + [terminator]
    }
}

/// The byte stream could not be split into messages. After `tooLarge` the connection can't be
/// resynchronised and must close; after `unterminated` the peer closed it in the middle of a message.
public struct FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// A message exceeded the size limit.
        case tooLarge = "MessageTooLarge"
        /// The input ended before the message's NUL terminator.
        case unterminated = "UnterminatedMessage"
    }

    public var code: Code
    /// The framer's size limit, in bytes.
    public var limit: Int
    public var reason: String
    public var fix: String

    public static func tooLarge(limit: Int) -> FrameError {
        FrameError(
            code: .tooLarge, limit: limit, reason: "a message exceeds the limit of \(limit) bytes", fix: "send smaller messages"
        )
    }

    /// - Parameter received: how much of the unfinished message had arrived.
    public static func unterminated(received: Int, limit: Int) -> FrameError {
        FrameError(
            code: .unterminated, limit: limit,
            reason: "the connection ended inside a message, after \(received) bytes without the terminating NUL",
            fix: "terminate every message with a NUL byte"
        )
    }

    public var description: String { "\(reason)\nfix: \(fix)" }
}
