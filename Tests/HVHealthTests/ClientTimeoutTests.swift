import Foundation
import HVClient
import HVProtocol
import Testing

/// A server that accepts and never answers must not hang a client: the monitor's collection
/// depends on it.
@Suite struct ClientTimeoutTests {
    @Test func aSilentServerFailsTheCallAfterTheTimeout() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hv-silent-\(getpid()).sock").path
        unlink(path)
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer {
            close(listener)
            unlink(path)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0 && listen(listener, 4) == 0)

        // The kernel completes the connection from the backlog; nobody ever reads or replies.
        let client = try BrokerClient(socketPath: path, timeoutSeconds: 1)
        do {
            _ = try client.stats()
            Issue.record("a silent server produced a reply")
        } catch {
            #expect(error.code == .brokerUnavailable)
            #expect(error.reason.contains("did not answer within 1 s"), "\(error.reason)")
        }
    }
}
