import Foundation
import HVClient
import HVProtocol
import HVServer
import HVServerTesting
import HVTestSupport
import NIOCore
import Synchronization
import Testing

/// Varlink `more` on the real server and a real socket: replies stream as the handler sends them,
/// a departed client ends its stream without disturbing anyone else, and a stream counts as a
/// client like any other.
@Suite(.serialized) struct StreamingTests {
    @Test func streamsRepliesThenEnds() async throws {
        let handler = StreamingHandler()
        try await withStreamingServer(handler) { path in
            let client = try VarlinkClient(socketPath: path, timeoutSeconds: 5)
            let replies = try client.openStream("test.Count", parameters: ["count": .int(5)])
            var indexes: [Int] = []
            while let reply = try replies.next() { indexes.append(integer(reply["index"]) ?? -1) }
            #expect(indexes == [0, 1, 2, 3, 4])
            #expect(replies.isFinished)
            #expect(try replies.next() == nil)
            // The connection carries ordinary calls again once the stream has ended.
            let echo = try client.callRaw(VarlinkCall(method: "test.Echo"))
            #expect(integer(echo.parameters?["uid"]) == Int(getuid()))
        }
        #expect(handler.finished.load(ordering: .relaxed) == 1)
    }

    @Test func asyncStreamDeliversEveryReply() async throws {
        let handler = StreamingHandler()
        try await withStreamingServerAsync(handler) { path in
            let client = try VarlinkClient(socketPath: path, timeoutSeconds: 5)
            var indexes: [Int] = []
            for try await reply in client.stream(method: "test.Count", parameters: ["count": .int(3), "delayMs": .int(20)]) {
                indexes.append(integer(reply["index"]) ?? -1)
            }
            #expect(indexes == [0, 1, 2])
        }
    }

    @Test func errorReplyEndsTheStream() async throws {
        try await withStreamingServerAsync(StreamingHandler()) { path in
            let client = try VarlinkClient(socketPath: path, timeoutSeconds: 5)
            var received = 0
            let error = await #expect(throws: HVError.self) {
                for try await _ in client.stream(method: "test.Fail") { received += 1 }
            }
            #expect(received == 2)
            #expect(error?.code == .notFound)
            #expect(error?.reason == "the event source went away")
        }
    }

    /// Minutes may pass between events: the client's reply timeout does not apply inside a stream.
    @Test func noReplyDeadlineBetweenReplies() async throws {
        try await withStreamingServer(StreamingHandler()) { path in
            let client = try VarlinkClient(socketPath: path, timeoutSeconds: 1)
            let replies = try client.openStream("test.Count", parameters: ["count": .int(2), "delayMs": .int(1500)])
            #expect(integer(try replies.next()?["index"]) == 0)
            #expect(integer(try replies.next()?["index"]) == 1)
            #expect(try replies.next() == nil)
        }
    }

    @Test func departedClientEndsItsStreamAndOthersAreServed() async throws {
        let handler = StreamingHandler()
        try await withStreamingServer(handler) { path in
            // Waiting for an event that never comes: the stream ends when the client leaves.
            do {
                let waiting = try VarlinkClient(socketPath: path, timeoutSeconds: 5)
                let replies = try waiting.openStream("test.Wait")
                #expect(try replies.next()?["subscribed"] == .bool(true))
            }
            #expect(waitUntil(30) { handler.cancelled.load(ordering: .relaxed) == 1 })

            // Mid-stream, between sends: the next send throws and the handler stops.
            do {
                let reading = try VarlinkClient(socketPath: path, timeoutSeconds: 5)
                let replies = try reading.openStream("test.Count", parameters: ["count": .int(1000), "delayMs": .int(10)])
                _ = try replies.next()
            }
            #expect(waitUntil(10) { handler.stopped.load(ordering: .relaxed) == 1 })
            #expect(handler.finished.load(ordering: .relaxed) == 0)

            let other = try VarlinkClient(socketPath: path, timeoutSeconds: 5)
            #expect(try other.callRaw(VarlinkCall(method: "test.Echo")).error == nil)
        }
    }

    /// The caller stops iterating: the connection is shut down and the server's handler ends.
    @Test func callerStoppingEndsTheStream() async throws {
        let handler = StreamingHandler()
        try await withStreamingServerAsync(handler) { path in
            let client = try VarlinkClient(socketPath: path, timeoutSeconds: 5)
            for try await reply in client.stream(method: "test.Wait") {
                #expect(reply["subscribed"] == .bool(true))
                break
            }
            let ended = await eventually(30) { handler.cancelled.load(ordering: .relaxed) == 1 }
            #expect(ended)
        }
    }

    @Test func streamsCountAgainstTheClientLimit() async throws {
        let handler = StreamingHandler()
        try await withStreamingServer(handler, maximumClients: 2) { path in
            var streams: [(VarlinkClient, VarlinkReplyStream)] = []
            for _ in 0..<2 {
                let client = try VarlinkClient(socketPath: path, timeoutSeconds: 5)
                let replies = try client.openStream("test.Wait")
                _ = try replies.next()
                streams.append((client, replies))
            }
            let third = try VarlinkClient(socketPath: path, timeoutSeconds: 5)
            let refused = try VarlinkJSON.decode(VarlinkReply.self, from: try third.receive())
            #expect(refused.error == "org.hypernixos.Protocol.TooManyClients")

            streams.removeAll()
            #expect(waitUntil(10) { handler.cancelled.load(ordering: .relaxed) == 2 })
            let served = waitUntil(10) {
                guard let client = try? VarlinkClient(socketPath: path, timeoutSeconds: 5) else { return false }
                return (try? client.callRaw(VarlinkCall(method: "test.Echo")))?.error == nil
            }
            #expect(served)
        }
    }

    /// The half-sent-message timeout measures the client: a stream that outlasts it, with the
    /// client's next call already half sent, is not cut off.
    @Test func halfSentCallIsNotTimedOutWhileTheServerStreams() async throws {
        try await withStreamingServer(StreamingHandler(), readTimeout: .seconds(1)) { path in
            let client = try VarlinkClient(socketPath: path, timeoutSeconds: 10)
            let replies = try client.openStream("test.Count", parameters: ["count": .int(4), "delayMs": .int(700)])
            let next = try VarlinkJSON.encode(VarlinkCall(method: "test.Echo"))
            try client.send(Array(next.prefix(10)))
            var count = 0
            while try replies.next() != nil { count += 1 }
            #expect(count == 4)
            try client.send(Array(next.dropFirst(10)) + [0])
            let echo = try VarlinkJSON.decode(VarlinkReply.self, from: try client.receive())
            #expect(echo.error == nil)
        }
    }
}

