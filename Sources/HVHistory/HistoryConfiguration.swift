/// How long the history keeps each resolution and how large it may grow.
public struct HistoryConfiguration: Sendable, Hashable {
    /// The monitor's collection interval: the width of a raw point.
    public var collectionIntervalSeconds: Int
    /// How long raw points are kept (48 hours by default).
    public var rawRetentionSeconds: Double
    /// How long 5-minute aggregates are kept (30 days by default).
    public var fiveMinuteRetentionSeconds: Double
    /// How long hourly aggregates are kept (365 days by default).
    public var hourlyRetentionSeconds: Double
    /// Most series (target and metric pairs) stored; a new series beyond it replaces the one
    /// written longest ago, never one written in the current minute.
    public var maximumSeries: Int
    /// Most bytes the database's live pages may take; beyond it the oldest data is dropped first.
    public var maximumBytes: Int
    /// Most points one series of a query returns; longer ranges are downsampled on read.
    public var maximumPointsPerSeries: Int

    public init(
        collectionIntervalSeconds: Int = 15, rawRetentionSeconds: Double = 48 * 3600,
        fiveMinuteRetentionSeconds: Double = 30 * 86400, hourlyRetentionSeconds: Double = 365 * 86400,
        maximumSeries: Int = 10_000, maximumBytes: Int = 512 << 20, maximumPointsPerSeries: Int = 500
    ) {
        self.collectionIntervalSeconds = collectionIntervalSeconds
        self.rawRetentionSeconds = rawRetentionSeconds
        self.fiveMinuteRetentionSeconds = fiveMinuteRetentionSeconds
        self.hourlyRetentionSeconds = hourlyRetentionSeconds
        self.maximumSeries = maximumSeries
        self.maximumBytes = maximumBytes
        self.maximumPointsPerSeries = maximumPointsPerSeries
    }
}

/// The resolutions the history stores.
public enum HistoryResolution: Int, Sendable, Hashable, CaseIterable {
    /// As collected.
    case raw = 0
    /// 5-minute buckets.
    case fiveMinutes = 300
    /// Hourly buckets.
    case hourly = 3600
}
