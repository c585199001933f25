import HVProtocol

/// Typed calls to the monitor's control socket.
public struct MonitorClient {
    let connection: VarlinkClient

    public init(socketPath: String = MonitorMethod.defaultSocketPath) throws(HVError) {
        connection = try VarlinkClient(socketPath: socketPath, service: "monitor")
    }

    public func history(_ parameters: HistoryParameters) throws(HVError) -> [MetricSeries] {
        try connection.call(MonitorMethod.history, parameters, as: HistoryReply.self).series
    }

    public func alerts(limit: Int? = nil) throws(HVError) -> ListAlertsReply {
        try connection.call(MonitorMethod.listAlerts, ListAlertsParameters(limit: limit))
    }

    public func testAlert(channel: String?, severity: AlertSeverity?) throws(HVError) -> AlertNotification {
        try connection.call(
            MonitorMethod.testAlert, TestAlertParameters(channel: channel, severity: severity), as: TestAlertReply.self
        ).notification
    }

    public func silence(matcher: String, durationSeconds: Int, comment: String) throws(HVError) -> AlertSilence {
        try connection.call(
            MonitorMethod.silence, SilenceParameters(matcher: matcher, durationSeconds: durationSeconds, comment: comment),
            as: SilenceReply.self
        ).silence
    }

    public func removeSilence(id: Int64) throws(HVError) {
        _ = try connection.call(MonitorMethod.removeSilence, RemoveSilenceParameters(id: id), as: EmptyReply.self)
    }
}
