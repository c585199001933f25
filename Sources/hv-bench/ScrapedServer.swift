import Foundation
import Glibc
import HVMetrics
import Logging
import NIOCore
import ServiceLifecycle

/// The monitor's `/metrics` server on a free loopback port, serving `page` to requests that carry
/// `token` as the monitor's does, run by a service group on a task of its own until `stop()`.
final class ScrapedServer: Sendable {
    let port: Int
    /// The bearer token a scrape must send.
    let token: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(page: MetricsPage, logger: Logger) throws(BenchError) {
        let token = (0..<32).map { _ in String(UInt8.random(in: 0x10...0xFF), radix: 16) }.joined()
        self.token = token
        let authentication: MetricsAuthentication
        do {
            authentication = try MetricsAuthentication(token: token)
        } catch {
            throw BenchError(.measurementFailed, "the /metrics token: \(error)")
        }
        let server = MetricsServer(
            configuration: .init(port: 0, authentication: authentication), page: page, logger: logger)
        let group = ServiceGroup(services: [server], logger: logger)
        task = Task { try await group.run() }
        self.group = group
        let deadline = Stopwatch.now() + 5_000_000_000
        while server.localAddress?.port == nil, Stopwatch.now() < deadline { usleep(5_000) }
        guard let port = server.localAddress?.port else {
            task.cancel()
            throw BenchError(.measurementFailed, "the /metrics server did not listen within 5 s")
        }
        self.port = port
    }

    /// Shuts the server down gracefully and waits for it.
    func stop() {
        let group = group
        let task = task
        _ = try? waitFor {
            await group.triggerGracefulShutdown()
            try await task.value
        }
    }
}
