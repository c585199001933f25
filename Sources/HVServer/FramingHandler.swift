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
    /// Nothing arrived and nothing was under way for the idle timeout.
    case idle(seconds: Int64)
}

/// Splits the byte stream into Varlink messages on the event loop, enforcing the size limit, the
/// timeout for half-sent messages and the idle timeout between messages. After a violation it
/// drops all further input.
///
/// Both timeouts measure the client, not the server: while the server is answering (or streaming
/// replies to) a message of the same connection, the connection is neither idle nor is a half-sent
/// message timed out, and each gets its full time again once the server is ready for more.
public final class FramingHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = InboundFrame

    private var framer: MessageFramer
    private let readTimeout: TimeAmount
    private let idleTimeout: TimeAmount?
    private var timeout: Scheduled<Void>?
    private var idleCheck: Scheduled<Void>?
    private var lastRead = NIODeadline.now()
    private var failed = false
    private let activity: ConnectionActivity?
    private var answeredWhenArmed = 0

    /// - Parameters:
    ///   - activity: tells when the server is busy with this connection; nil to time out
    ///     half-sent messages regardless.
    ///   - idleTimeout: how long the connection may stay quiet between messages; nil for no limit.
    public init(
        maximumMessageSize: Int, readTimeout: TimeAmount, idleTimeout: TimeAmount? = nil,
        activity: ConnectionActivity? = nil
    ) {
        framer = MessageFramer(maximumMessageSize: maximumMessageSize)
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        self.activity = activity
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if let idleTimeout { scheduleIdleCheck(context, at: .now() + idleTimeout) }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        lastRead = .now()
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
        idleCheck?.cancel()
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

    /// At `deadline`, closes the connection if it has been quiet for the idle timeout; otherwise
    /// looks again when it would have been.
    private func scheduleIdleCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard let idleTimeout else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.idleCheck = nil
            guard !handler.failed else { return }
            // Busy: the server is answering or streaming. Partial: the read timeout governs.
            if handler.activity?.isBusy == true || handler.framer.hasPartialMessage {
                handler.scheduleIdleCheck(context, at: .now() + idleTimeout)
                return
            }
            let quietSince = max(handler.lastRead, handler.activity?.lastAnswered ?? handler.lastRead)
            if NIODeadline.now() < quietSince + idleTimeout {
                handler.scheduleIdleCheck(context, at: quietSince + idleTimeout)
                return
            }
            handler.fail(context, .idle(seconds: idleTimeout.nanoseconds / 1_000_000_000))
            context.fireChannelReadComplete()
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ frame: InboundFrame) {
        guard !failed else { return }
        failed = true
        timeout?.cancel()
        timeout = nil
        idleCheck?.cancel()
        idleCheck = nil
        context.fireChannelRead(wrapInboundOut(frame))
    }
}

/// Whether the server is answering one connection's message, shared between the connection's
/// async reader (which writes it) and its `FramingHandler` on the event loop (which reads it).
public final class ConnectionActivity: Sendable {
    private let busy = Atomic<Bool>(false)
    private let finished = Atomic<Int>(0)
    private let finishedAt = Atomic<UInt64>(0)

    public init() {}

    /// The server started answering a message.
    public func begin() {
        busy.store(true, ordering: .sequentiallyConsistent)
    }

    /// The server finished answering a message and waits for the next one.
    public func end() {
        finishedAt.store(NIODeadline.now().uptimeNanoseconds, ordering: .sequentiallyConsistent)
        finished.wrappingAdd(1, ordering: .sequentiallyConsistent)
        busy.store(false, ordering: .sequentiallyConsistent)
    }

    public var isBusy: Bool { busy.load(ordering: .sequentiallyConsistent) }
    /// How many messages have been answered; changes whenever an answer ends.
    public var answered: Int { finished.load(ordering: .sequentiallyConsistent) }
    /// When the last answer ended; nil before the first.
    public var lastAnswered: NIODeadline? {
        let nanoseconds = finishedAt.load(ordering: .sequentiallyConsistent)
        return nanoseconds == 0 ? nil : .uptimeNanoseconds(nanoseconds)
    }
}
