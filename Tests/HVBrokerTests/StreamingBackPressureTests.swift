import Foundation
import HVClient
import HVProtocol
import HVTestSupport
import Synchronization
import Testing

/// A client that stops reading holds its stream up: the handler waits inside `send` instead of
/// the server buffering replies without end.
@Suite(.serialized) struct StreamingBackPressureTests {
    @Test func slowReaderSuspendsTheSender() async throws {
        let handler = StreamingHandler()
        let replyCount = 4096
        let replySize = 4096
        try await withStreamingServer(handler) { path in
            let client = try VarlinkClient(socketPath: path, timeoutSeconds: 30)
            let replies = try client.openStream(
                "test.Count", parameters: ["count": .int(Int64(replyCount)), "size": .int(Int64(replySize))]
            )

            // Not reading: the handler gets a little ahead (socket and channel buffers), then stops
            // inside a call of `send`.
            var previous = -1
            let settled = waitUntil(20, every: 0.2) {
                let now = handler.sent.load(ordering: .relaxed)
                defer { previous = now }
                return now > 0 && now == previous
            }
            #expect(settled)
            let ahead = handler.sent.load(ordering: .relaxed)
            #expect(handler.sending.load(ordering: .relaxed) == 1, "the handler waits in send")
            #expect(handler.finished.load(ordering: .relaxed) == 0)
            // 16 MiB were asked for; what is in flight is bounded by the buffers, well under 2 MiB.
            #expect(ahead * replySize < 2 << 20, "\(ahead) replies of \(replySize) bytes went out unread")

            // Reading resumes the stream, which arrives whole and in order.
            var expected = 0
            while let reply = try replies.next() {
                #expect(integer(reply["index"]) == expected)
                expected += 1
            }
            #expect(expected == replyCount)
        }
        #expect(handler.finished.load(ordering: .relaxed) == 1)
    }
}
