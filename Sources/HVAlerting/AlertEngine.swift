import HVProtocol

/// What the engine looks at in one collection cycle.
public struct AlertInput: Sendable {
    public var samples: [MetricSample]
    public var healthChecks: [HealthCheck]
    /// This cycle's domains; nil when they could not be collected (event rules then wait).
    public var domains: [DomainStats]?
    /// The previous cycle's domains; nil on the first cycle.
    public var previousDomains: [DomainStats]?
    /// This cycle's storage pools; nil when they could not be collected.
    public var pools: [PoolStats]?
    /// This cycle's virtual networks; nil when they could not be collected.
    public var networks: [NetworkStatus]?

    public init(
        samples: [MetricSample] = [], healthChecks: [HealthCheck] = [], domains: [DomainStats]? = nil,
        previousDomains: [DomainStats]? = nil, pools: [PoolStats]? = nil, networks: [NetworkStatus]? = nil
    ) {
        self.samples = samples
        self.healthChecks = healthChecks
        self.domains = domains
        self.previousDomains = previousDomains
        self.pools = pools
        self.networks = networks
    }
}

/// The engine's memory of one alert key; persisted so a restarted monitor carries on where it stopped.
public struct AlertState: Codable, Sendable, Hashable {
    public var key: String
    public var rule: String
    public var labels: [String: String]
    public var summary: String
    /// When the condition began to hold (the alert's `since`); nil when it does not hold.
    public var since: Double?
    /// Whether `for` has been met and the alert is firing.
    public var firing: Bool
    /// Whether a firing notification went out for the current firing.
    public var notified: Bool
    /// When the last firing notification went out; the cooldown counts from here.
    public var lastFiringNotifiedAt: Double?
    /// The last cycle in which the key's series or check was present.
    public var lastSeen: Double

    public init(
        key: String, rule: String, labels: [String: String], summary: String, since: Double?, firing: Bool,
        notified: Bool, lastFiringNotifiedAt: Double?, lastSeen: Double
    ) {
        self.key = key
        self.rule = rule
        self.labels = labels
        self.summary = summary
        self.since = since
        self.firing = firing
        self.notified = notified
        self.lastFiringNotifiedAt = lastFiringNotifiedAt
        self.lastSeen = lastSeen
    }
}

/// A notification the engine decided on: to send, or held back by a silence or a cooldown.
public struct AlertDecision: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case firing
        case resolved
    }

    public enum Hold: Sendable, Hashable {
        /// A silence covers the key until this time.
        case silenced(until: Double)
        /// The key notified a firing at `lastFiringNotifiedAt`; quiet until this time.
        case coolingDown(until: Double)
    }

    public var kind: Kind
    public var time: Double
    public var key: String
    public var rule: String
    public var severity: AlertSeverity
    public var summary: String
    public var labels: [String: String]
    /// Why it is not sent; nil when it is to be sent.
    public var hold: Hold?
    /// Why a resolve happened, when the condition alone does not say: `vm web1 no longer exists`.
    public var reason: String?
}

/// One cycle's outcome.
public struct AlertEvaluation: Sendable, Hashable {
    /// Notifications to send now, in key order.
    public var notifications: [AlertDecision]
    /// Transitions that were not sent (silenced, or a re-fire inside its cooldown).
    public var held: [AlertDecision]
    /// Every firing alert, silenced or not, in key order.
    public var active: [ActiveAlert]
}

