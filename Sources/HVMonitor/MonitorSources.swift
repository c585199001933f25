import HVClient
import HVMetrics
import HVProtocol

/// Where one collection cycle's data comes from. All calls block; the monitor runs them on its
/// thread pool. Tests substitute their own.
public protocol MonitorSources: Sendable {
    /// The host's own counters, from /proc.
    func host() throws(MetricsError) -> HostSample
    /// Every domain, pool and network, from the broker's one bulk call.
    func stats() throws(HVError) -> HostStatsReply
    /// Each machine's backups, from the broker's `Backup.Status` (a viewer's call, as `stats()` is).
    func backups() throws(HVError) -> BackupStatusReply
    /// The health checks: the broker's and the monitor's own. `networks` are this cycle's, from
    /// `stats()`, when it succeeded.
    func health(networks: [NetworkStatus]?) -> [HealthCheck]
}

/// The real sources: /proc and the broker's socket.
public struct LiveSources: MonitorSources {
    public let brokerSocket: String
    public let collector: HostCollector
    let checks: @Sendable ([NetworkStatus]?) -> [HealthCheck]

    public init(
        brokerSocket: String, collector: HostCollector = HostCollector(),
        health: @escaping @Sendable ([NetworkStatus]?) -> [HealthCheck]
    ) {
        self.brokerSocket = brokerSocket
        self.collector = collector
        self.checks = health
    }

    public func host() throws(MetricsError) -> HostSample {
        try collector.collect()
    }

    public func stats() throws(HVError) -> HostStatsReply {
        // Bounded, so a broker that accepts but never answers can't stall collection.
        try BrokerClient(socketPath: brokerSocket, timeoutSeconds: 30).stats()
    }

    public func backups() throws(HVError) -> BackupStatusReply {
        try BrokerClient(socketPath: brokerSocket, timeoutSeconds: 30).backupStatus(repository: nil)
    }

    public func health(networks: [NetworkStatus]?) -> [HealthCheck] {
        checks(networks)
    }
}
