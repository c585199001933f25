import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import HVMetrics

/// One client's share of the `/metrics` connections: a local user found by the socket's owner,
/// a remote client by its address.
struct ConnectionsPerOwnerTests {
    /// /proc/net/tcp as the kernel prints it: a listener on 127.0.0.1:9478, and two clients of it,
    /// from uid 1003 (port 40000) and uid 0 (port 40001), each with the server's end beside it.
    static let table = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 0100007F:2506 00000000:0000 0A 00000000:00000000 00:00000000 00000000   995        0 1001 1 0 100 0 0 10 0
           1: 0100007F:9C40 0100007F:2506 01 00000000:00000000 00:00000000 00000000  1003        0 1002 1 0 20 4 30 10 -1
           2: 0100007F:2506 0100007F:9C40 01 00000000:00000000 00:00000000 00000000   995        0 1003 1 0 20 4 30 10 -1
           3: 0100007F:9C41 0100007F:2506 01 00000000:00000000 00:00000000 00000000     0        0 1004 1 0 20 4 30 10 -1
        """

    let server = try! SocketAddress(ipAddress: "127.0.0.1", port: 9478)

    @Test func aLocalClientIsKnownByItsSocketsOwner() throws {
        let user = ConnectionOwner.of(peer: try SocketAddress(ipAddress: "127.0.0.1", port: 40000), local: server, tables: [Self.table])
        #expect(user == .user(1003))
        let root = ConnectionOwner.of(peer: try SocketAddress(ipAddress: "127.0.0.1", port: 40001), local: server, tables: [Self.table])
        #expect(root == .user(0))
        // The same client seen by a server listening on IPv6 with IPv4 mapped in.
        let mapped = ConnectionOwner.of(
            peer: try SocketAddress(ipAddress: "::ffff:127.0.0.1", port: 40000),
            local: try SocketAddress(ipAddress: "::ffff:127.0.0.1", port: 9478), tables: [Self.table])
        #expect(mapped == .user(1003))
    }

    @Test func aClientNotInTheTablesIsKnownByItsAddress() throws {
        let remote = ConnectionOwner.of(peer: try SocketAddress(ipAddress: "192.0.2.7", port: 40000), local: server, tables: [Self.table])
        #expect(remote == .address("192.0.2.7"))
        // Port 40000 but to another server port: not this connection.
        let other = ConnectionOwner.of(
            peer: try SocketAddress(ipAddress: "127.0.0.1", port: 40000), local: try SocketAddress(ipAddress: "127.0.0.1", port: 9479),
            tables: [Self.table])
        #expect(other == .address("127.0.0.1"))
    }

    @Test func eachOwnerGetsItsOwnShare() throws {
        let limits = ConnectionsPerOwner(limit: 2, logger: Logger(label: "test")) { [Self.table] }
        let user = try SocketAddress(ipAddress: "127.0.0.1", port: 40000)
        let root = try SocketAddress(ipAddress: "127.0.0.1", port: 40001)
        #expect(limits.admit(peer: user, local: server) == .user(1003))
        #expect(limits.admit(peer: user, local: server) == .user(1003))
        #expect(limits.admit(peer: user, local: server) == nil, "a third connection of uid 1003 is refused")
        #expect(limits.admit(peer: root, local: server) == .user(0), "another user is still served")
        limits.release(.user(1003))
        #expect(limits.admit(peer: user, local: server) == .user(1003), "a closed connection gives its slot back")
        #expect(limits.count(.user(1003)) == 2)
    }

    /// On the real server, this process (one user) gets its share and no more; the page is still
    /// served on the connections it holds, and a closed one gives its slot back.
    @Test func theServerClosesConnectionsBeyondOneClientsShare() async throws {
        let server = MetricsServer(
            configuration: .init(port: 0, maximumConnections: 64, maximumConnectionsPerClient: 2), page: MetricsServerTests.secretPage(),
            logger: MetricsServerTests.logger)
        try await MetricsServerTests().withRunning(server) { port in
            let first = TestClient(host: "127.0.0.1", port: port)
            first.connect()
            #expect(try await first.get("/metrics").status == .ok)
            let second = TestClient(host: "127.0.0.1", port: port)
            second.connect()
            #expect(try await second.get("/metrics").status == .ok)
            let third = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(30)))
            third.connect()
            await #expect(throws: (any Error).self, "the third connection is closed on accept") { try await third.get("/metrics") }
            try? await third.shutdown()
            try await second.shutdown()
            // The server sees the close a moment later.
            var next: TestClient.Response?
            for _ in 0..<100 where next == nil {
                next = try? await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(60))) {
                    try await $0.get("/metrics")
                }
                if next == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(next?.status == .ok, "after one closed, a new connection is served")
            try await first.shutdown()
        }
    }
}
