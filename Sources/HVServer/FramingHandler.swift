import HVProtocol
import NIOCore
import Synchronization

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
///
/// The timeout measures the client, not the server: while the server is answering (or streaming
/// replies to) an earlier message of the same connection, a half-sent message is not timed out,
/// and it gets the full timeout again once the server is ready for it.
public final class FramingHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = InboundFrame

    private var framer: MessageFramer
    private let readTimeout: TimeAmount
    private var timeout: Scheduled<Void>?
    private var failed = false
    private let activity: ConnectionActivity?
    private var answeredWhenArmed = 0

    /// - Parameter activity: tells when the server is busy with this connection; nil to time out
    ///   half-sent messages regardless.
    public init(maximumMessageSize: Int, readTimeout: TimeAmount, activity: ConnectionActivity? = nil) {
        framer = MessageFramer(maximumMessageSize: maximumMessageSize)
        self.readTimeout = readTimeout
        self.activity = activity
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
        answeredWhenArmed = activity?.answered ?? 0
        let seconds = readTimeout.nanoseconds / 1_000_000_000
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: readTimeout) {
            let (handler, context) = loopBound.value
            handler.timeout = nil
            if let activity = handler.activity, activity.isBusy || activity.answered != handler.answeredWhenArmed {
                // The server was not waiting for this client all along: give it the full time again.
                handler.armTimeout(context)
                return
            }
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

/// Whether the server is answering one connection's message, shared between the connection's
/// async reader (which writes it) and its `FramingHandler` on the event loop (which reads it).
public final class ConnectionActivity: Sendable {
    private let busy = Atomic<Bool>(false)
    private let finished = Atomic<Int>(0)

    public init() {}

    /// The server started answering a message.
    public func begin() {
        busy.store(true, ordering: .sequentiallyConsistent)
    }

    /// The server finished answering a message and waits for the next one.
    public func end() {
        finished.wrappingAdd(1, ordering: .sequentiallyConsistent)
        busy.store(false, ordering: .sequentiallyConsistent)
    }

    public var isBusy: Bool { busy.load(ordering: .sequentiallyConsistent) }
    /// How many messages have been answered; changes whenever an answer ends.
    public var answered: Int { finished.load(ordering: .sequentiallyConsistent) }
}
