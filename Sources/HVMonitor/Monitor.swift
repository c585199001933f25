import Foundation
import HVAlerting
import HVHistory
import HVMetrics
import HVProtocol
import Logging
import NIOPosix
import HVSystem
import Synchronization

/// What one collection cycle produced.
public struct CycleResult: Sendable {
    /// Nil when /proc could not be read on the first cycle: nothing is published then.
    public var snapshot: Snapshot?
    public var samples: [MetricSample]
    /// The alert input for this cycle; `previousDomains` is filled by the alert loop.
    public var alertInput: AlertInput
    /// Sources that failed this cycle, with why.
    public var problems: [String]
}

/// The monitor's collection: each cycle reads /proc and asks the broker for every domain's stats
/// in one call, renders `/metrics`, and stores history. Health checks run apart from it, on their
/// own, slower schedule (`checkHealth`, every `healthInterval` seconds); each cycle exports the
/// latest ones. Alert rules are evaluated by the caller off this path.
public final class Monitor: Sendable {
    let sources: any MonitorSources
    let history: HistoryStore
    let page: MetricsPage
    let threadPool: NIOThreadPool
    let healthInterval: Double
    let maintenanceInterval: Double
    let logger: Logger

    private struct State {
        var previous: Snapshot?
        var health: [HealthCheck] = []
        var maintainedAt: Double?
        var collections = 0
        var errors = 0
        var firing: [FiringCount] = []
    }

    private let state = Mutex(State())

    public init(
        sources: any MonitorSources, history: HistoryStore, page: MetricsPage, threadPool: NIOThreadPool,
        healthInterval: Double = 60, maintenanceInterval: Double = 300, logger: Logger
    ) {
        self.sources = sources
        self.history = history
        self.page = page
        self.threadPool = threadPool
        self.healthInterval = healthInterval
        self.maintenanceInterval = maintenanceInterval
        self.logger = logger
    }

    /// How many alerts of each rule fire, zeros included so every rule has a series.
    public typealias FiringCount = (rule: String, severity: AlertSeverity, firing: Int)

    /// Records the alerts firing after the latest evaluation, for `hv_alerts_firing`.
    public func updateFiring(_ counts: [FiringCount]) {
        state.withLock { $0.firing = counts }
    }

    /// Runs the health checks now, off the collection cycle, and keeps them for the cycles that
    /// follow. The bridges are checked against the networks of the latest cycle, when there is one.
    @discardableResult
    public func checkHealth() async -> [HealthCheck] {
        let networks = state.withLock { $0.previous?.stats?.networks }
        let sources = self.sources
        guard let checks = await offload({ sources.health(networks: networks) }) else { return [] }
        state.withLock { $0.health = checks }
        return checks
    }

    /// Runs one cycle at `now` (seconds since 1970).
    public func collect(now: Double) async -> CycleResult {
        let started = ContinuousClock.now
        let previous = state.withLock { $0.previous }
        let sources = self.sources
        let gathered = await offload {
            () -> (host: Result<HostSample, MetricsError>, stats: Result<HostStatsReply, HVError>, backups: Result<BackupStatusReply, HVError>) in
            (
                Result { () throws(MetricsError) in try sources.host() }, Result { () throws(HVError) in try sources.stats() },
                Result { () throws(HVError) in try sources.backups() }
            )
        }

        var problems: [String] = []
        var host = previous?.host
        switch gathered?.host {
        case .success(let sample)?: host = sample
        case .failure(let error)?: problems.append("host: \(error)")
        case nil: problems.append("host: the monitor is shutting down")
        }
        var stats: HostStatsReply?
        switch gathered?.stats {
        case .success(let reply)?: stats = reply
        case .failure(let error)?: problems.append("broker: \(error.reason)")
        case nil: break
        }

        var backups: BackupStatusReply?
        switch gathered?.backups {
        case .success(let reply)?: backups = reply
        case .failure(let error)?: problems.append("backups: \(error.reason)")
        case nil: break
        }

        let health = state.withLock { $0.health }
        guard let host else {
            // Never exported as zeros: without a first host reading there is nothing true to publish.
            state.withLock { $0.errors += 1 }
            for problem in problems { logger.error("collection failed", metadata: ["problem": "\(problem)"]) }
            return CycleResult(snapshot: nil, samples: [], alertInput: AlertInput(), problems: problems)
        }
        let snapshot = Snapshot(time: now, host: host, stats: stats, health: health, backups: backups)
        var samples = snapshot.samples(previous: previous)
        let elapsed = ContinuousClock.now - started
        let (collections, errors, firing) = state.withLock { state in
            state.collections += 1
            if !problems.isEmpty { state.errors += 1 }
            state.previous = snapshot
            return (state.collections, state.errors, state.firing)
        }
        samples += Self.ownSamples(
            brokerUp: stats != nil, duration: elapsed, collections: collections, errors: errors, now: now, firing: firing
        )
        page.update(Exposition.render(samples))
        // SQLite writes and the periodic rollup block: they run on the pool, like the reads.
        let values = snapshot.historyValues(previous: previous)
        _ = await offload { self.store(values, now: now) }
        for problem in problems { logger.warning("collection problem", metadata: ["problem": "\(problem)"]) }
        return CycleResult(
            snapshot: snapshot, samples: samples,
            alertInput: AlertInput(
                samples: samples, healthChecks: health, domains: stats?.domains, pools: stats?.pools,
                networks: stats?.networks
            ),
            problems: problems
        )
    }

    private func store(_ values: [HistoryValue], now: Double) {
        do {
            try history.record(time: now, values: values)
            let due = state.withLock { state in
                guard state.maintainedAt.map({ now - $0 >= maintenanceInterval }) ?? true else { return false }
                state.maintainedAt = now
                return true
            }
            if due { _ = try history.maintain(now: now) }
        } catch {
            logger.error("history not stored", metadata: ["error": "\(error)"])
        }
        // The pool's threads take turns at cycles and at maintenance: what they freed goes back.
        Allocator.returnFreedMemory()
    }

    /// Runs blocking work on the thread pool; nil when the pool is shutting down.
    private func offload<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async -> Value? {
        try? await threadPool.runIfActive(work)
    }

    static func ownSamples(
        brokerUp: Bool, duration: Duration, collections: Int, errors: Int, now: Double, firing: [FiringCount]
    ) -> [MetricSample] {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        let samples = [
            MetricSample(name: "hv_monitor_broker_up", value: brokerUp ? 1 : 0),
            MetricSample(name: "hv_monitor_collection_duration_seconds", value: seconds),
            MetricSample(name: "hv_monitor_collections_total", value: Double(collections)),
            MetricSample(name: "hv_monitor_collection_errors_total", value: Double(errors)),
            MetricSample(name: "hv_monitor_last_collection_timestamp_seconds", value: now),
        ]
        return samples + firing.map { count in
            MetricSample(
                name: "hv_alerts_firing", labels: ["rule": count.rule, "severity": count.severity.rawValue],
                value: Double(count.firing)
            )
        }
    }
}
