import NIOConcurrencyHelpers
import NIOCore

/// One SMTP reply: its three-digit code and the text of each line (`250-PIPELINING` … `250 OK`).
struct SMTPResponse: Sendable, Hashable, CustomStringConvertible {
    var code: Int
    var lines: [String]

    var description: String { "\(code) \(lines.joined(separator: " / "))" }

    /// The EHLO keywords, uppercased, with their parameters: `["AUTH": ["PLAIN", "LOGIN"], "STARTTLS": []]`.
    var extensions: [String: [String]] {
        var result: [String: [String]] = [:]
        for line in lines.dropFirst() {
            let words = line.split(separator: " ").map { $0.uppercased() }
            guard let keyword = words.first else { continue }
            result[keyword] = Array(words.dropFirst())
        }
        return result
    }
}

/// Splits the server's bytes into replies, joining multi-line ones. Lines are limited to 4 KiB.
/// What the decoder holds back, read on the channel's event loop only: STARTTLS must begin on a
/// clean stream, or plaintext a man in the middle sent would be read as if it came over TLS.
final class SMTPStreamState: @unchecked Sendable {
    var bufferedBytes = 0
}

struct SMTPResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPResponse
    static let maximumLineLength = 4_096
    /// A reply longer than this many lines is refused (EHLO lists a dozen or so).
    static let maximumLines = 100

    let state: SMTPStreamState
    private var lines: [String] = []

    init(state: SMTPStreamState) {
        self.state = state
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        defer { state.bufferedBytes = buffer.readableBytes }
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maximumLineLength {
                throw AlertingError(.deliveryFailed, "SMTP server sent a line longer than 4 KiB")
            }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex + 1
        guard var bytes = buffer.readBytes(length: length) else { return .needMoreData }
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        let line = String(decoding: bytes, as: UTF8.self)
        guard bytes.count >= 3, bytes[0..<3].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let code = Int(String(line.prefix(3)))
        else { throw AlertingError(.deliveryFailed, "SMTP server sent a malformed reply: \(line.prefix(80))") }
        let continues = bytes.count > 3 && bytes[3] == UInt8(ascii: "-")
        lines.append(bytes.count > 4 ? String(line.dropFirst(4)) : "")
        guard lines.count <= Self.maximumLines else {
            throw AlertingError(.deliveryFailed, "SMTP server sent a reply of more than \(Self.maximumLines) lines")
        }
        if !continues {
            context.fireChannelRead(wrapInboundOut(SMTPResponse(code: code, lines: lines)))
            lines = []
        }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Hands replies to whoever waits for the next one, in order; fails every waiter when the connection
/// breaks.
final class SMTPResponseHandler: ChannelInboundHandler {
    typealias InboundIn = SMTPResponse

    private var waiting = CircularBuffer<EventLoopPromise<SMTPResponse>>()
    private var received = CircularBuffer<SMTPResponse>()
    private var failure: (any Error)?
    /// The first error the connection saw (e.g. a TLS handshake failure), for the error message of
    /// whatever step then fails with "I/O on closed channel".
    let firstError: NIOLockedValueBox<(any Error)?>

    init(firstError: NIOLockedValueBox<(any Error)?>) {
        self.firstError = firstError
    }

    /// Whether a reply arrived that no command has read yet.
    var hasUnread: Bool { !received.isEmpty }

    func next(_ promise: EventLoopPromise<SMTPResponse>) {
        if let response = received.popFirst() {
            promise.succeed(response)
        } else if let failure {
            promise.fail(failure)
        } else {
            waiting.append(promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let response = unwrapInboundIn(data)
        if let promise = waiting.popFirst() {
            promise.succeed(response)
        } else if received.count < 8 {
            received.append(response)
        } else {
            errorCaught(context: context, error: AlertingError(.deliveryFailed, "SMTP server sent replies nobody asked for"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        firstError.withLockedValue { if $0 == nil { $0 = error } }
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(AlertingError(.deliveryFailed, "the SMTP server closed the connection"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        if failure == nil { failure = error }
        while let promise = waiting.popFirst() { promise.fail(failure ?? error) }
    }
}
