import Foundation
import HVClient
import HVProtocol
import HVServer
import HVServerTesting
import HVTestSupport
import NIOCore
import Synchronization
import Testing

/// The per-user limits on the real server and a real socket: connections per uid, calls under way
/// per uid, and the idle timeout between messages. The per-user limits exempt nobody here, so the
/// test process's own uid is held to them too.
@Suite(.serialized) struct CallerLimitsTests {
    @Test func connectionsBeyondTheUserLimitAreRefused() async throws {
        try await withLimitedServer(HoldingHandler(), configure: { $0.maximumClientsPerUser = 2 }) { path in
            let first = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
            let second = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
            #expect(try first.callRaw(VarlinkCall(method: "test.Echo")).error == nil)
            #expect(try second.callRaw(VarlinkCall(method: "test.Echo")).error == nil)
            let third = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
            let refused = try VarlinkJSON.decode(VarlinkReply.self, from: try third.receive())
            #expect(refused.error == "org.hypernixos.Protocol.TooManyClients")
            #expect(refused.parameters?["reason"]?.stringValue?.contains("uid \(getuid()) holds its limit of 2") == true)
        }
    }

    /// Another user holds every connection it may; this process's uid is still served. Needs root to
    /// run the hostile client as `nobody`.
    @Test(.enabled(if: getuid() == 0, "running a client as another user needs root"))
    func oneUsersIdleConnectionsLeaveOthersServed() async throws {
        try await withLimitedServer(HoldingHandler(), configure: {
            $0.maximumClients = 8
            $0.maximumClientsPerUser = 3
        }) { path in
            chmod((path as NSString).deletingLastPathComponent, 0o755)
            let flood = try HeldConnections(socket: path, count: 20, as: "nobody", call: #"{"method":"test.Echo"}"#)
            defer { flood.stop() }
            #expect(flood.served == 3, "nobody got exactly its share: \(flood.report)")
            let client = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
            let reply = try client.callRaw(VarlinkCall(method: "test.Echo"))
            #expect(reply.error == nil, "\(reply)")
        }
    }

    /// A user's calls beyond the limit wait their turn instead of taking more workers.
    @Test func callsBeyondTheUserLimitWait() async throws {
        let handler = HoldingHandler()
        try await withLimitedServer(handler, configure: { $0.maximumCallsPerUser = 2 }) { path in
            let replies = Locked(0)
            let threads = (0..<5).map { _ in
                Thread {
                    guard let client = try? VarlinkClient(socketPath: path, timeoutSeconds: 30),
                          (try? client.callRaw(VarlinkCall(method: "test.Hold")))?.error == nil else { return }
                    replies.set(replies.get() + 1)
                }
            }
            threads.forEach { $0.start() }
            #expect(waitUntil(10) { handler.inside.load(ordering: .relaxed) == 2 })
            // Long enough for any of the other three to have come in, were they let in.
            Thread.sleep(forTimeInterval: 0.3)
            #expect(handler.mostInside.load(ordering: .relaxed) == 2)
            handler.release.store(true, ordering: .relaxed)
            #expect(waitUntil(10) { replies.get() == 5 })
            #expect(handler.mostInside.load(ordering: .relaxed) == 2)
        }
    }

    /// A stream holds its place only until its first reply: a user following events can still call.
    @Test func streamsGiveUpTheirPlaceAtTheFirstReply() async throws {
        try await withLimitedServer(HoldingHandler(), configure: { $0.maximumCallsPerUser = 1 }) { path in
            var streams: [(VarlinkClient, VarlinkReplyStream)] = []
            for _ in 0..<2 {
                let client = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
                let replies = try client.openStream("test.Wait")
                #expect(try replies.next()?["subscribed"] == .bool(true))
                streams.append((client, replies))
            }
            let client = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
            #expect(try client.callRaw(VarlinkCall(method: "test.Echo")).error == nil)
        }
    }

    @Test func idleConnectionsAreClosed() async throws {
        try await withLimitedServer(HoldingHandler(), configure: { $0.idleTimeout = .seconds(1) }) { path in
            let silent = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
            let closed = try VarlinkJSON.decode(VarlinkReply.self, from: try silent.receive())
            #expect(closed.error == "org.hypernixos.Protocol.IdleTimeout")
            #expect(throws: HVError.self) { try silent.receive() }

            // Between messages too.
            let caller = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
            #expect(try caller.callRaw(VarlinkCall(method: "test.Echo")).error == nil)
            let later = try VarlinkJSON.decode(VarlinkReply.self, from: try caller.receive())
            #expect(later.error == "org.hypernixos.Protocol.IdleTimeout")
        }
    }

    /// Calls that keep coming, and a stream that outlasts the timeout, are not idle.
    @Test func activeConnectionsAreNotIdle() async throws {
        try await withLimitedServer(HoldingHandler(), configure: { $0.idleTimeout = .seconds(1) }) { path in
            let caller = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
            for _ in 0..<6 {
                #expect(try caller.callRaw(VarlinkCall(method: "test.Echo")).error == nil)
                Thread.sleep(forTimeInterval: 0.4)
            }
            let follower = try VarlinkClient(socketPath: path, timeoutSeconds: 60)
            let replies = try follower.openStream("test.Count", parameters: ["count": .int(4), "delayMs": .int(700)])
            var count = 0
            while try replies.next() != nil { count += 1 }
            #expect(count == 4)
        }
    }
}

/// Runs `body` (blocking client code, on its own thread) against a server with `handler` whose
/// per-user limits exempt nobody, then shuts the server down.
func withLimitedServer(
    _ handler: HoldingHandler, configure: (inout ServerConfiguration) -> Void,
    _ body: @escaping @Sendable (String) throws -> Void
) async throws {
    try await withVarlinkServer(handler, configure: {
        $0.exemptUsers = []
        configure(&$0)
    }) { path in
        try await onThread { try body(path) }
    }
}

/// `test.Hold` waits until `release` is set, counting the calls inside at once; `test.Wait` streams
/// one reply and waits for more that never come; `test.Count` streams like `StreamingHandler`;
/// anything else is answered with the caller's uid.
final class HoldingHandler: MessageHandler {
    let inside = Atomic<Int>(0)
    let mostInside = Atomic<Int>(0)
    let release = Atomic<Bool>(false)
    private let streaming = StreamingHandler()

    func handle(_ message: [UInt8], from peer: Peer) async -> [UInt8]? {
        guard (try? VarlinkJSON.decode(VarlinkCall.self, from: message))?.method == "test.Hold" else {
            return await streaming.handle(message, from: peer)
        }
        let now = inside.add(1, ordering: .relaxed).newValue
        mostInside.max(now, ordering: .relaxed)
        while !release.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(10)) }
        inside.subtract(1, ordering: .relaxed)
        return StreamingHandler.encode(VarlinkReply(parameters: [:]))
    }

    func handle(_ message: [UInt8], from peer: Peer, send: @escaping @Sendable ([UInt8]) async throws -> Void) async {
        guard let call = try? VarlinkJSON.decode(VarlinkCall.self, from: message), call.more == true else {
            return await answerOnce(message, from: peer, send: send)
        }
        await streaming.handle(message, from: peer, send: send)
    }

    func recordRejected(_ error: HVError, from peer: Peer) {}
}