/// Runs `body` (blocking client code, on its own thread) against a server with `handler` on a
/// fresh socket, then shuts the server down.
func withStreamingServer(
    _ handler: StreamingHandler, maximumClients: Int = 16, readTimeout: TimeAmount = .seconds(5),
    _ body: @escaping @Sendable (String) throws -> Void
) async throws {
    try await withStreamingServerAsync(handler, maximumClients: maximumClients, readTimeout: readTimeout) { path in
        try await onThread { try body(path) }
    }
}

/// Runs async `body` against a server with `handler` on a fresh socket, then shuts it down.
func withStreamingServerAsync(
    _ handler: StreamingHandler, maximumClients: Int = 16, readTimeout: TimeAmount = .seconds(5),
    _ body: (String) async throws -> Void
) async throws {
    try await withVarlinkServer(handler, configure: {
        $0.maximumClients = maximumClients
        $0.readTimeout = readTimeout
    }, body)
}

func integer(_ value: JSONValue?) -> Int? {
    if case .int(let number)? = value { return Int(number) }
    return nil
}

/// A handler whose `more` calls stream, counting what happens to its streams.
///
/// - `test.Count {count, delayMs, size}`: `count` replies `{index, padding}`, `delayMs` apart,
///   each padded with `size` bytes.
/// - `test.Fail`: two replies, then an error reply.
/// - `test.Wait`: one reply `{subscribed: true}`, then waits for an event that never comes.
/// - anything else: a single reply `{uid}` with the caller's uid.
final class StreamingHandler: MessageHandler {
    /// Replies sent by `test.Count`.
    let sent = Atomic<Int>(0)
    /// Calls of `send` under way: 1 while a stream is held up by a slow reader.
    let sending = Atomic<Int>(0)
    /// `test.Count` streams that sent all their replies.
    let finished = Atomic<Int>(0)
    /// Streams that stopped because `send` threw.
    let stopped = Atomic<Int>(0)
    /// `test.Wait` streams ended by cancellation.
    let cancelled = Atomic<Int>(0)

    func handle(_ message: [UInt8], from peer: Peer) async -> [UInt8]? {
        Self.encode(VarlinkReply(parameters: ["uid": .int(Int64(peer.uid))]))
    }

    func handle(_ message: [UInt8], from peer: Peer, send: @escaping @Sendable ([UInt8]) async throws -> Void) async {
        guard let call = try? VarlinkJSON.decode(VarlinkCall.self, from: message), call.more == true else {
            return await answerOnce(message, from: peer, send: send)
        }
        let parameters = call.parameters ?? [:]
        switch call.member {
        case "Count":
            let count = integer(parameters["count"]) ?? 1
            let delay = integer(parameters["delayMs"]) ?? 0
            let padding = String(repeating: "x", count: integer(parameters["size"]) ?? 0)
            for index in 0..<count {
                if delay > 0 { try? await Task.sleep(for: .milliseconds(delay)) }
                let reply = VarlinkReply(
                    parameters: ["index": .int(Int64(index)), "padding": .string(padding)],
                    continues: index < count - 1 ? true : nil
                )
                sending.add(1, ordering: .relaxed)
                defer { sending.subtract(1, ordering: .relaxed) }
                do {
                    try await send(Self.encode(reply))
                } catch {
                    stopped.add(1, ordering: .relaxed)
                    return
                }
                sent.add(1, ordering: .relaxed)
            }
            finished.add(1, ordering: .relaxed)
        case "Fail":
            for index in 0..<2 {
                try? await send(Self.encode(VarlinkReply(parameters: ["index": .int(Int64(index))], continues: true)))
            }
            let error = HVError(.notFound, "the event source went away")
            try? await send(Self.encode(VarlinkReply(parameters: error.varlinkParameters, error: "test.NotFound")))
        default:
            try? await send(Self.encode(VarlinkReply(parameters: ["subscribed": .bool(true)], continues: true)))
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                cancelled.add(1, ordering: .relaxed)
            }
        }
    }

    func recordRejected(_ error: HVError, from peer: Peer) {}

    static func encode(_ reply: VarlinkReply) -> [UInt8] {
        (try? VarlinkJSON.encode(reply)) ?? []
    }
}
