import HVProtocol

/// Everything the monitor learned in one collection cycle.
public struct Snapshot: Sendable, Hashable {
    /// When the cycle ran, in seconds since 1970.
    public var time: Double
    public var host: HostSample
    /// The broker's `Host.Stats` reply; nil when the broker could not be reached.
    public var stats: HostStatsReply?
    public var health: [HealthCheck]
    /// The broker's `Backup.Status` reply; nil when it could not be read.
    public var backups: BackupStatusReply?

    public init(time: Double, host: HostSample, stats: HostStatsReply?, health: [HealthCheck], backups: BackupStatusReply? = nil) {
        self.time = time
        self.host = host
        self.stats = stats
        self.health = health
        self.backups = backups
    }

    /// The previous cycle's domains, to find each domain's record of the cycle before.
    func previousDomains(_ previous: Snapshot?) -> PreviousDomains {
        PreviousDomains(previous?.stats?.domains ?? [])
    }

    /// The seconds between two snapshots, when positive.
    func interval(since previous: Snapshot?) -> Double? {
        guard let previous, time > previous.time else { return nil }
        return time - previous.time
    }
}

/// The previous cycle's domains by UUID: each found in one step, not by a search of the whole list.
struct PreviousDomains {
    private let byUUID: [String: DomainStats]

    init(_ domains: [DomainStats]) {
        byUUID = Dictionary(domains.map { ($0.uuid, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The previous record of the same domain: matched by UUID and name, so a VM deleted and
    /// re-created under the same name does not inherit the old one's counters.
    func of(_ domain: DomainStats) -> DomainStats? {
        byUUID[domain.uuid].flatMap { $0.name == domain.name ? $0 : nil }
    }
}

/// Rates and ratios computed from two readings of cumulative counters.
enum Delta {
    /// `current - previous`, or nil when either is missing or the counter went backwards (a reset).
    static func of(_ current: Double?, _ previous: Double?) -> Double? {
        guard let current, let previous, current >= previous else { return nil }
        return current - previous
    }

    /// The summed increase of counters matched by key, or nil when none matched or any was reset.
    static func sum<Item, Key: Hashable>(
        _ current: [Item], _ previous: [Item], key: (Item) -> Key, value: (Item) -> Double?
    ) -> Double? {
        let before = Dictionary(previous.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
        var total = 0.0
        var matched = false
        for item in current {
            guard let old = before[key(item)], let now = value(item), let then = value(old) else { continue }
            guard let increase = of(now, then) else { return nil }
            total += increase
            matched = true
        }
        return matched ? total : nil
    }

    /// The host's busy share of CPU time between two samples; nil when any mode went backwards.
    static func cpuUsage(_ current: CPUTimes, _ previous: CPUTimes) -> Double? {
        let pairs = zip(current.modes, previous.modes)
        guard pairs.allSatisfy({ $0.seconds >= $1.seconds }) else { return nil }
        let total = current.total - previous.total
        guard total > 0 else { return nil }
        return min(max((current.busy - previous.busy) / total, 0), 1)
    }

    /// A domain's CPU use over the interval as a share of its vCPUs.
    static func vmCPUUsage(_ current: DomainStats, _ previous: DomainStats?, interval: Double?) -> Double? {
        guard let interval, let previous, current.vcpus > 0,
            let used = of(current.cpuTimeNs.map(Double.init), previous.cpuTimeNs.map(Double.init))
        else { return nil }
        return used / 1e9 / interval / Double(current.vcpus)
    }
}
