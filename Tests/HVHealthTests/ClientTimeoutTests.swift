import HVClient
import HVProtocol
import HVServer
import HVServerTesting
import Synchronization
import Testing

/// A server that accepts and never answers must not hang a client: the monitor's collection
/// depends on it.
@Suite struct ClientTimeoutTests {
    @Test func aSilentServerFailsTheCallAfterTheTimeout() async throws {
        let silent = SilentHandler()
        try await withVarlinkServer(silent) { path in
            defer { silent.release() }
            let error = try await onThread { () throws -> HVError? in
                let client = try BrokerClient(socketPath: path, timeoutSeconds: 1)
                do throws(HVError) {
                    _ = try client.stats()
                    return nil
                } catch {
                    return error
                }
            }
            let failure = try #require(error, "a silent server produced a reply")
            #expect(failure.code == .brokerUnavailable)
            #expect(failure.reason.contains("did not answer within 1 s"), "\(failure.reason)")
            // The client gave up after 1 s; on a busy machine the server may read the call later.
            let started = ContinuousClock.now
            while silent.received.withLock({ $0 }) == 0, ContinuousClock.now - started < .seconds(60) {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(silent.received.withLock { $0 } == 1, "the call reached the server")
        }
    }
}

/// Takes every call and answers none until released.
final class SilentHandler: MessageHandler {
    let received = Mutex(0)
    private let released = Mutex(false)

    func release() { released.withLock { $0 = true } }

    func handle(_ message: [UInt8], from peer: Peer) async -> [UInt8]? {
        received.withLock { $0 += 1 }
        while !released.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(20)) }
        return nil
    }

    func recordRejected(_ error: HVError, from peer: Peer) {}
}
