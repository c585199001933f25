import HVProtocol

extension Sequence where Element == HealthCheck {
    /// The worst status among the checks; `ok` when there are none.
    public var overallStatus: HealthStatus {
        reduce(HealthStatus.ok) { Swift.max($0, $1.status) }
    }
}
