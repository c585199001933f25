import Foundation
import HVAlerting
import HVHistory
import HVProtocol

/// The control socket's operations, on the monitor's history and alerting.
public struct MonitorControl: MonitorBackend {
    let history: HistoryStore
    let alerts: AlertService?

    public init(history: HistoryStore, alerts: AlertService?) {
        self.history = history
        self.alerts = alerts
    }

    public func history(_ parameters: HistoryParameters) async throws(HVError) -> [MetricSeries] {
        let now = Date().timeIntervalSince1970
        do {
            let known = try history.targets()
            guard known.contains(parameters.target) else {
                throw HVError(
                    .notFound, "the monitor has no history for '\(parameters.target)'",
                    fix: known.isEmpty
                        ? "wait for the first collection cycle"
                        : "use 'host' or one of: \(known.filter { $0 != "host" }.sorted().joined(separator: ", "))",
                    details: ["name": parameters.target]
                )
            }
            return try history.query(
                target: parameters.target, metrics: parameters.metrics, since: now - Double(parameters.sinceSeconds), now: now
            )
        } catch let error as HVError {
            throw error
        } catch {
            throw HVError(.failed, "the history could not be read: \(error)")
        }
    }

    public func alerts(limit: Int) async throws(HVError) -> ListAlertsReply {
        let alerts = try configured()
        let now = Date()
        do {
            return ListAlertsReply(
                active: try await alerts.activeAlerts(now: now), recent: try await alerts.history(limit: limit),
                silences: try await alerts.silences(now: now)
            )
        } catch {
            throw HVError(.failed, "the alert history could not be read: \(error)")
        }
    }

    public func testAlert(channel: String?, severity: AlertSeverity) async throws(HVError) -> AlertNotification {
        let alerts = try configured()
        do {
            return try await alerts.sendTest(channel: channel, severity: severity, now: Date())
        } catch let error as AlertingError {
            throw HVError(error.code == .noChannel ? .notFound : .failed, error.reason, fix: error.fix)
        } catch {
            throw HVError(.failed, "the test notification failed: \(error)")
        }
    }

    public func silence(matcher: String, duration: Int, comment: String, createdBy: String) async throws(HVError)
        -> AlertSilence
    {
        let alerts = try configured()
        let now = Date()
        do {
            return try await alerts.addSilence(
                matcher: matcher, until: now.addingTimeInterval(Double(duration)), createdBy: createdBy, comment: comment,
                now: now
            )
        } catch let error as AlertingError {
            throw HVError(.invalidParameter, error.reason, fix: error.fix, details: ["parameter": "matcher"])
        } catch {
            throw HVError(.failed, "the silence could not be stored: \(error)")
        }
    }

    public func removeSilence(id: Int64) async throws(HVError) {
        let alerts = try configured()
        do {
            try await alerts.expireSilence(id: id, now: Date())
        } catch let error as AlertingError {
            throw HVError(.notFound, error.reason, fix: error.fix ?? "run 'hv alerts list' to see the silences")
        } catch {
            throw HVError(.failed, "the silence could not be removed: \(error)")
        }
    }

    private func configured() throws(HVError) -> AlertService {
        guard let alerts else {
            throw HVError(
                .failed, "alerting is turned off in the monitor's configuration",
                fix: "add an 'alerting' section to /etc/hypervisor/monitor.yaml and restart hv-monitor"
            )
        }
        return alerts
    }
}
