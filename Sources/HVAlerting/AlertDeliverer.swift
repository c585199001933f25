import HVProtocol

/// Sends one notification through several channels at once, retrying each with exponential backoff.
public struct AlertDeliverer: Sendable {
    public var channels: [String: any AlertChannel]
    public var policy: DeliveryPolicy
    /// Waits between attempts; tests pass one that does not sleep, or sleeps briefly.
    public var sleep: @Sendable (Double) async throws -> Void

    public init(
        channels: [String: any AlertChannel], policy: DeliveryPolicy,
        sleep: @escaping @Sendable (Double) async throws -> Void = { try await Task.sleep(for: .seconds($0)) }
    ) {
        self.channels = channels
        self.policy = policy
        self.sleep = sleep
    }

    /// Delivers `notification` to `names` concurrently. `recorded` is called as each channel finishes,
    /// so a slow or unreachable channel does not hold back the others' records. Returns every
    /// outcome, in the order of `names`.
    public func deliver(
        _ notification: AlertNotification, to names: [String],
        recorded: @escaping @Sendable (AlertDelivery) async -> Void = { _ in }
    ) async -> [AlertDelivery] {
        var outcomes: [String: AlertDelivery] = [:]
        await withTaskGroup(of: AlertDelivery.self) { group in
            for name in Set(names) {
                group.addTask {
                    let delivery = await attempt(notification, channel: name)
                    await recorded(delivery)
                    return delivery
                }
            }
            for await delivery in group { outcomes[delivery.channel] = delivery }
        }
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }.compactMap { outcomes[$0] }
    }

    private func attempt(_ notification: AlertNotification, channel name: String) async -> AlertDelivery {
        guard let channel = channels[name] else {
            return AlertDelivery(channel: name, delivered: false, attempts: 0, error: "no channel named \(name)")
        }
        var lastError = ""
        for attempt in 1...max(policy.attempts, 1) {
            do {
                try await channel.send(notification)
                return AlertDelivery(channel: name, delivered: true, attempts: attempt, error: nil)
            } catch {
                lastError = String(describing: error)
            }
            if attempt < policy.attempts {
                do { try await sleep(policy.delay(after: attempt)) } catch {
                    return AlertDelivery(channel: name, delivered: false, attempts: attempt, error: lastError)
                }
            }
        }
        return AlertDelivery(channel: name, delivered: false, attempts: max(policy.attempts, 1), error: lastError)
    }
}
