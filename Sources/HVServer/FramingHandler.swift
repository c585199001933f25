import HVProtocol
import NIOCore

/// What the connection's reader gets from the wire.
public enum InboundFrame: Sendable {
    case message([UInt8])
    /// The peer sent more than the message size limit without a NUL.
    case tooLarge(limit: Int)
    /// Part of a message arrived and the rest did not come within the read timeout.
    case timedOut(seconds: Int64)
}

/// Splits the byte stream into Varlink messages on the event loop, enforcing the size limit and
/// the timeout for half-sent messages. After a violation it drops all further input.
public final class FramingHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = InboundFrame

    private var framer: MessageFramer
    private let readTimeout: TimeAmount
    private var timeout: Scheduled<Void>?
    private var failed = false

    public init(maximumMessageSize: Int, readTimeout: TimeAmount) {
        framer = MessageFramer(maximumMessageSize: maximumMessageSize)
        self.readTimeout = readTimeout
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        framer.append(buffer.readableBytesView)
        do {
            while let message = try framer.next() {
                context.fireChannelRead(wrapInboundOut(.message(message)))
            }
        } catch {
            fail(context, .tooLarge(limit: error.limit))
            return
        }
        if framer.hasPartialMessage {
            armTimeout(context)
        } else {
            timeout?.cancel()
            timeout = nil
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
    }

    private func armTimeout(_ context: ChannelHandlerContext) {
        guard timeout == nil else { return }
        let seconds = readTimeout.nanoseconds / 1_000_000_000
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: readTimeout) {
            let (handler, context) = loopBound.value
            handler.fail(context, .timedOut(seconds: seconds))
            // Outside a read cycle: the async reader only sees frames once a read completes.
            context.fireChannelReadComplete()
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ frame: InboundFrame) {
        guard !failed else { return }
        failed = true
        timeout?.cancel()
        timeout = nil
        context.fireChannelRead(wrapInboundOut(frame))
    }
}
