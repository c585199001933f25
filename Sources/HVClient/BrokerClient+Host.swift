import HVProtocol

extension BrokerClient {
    /// Every machine's statistics, storage pools and networks (`org.hypernixos.Host.Stats`).
    public func stats() throws(HVError) -> HostStatsReply {
        try connection.call(Method.hostStats, NoParameters())
    }

    /// The checks only the broker can run (`org.hypernixos.Host.Health`).
    public func health() throws(HVError) -> [HealthCheck] {
        try connection.call(Method.hostHealth, NoParameters(), as: HealthReply.self).checks
    }

    /// What the broker says it is (`org.varlink.service.GetInfo`): public, so it shows the broker
    /// answering without asking polkit.
    public func serviceInfo() throws(HVError) -> ServiceInfo {
        try connection.call(Method.getInfo, NoParameters())
    }
}