/// Decides which alerts fire, resolve and notify. Deterministic: time is a parameter, nothing sleeps.
///
/// Semantics (docs/monitoring/ALERTING.md):
/// - A condition must hold in every cycle for `for` seconds before the alert fires; one cycle where it
///   does not hold starts the wait again. `since` is when it began to hold.
/// - A firing key notifies once (deduplication); it notifies again only after resolving.
/// - Hysteresis: a metric alert fires above `above` and resolves only at or below `resolve_below`
///   (mirrored for `below`/`resolve_above`).
/// - A resolve is sent only for a firing that was notified.
/// - Cooldown, per key, counted from the last firing notification: a key that fires again before it
///   ends is active but not notified; if it is still firing when the cooldown ends, it is notified then.
/// - A silenced key is tracked and listed, but nothing is sent for it (firing or resolved); if it is
///   still firing when the silence ends, its firing is notified then.
/// - A metric series or health check that disappears keeps its alert's state; a firing alert whose
///   series stays absent for `absentResolveSeconds` resolves (e.g. an unmounted filesystem).
/// - An alert about a machine, pool or network that this cycle's lists lack resolves at once, with
///   the reason `vm web1 no longer exists`, and nothing fires for it again.
public struct AlertEngine: Sendable {
    public private(set) var rules: [AlertRule]
    /// Every key the engine remembers, by key.
    public private(set) var states: [String: AlertState]
    public var absentResolveSeconds: Double

