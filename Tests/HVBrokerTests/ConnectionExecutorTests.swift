import Foundation
import HVClient
import HVProtocol
import HVServer
import HVServerTesting
import NIOPosix
import Synchronization
import Testing

/// With `tasksOnEventLoop` (the broker's), a connection's calls run on the event loop of its socket,
/// also after waiting on another thread, as the broker's calls wait on its pools; without it (the
/// monitor's control socket, whose handler reads SQLite in place), on Swift's threads.
@Suite struct ConnectionExecutorTests {
    @Test func aCallResumesOnItsConnectionsEventLoopAfterWaitingOnAnotherThread() async throws {
        let seen = try await calls(3, tasksOnEventLoop: true)
        for call in seen {
            #expect(call.before != nil, "the call did not start on an event loop")
            #expect(call.after == call.before, "the call did not resume on its connection's event loop")
        }
        // One connection: every call on the same loop.
        #expect(Set(seen.compactMap(\.before)).count == 1)
    }

    @Test func withoutTheSettingCallsRunOnSwiftsThreads() async throws {
        let seen = try await calls(2, tasksOnEventLoop: false)
        #expect(seen.allSatisfy { $0.before == nil && $0.after == nil })
    }

    /// Makes `count` calls over one connection to a real server and returns where each ran.
    private func calls(_ count: Int, tasksOnEventLoop: Bool) async throws -> [ThreadRecordingHandler.Call] {
        let handler = ThreadRecordingHandler()
        let errors = try await withVarlinkServer(handler, configure: { $0.tasksOnEventLoop = tasksOnEventLoop }) { path in
            try await onThread {
                let client = try VarlinkClient(socketPath: path)
                return try (0..<count).map { _ in try client.callRaw(VarlinkCall(method: "test.Where", parameters: [:])).error }
            }
        }
        #expect(errors == Array(repeating: nil, count: count))
        let seen = handler.seen.withLock { $0 }
        #expect(seen.count == count)
        return seen
    }
}

/// Records, for each call, the event loop it runs on before and after waiting for a thread of its
/// own to finish (as a call waits for a pool's thread).
final class ThreadRecordingHandler: MessageHandler {
    struct Call: Sendable {
        var before: ObjectIdentifier?
        var after: ObjectIdentifier?
    }

    let seen = Mutex<[Call]>([])

    func handle(_ message: [UInt8], from peer: Peer) async -> [UInt8]? {
        let before = MultiThreadedEventLoopGroup.currentEventLoop.map { ObjectIdentifier($0) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread { continuation.resume() }.start()
        }
        let after = MultiThreadedEventLoopGroup.currentEventLoop.map { ObjectIdentifier($0) }
        seen.withLock { $0.append(Call(before: before, after: after)) }
        return try? VarlinkJSON.encode(VarlinkReply(parameters: [:]))
    }

    func recordRejected(_ error: HVError, from peer: Peer) {}
}
