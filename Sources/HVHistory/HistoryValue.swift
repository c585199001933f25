/// One value of one history series at one collection: e.g. target `host`, metric `load1`.
public struct HistoryValue: Sendable, Hashable, Codable {
    /// `host` or a VM's name.
    public var target: String
    /// e.g. `cpu_usage_ratio`; see docs/monitoring/METRICS.md.
    public var metric: String
    public var value: Double

    public init(target: String, metric: String, value: Double) {
        self.target = target
        self.metric = metric
        self.value = value
    }
}