    public init(rules: [AlertRule], states: [AlertState] = [], absentResolveSeconds: Double = 600) {
        self.rules = rules
        let names = Set(rules.map(\.name))
        self.states = Dictionary(
            states.filter { names.contains($0.rule) }.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
        self.absentResolveSeconds = absentResolveSeconds
    }

    /// Runs every rule against `input` at `now` (seconds since 1970).
    public mutating func evaluate(_ input: AlertInput, now: Double, silences: [AlertSilence] = []) -> AlertEvaluation {
        let cover = SilenceCover(silences, now: now)
        func silencedUntil(_ state: AlertState) -> Double? { cover.until(rule: state.rule, labels: state.labels) }

        let objects = GoneObjects(input)
        var decisions: [AlertDecision] = []
        for rule in rules {
            // An observation about a gone object is stale (a health result older than the deletion).
            let observations = observe(rule, input).filter { objects.gone($0.labels) == nil }
            var seen: Set<String> = []
            for observation in observations {
                let key = AlertKey.make(rule: rule.name, labels: observation.labels)
                seen.insert(key)
                var state = states[key] ?? AlertState(
                    key: key, rule: rule.name, labels: observation.labels, summary: "", since: nil, firing: false,
                    notified: false, lastFiringNotifiedAt: nil, lastSeen: now)
                state.lastSeen = now
                state.summary = SummaryTemplate.render(rule.summary, observation.labels.merging(observation.details) { $1 })
                if state.firing {
                    if observation.resolves { resolve(&state, rule, now, silencedUntil(state), into: &decisions) }
                } else if observation.fires {
                    let since = state.since ?? now
                    state.since = since
                    if now - since >= rule.forSeconds { state.firing = true }
                } else {
                    state.since = nil
                }
                states[key] = state
            }
            for key in states.keys where !seen.contains(key) && states[key]?.rule == rule.name {
                guard var state = states[key] else { continue }
                if let gone = objects.gone(state.labels) {
                    if state.firing {
                        let why = "\(gone) no longer exists"
                        resolve(&state, rule, now, silencedUntil(state), because: why, into: &decisions)
                    }
                    state.since = nil
                } else if case .event(let event) = rule.condition {
                    if state.firing, eventResolved(state, event, input, now) {
                        resolve(&state, rule, now, silencedUntil(state), into: &decisions)
                    }
                } else if state.firing {
                    if now - state.lastSeen >= absentResolveSeconds {
                        resolve(&state, rule, now, silencedUntil(state), into: &decisions)
                    }
                } else {
                    state.since = nil
                }
                states[key] = state
            }
        }

        for key in states.keys.sorted() {
            guard var state = states[key], state.firing, !state.notified,
                let rule = rules.first(where: { $0.name == state.rule })
            else { continue }
            var decision = AlertDecision(
                kind: .firing, time: now, key: key, rule: rule.name, severity: rule.severity, summary: state.summary,
                labels: state.labels, hold: nil)
            if let until = silencedUntil(state) {
                decision.hold = .silenced(until: until)
            } else if let last = state.lastFiringNotifiedAt, now < last + rule.cooldownSeconds {
                decision.hold = .coolingDown(until: last + rule.cooldownSeconds)
            }
            if decision.hold == nil {
                state.notified = true
                state.lastFiringNotifiedAt = now
                states[key] = state
                decisions.append(decision)
            } else if heldRecorded.insert(key).inserted {
                // Report a held firing once, not in every cycle it stays held.
                decisions.append(decision)
            }
        }
        prune(now)

        let active = states.values.filter(\.firing).sorted { $0.key < $1.key }.compactMap { state -> ActiveAlert? in
            guard let rule = rules.first(where: { $0.name == state.rule }) else { return nil }
            return ActiveAlert(
                key: state.key, rule: state.rule, severity: rule.severity, summary: state.summary, labels: state.labels,
                since: state.since ?? now, silencedUntil: silencedUntil(state))
        }
        return AlertEvaluation(
            notifications: decisions.filter { $0.hold == nil }, held: decisions.filter { $0.hold != nil },
            active: active)
    }

    /// Keys whose held firing was already reported for their current firing.
    private var heldRecorded: Set<String> = []

    private mutating func resolve(
        _ state: inout AlertState, _ rule: AlertRule, _ now: Double, _ silencedUntil: Double?,
        because reason: String? = nil, into decisions: inout [AlertDecision]
    ) {
        if state.notified {
            decisions.append(
                AlertDecision(
                    kind: .resolved, time: now, key: state.key, rule: rule.name, severity: rule.severity,
                    summary: state.summary, labels: state.labels, hold: silencedUntil.map { .silenced(until: $0) },
                    reason: reason))
        }
        state.firing = false
        state.notified = false
        state.since = nil
        heldRecorded.remove(state.key)
    }

    private mutating func prune(_ now: Double) {
        for (key, state) in states where !state.firing && state.since == nil {
            let cooldown = rules.first { $0.name == state.rule }?.cooldownSeconds ?? 0
            if let last = state.lastFiringNotifiedAt, now < last + cooldown { continue }
            states[key] = nil
            heldRecorded.remove(key)
        }
    }

    private func eventResolved(_ state: AlertState, _ event: EventCondition, _ input: AlertInput, _ now: Double) -> Bool {
        if let after = event.resolveAfterSeconds, let since = state.since, now - since >= after { return true }
        guard let domains = input.domains, let vm = state.labels["vm"] else { return false }
        return VMEvents.isRunning(vm, in: domains)
    }

    struct Observation {
        var labels: [String: String]
        var details: [String: String]
        var fires: Bool
        var resolves: Bool
    }

    private func observe(_ rule: AlertRule, _ input: AlertInput) -> [Observation] {
        switch rule.condition {
        case .threshold(let condition):
            var byLabels: [[String: String]: Observation] = [:]
            for sample in input.samples where sample.name == condition.metric && sample.value.isFinite {
                guard condition.labels.allSatisfy({ sample.labels[$0.key] == $0.value }) else { continue }
                byLabels[sample.labels] = Observation(
                    labels: sample.labels,
                    details: ["value": SummaryTemplate.format(sample.value, metric: sample.name)],
                    fires: condition.fires(sample.value), resolves: condition.resolves(sample.value))
            }
            return Array(byLabels.values)
        case .health(let condition):
            return input.healthChecks.filter { condition.matches($0.id) }.map { check in
                let fires = condition.statuses.contains(check.status)
                return Observation(
                    labels: ["check": check.id],
                    details: ["title": check.title, "value": check.value, "status": check.status.rawValue],
                    fires: fires, resolves: !fires)
            }
        case .event(let condition):
            guard let domains = input.domains else { return [] }
            return VMEvents.occurrences(of: condition.event, previous: input.previousDomains, current: domains).map {
                Observation(labels: ["vm": $0], details: [:], fires: true, resolves: false)
            }
        }
    }
}
