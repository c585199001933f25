import Foundation
import HVProtocol
import HVSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension VarlinkClient {
    /// Sends `method` as a Varlink `more` call and returns its replies as they come.
    ///
    /// There is no deadline between replies (events may be minutes apart); the usual reply timeout
    /// applies again once the stream has ended. Until then the connection carries nothing else.
    public func openStream(_ method: String, parameters: [String: JSONValue] = [:]) throws(HVError) -> VarlinkReplyStream {
        try send(MessageFramer.frame(try Self.encode(VarlinkCall(method: method, parameters: parameters, more: true))))
        setReceiveTimeout(seconds: 0)
        return VarlinkReplyStream(client: self, method: method)
    }

    /// The replies to a Varlink `more` call as an async sequence, read on a thread of their own.
    ///
    /// The sequence ends after the last reply (the one without `continues`) and throws `HVError`
    /// when the service answers with an error or the connection breaks. When the caller stops
    /// iterating (or its task is cancelled) the connection is shut down, and this client can make
    /// no further calls; it must not be used while the stream runs.
    public func stream(
        method: String, parameters: [String: JSONValue] = [:]
    ) -> AsyncThrowingStream<[String: JSONValue], any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: [String: JSONValue].self)
        let connection = StreamingConnection(client: self)
        continuation.onTermination = { termination in
            if case .cancelled = termination { connection.stop() }
        }
        Thread.detachNewThread {
            connection.follow(method, parameters: parameters, into: continuation)
        }
        return stream
    }
}

/// The replies to one Varlink `more` call, read one at a time with blocking reads.
public final class VarlinkReplyStream {
    private let client: VarlinkClient
    /// The method that was called.
    public let method: String
    /// Whether the last reply (or an error) has been read.
    public private(set) var isFinished = false

    init(client: VarlinkClient, method: String) {
        self.client = client
        self.method = method
    }

    /// The parameters of the next reply, waiting for it as long as it takes; nil once the last
    /// reply has been returned. Throws the error the service replied with, or a broken connection.
    public func next() throws(HVError) -> [String: JSONValue]? {
        guard !isFinished else { return nil }
        let reply: VarlinkReply
        do throws(HVError) {
            let bytes = try client.receive()
            do {
                reply = try VarlinkJSON.decode(VarlinkReply.self, from: bytes)
            } catch {
                throw HVError(.protocolError, "the \(client.service) sent a reply to \(method) that is not Varlink JSON: \(error)")
            }
        } catch {
            finish()
            throw error
        }
        if let error = reply.error {
            finish()
            throw HVError(varlinkName: error, parameters: reply.parameters)
        }
        if reply.continues != true { finish() }
        return reply.parameters ?? [:]
    }

    /// Stops following the stream: shuts the connection down, so the client can make no further calls.
    public func cancel() {
        shutdown(client.descriptor.raw, Int32(SHUT_RDWR))
        isFinished = true
    }

    private func finish() {
        isFinished = true
        client.setReceiveTimeout(seconds: client.timeoutSeconds)
    }
}

/// A client handed to the thread that follows a stream. Only that thread uses the client; `stop`,
/// called from whichever task ends the iteration, only shuts its socket down, and only while the
/// thread still follows the stream.
final class StreamingConnection: @unchecked Sendable {
    private let client: VarlinkClient
    private let following = Mutex(true)

    init(client: VarlinkClient) {
        self.client = client
    }

    func follow(
        _ method: String, parameters: [String: JSONValue],
        into continuation: AsyncThrowingStream<[String: JSONValue], any Error>.Continuation
    ) {
        defer { following.withLock { $0 = false } }
        do {
            let replies = try client.openStream(method, parameters: parameters)
            while let reply = try replies.next() {
                if case .terminated = continuation.yield(reply) { return }
            }
            continuation.finish()
        } catch {
            continuation.finish(throwing: error)
        }
    }

    func stop() {
        following.withLock { following in
            if following { shutdown(client.descriptor.raw, Int32(SHUT_RDWR)) }
        }
    }
}
