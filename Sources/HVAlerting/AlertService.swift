import Foundation
import HVProtocol
import Logging

/// What one call to `AlertService.evaluate` did.
public struct AlertCycle: Sendable, Hashable {
    /// Notifications sent this cycle, as stored (with ids and every channel's outcome).
    public var sent: [AlertNotification]
    /// Transitions held back by a silence or a cooldown, as stored (no deliveries).
    public var held: [AlertNotification]
    /// Every alert firing now, silenced or not.
    public var active: [ActiveAlert]
}

/// The monitor's alerting: the engine, the channels and the store together.
///
/// Each collection cycle, call `evaluate(_:now:)` with the cycle's samples, health checks and domain
/// snapshots. It decides, sends concurrently to each notification's channels (retrying each), records
/// everything in the store and persists the engine's state, and returns when every delivery has
/// finished or given up; run it off the collection path if the retries' time matters. It also
/// prunes history older than the store's retention, once a day.
public actor AlertService {
    public let configuration: AlertConfiguration
    private var engine: AlertEngine
    private let store: AlertStore
    private let deliverer: AlertDeliverer
    private let logger: Logger
    private var active: [ActiveAlert] = []
    /// When history was last pruned; `evaluate` prunes once a day.
    private var prunedAt: Double?

    /// Restores the engine's state from `store`. Pass `channels` to replace the configured ones (tests);
    /// by default they are built from the configuration, which checks every secret file now.
    public init(
        configuration: AlertConfiguration, store: AlertStore, channels: [String: any AlertChannel]? = nil,
        sleep: (@Sendable (Double) async throws -> Void)? = nil, logger: Logger = Logger(label: "hv-monitor.alerts")
    ) throws {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        engine = AlertEngine(rules: configuration.rules, states: try store.loadStates())
        let built = try channels ?? AlertChannels.make(configuration)
        deliverer = sleep.map { AlertDeliverer(channels: built, policy: configuration.delivery, sleep: $0) }
            ?? AlertDeliverer(channels: built, policy: configuration.delivery)
    }

    /// Runs the rules over one cycle's data at `now`, sends what is due and records it.
    public func evaluate(_ input: AlertInput, now: Date) async throws -> AlertCycle {
        let time = now.timeIntervalSince1970
        if prunedAt.map({ time - $0 >= 86_400 }) ?? true {
            try store.prune(now: time)
            prunedAt = time
        }
        let evaluation = engine.evaluate(input, now: time, silences: try store.activeSilences(now: time))
        try store.saveStates(Array(engine.states.values))
        active = evaluation.active

        var held: [AlertNotification] = []
        for decision in evaluation.held {
            let reason: String
            switch decision.hold {
            case .silenced(let until): reason = "silenced until \(Int(until))"
            case .coolingDown(let until): reason = "cooldown until \(Int(until))"
            case nil: reason = "held"
            }
            held.append(try store.record(notification(decision), held: reason))
        }

        var sent: [AlertNotification] = []
        await withTaskGroup(of: AlertNotification?.self) { group in
            for decision in evaluation.notifications {
                guard let rule = configuration.rules.first(where: { $0.name == decision.rule }) else { continue }
                let names = configuration.channelNames(for: rule)
                group.addTask { await self.send(self.notification(decision), to: names) }
            }
            for await notification in group { if let notification { sent.append(notification) } }
        }
        return AlertCycle(sent: sent.sorted { $0.id < $1.id }, held: held, active: evaluation.active)
    }

    /// The alerts firing after the last evaluation, each with the silences in force at `now`: a
    /// silence added or ended since that evaluation shows at once, not a cycle later.
    public func activeAlerts(now: Date) throws -> [ActiveAlert] {
        let time = now.timeIntervalSince1970
        let cover = SilenceCover(try store.activeSilences(now: time), now: time)
        return active.map { alert in
            var alert = alert
            alert.silencedUntil = cover.until(rule: alert.rule, labels: alert.labels)
            return alert
        }
    }

    /// For `hv_alerts_firing{rule,severity}`: every configured rule, with how many of its alerts fire
    /// (silenced ones included), zero when none do.
    public func firingCounts() -> [(rule: String, severity: AlertSeverity, firing: Int)] {
        configuration.rules.map { rule in
            (rule.name, rule.severity, active.filter { $0.rule == rule.name }.count)
        }
    }

    /// Sends a `kind: test` notification through one channel, or through the channels routed for a
    /// severity (warning when neither is given), and records it.
    public func sendTest(channel: String? = nil, severity: AlertSeverity? = nil, now: Date) async throws
        -> AlertNotification
    {
        let level = severity ?? .warning
        let names: [String]
        if let channel {
            guard configuration.channels.contains(where: { $0.name == channel }) else {
                throw AlertingError(
                    .noChannel, "no channel named \(channel)",
                    fix: "use one of: \(configuration.channels.map(\.name).joined(separator: ", "))")
            }
            names = [channel]
        } else {
            names = configuration.routes[level] ?? []
            guard !names.isEmpty else {
                throw AlertingError(
                    .noChannel, "no channels are routed for \(level.rawValue)", fix: "add routes.\(level.rawValue) to the alerting configuration")
            }
        }
        let test = AlertNotification(
            id: 0, time: now.timeIntervalSince1970, key: "test", rule: "test", severity: level, kind: "test",
            summary: "Test notification from hv-monitor", labels: [:], deliveries: [])
        guard let stored = await send(test, to: names) else {
            throw AlertingError(.storeFailed, "could not record the test notification")
        }
        return stored
    }

    public func addSilence(matcher: String, until: Date, createdBy: String, comment: String, now: Date) throws
        -> AlertSilence
    {
        try store.addSilence(
            matcher: matcher, until: until.timeIntervalSince1970, createdBy: createdBy, comment: comment,
            now: now.timeIntervalSince1970)
    }

    public func silences(now: Date) throws -> [AlertSilence] {
        try store.activeSilences(now: now.timeIntervalSince1970)
    }

    public func expireSilence(id: Int64, now: Date) throws {
        try store.expireSilence(id: id, now: now.timeIntervalSince1970)
    }

    /// Stored notifications, newest first.
    public func history(since: Date? = nil, limit: Int = 100) throws -> [AlertNotification] {
        try store.notifications(since: since?.timeIntervalSince1970, limit: limit)
    }

    /// Deletes history older than the store's retention now (`evaluate` also does so daily).
    @discardableResult
    public func prune(now: Date) throws -> Int { try store.prune(now: now.timeIntervalSince1970) }

    private nonisolated func notification(_ decision: AlertDecision) -> AlertNotification {
        AlertNotification(
            id: 0, time: decision.time, key: decision.key, rule: decision.rule, severity: decision.severity,
            kind: decision.kind.rawValue, summary: decision.summary, labels: decision.labels, deliveries: [],
            reason: decision.reason)
    }

    /// Records the notification, delivers it, records each outcome as it arrives.
    private func send(_ notification: AlertNotification, to names: [String]) async -> AlertNotification? {
        let stored: AlertNotification
        do {
            stored = try store.record(notification)
        } catch {
            logger.error("cannot record notification", metadata: ["key": "\(notification.key)", "error": "\(error)"])
            return nil
        }
        let store = self.store
        let logger = self.logger
        let deliveries = await deliverer.deliver(stored, to: names) { delivery in
            do {
                try store.addDelivery(delivery, to: stored.id)
            } catch {
                logger.error("cannot record delivery", metadata: ["channel": "\(delivery.channel)", "error": "\(error)"])
            }
            if !delivery.delivered {
                logger.warning(
                    "alert delivery failed",
                    metadata: [
                        "channel": "\(delivery.channel)", "key": "\(stored.key)", "attempts": "\(delivery.attempts)",
                        "error": "\(delivery.error ?? "")",
                    ])
            }
        }
        var result = stored
        result.deliveries = deliveries
        return result
    }
}
