import HVAlerting
import HVProtocol
import Testing

/// A channel that succeeds or fails on command, counting its attempts.
actor Attempts {
    var counts: [String: Int] = [:]
    func add(_ name: String) { counts[name, default: 0] += 1 }
}

struct ScriptedChannel: AlertChannel {
    let name: String
    let fails: Bool
    let attempts: Attempts

    func send(_ notification: AlertNotification) async throws {
        await attempts.add(name)
        if fails { throw AlertingError(.deliveryFailed, "\(name) is down") }
    }
}

/// Holds the failing channel's retry until the healthy channel's outcome has been recorded.
actor Gate {
    private var recorded: [String] = []
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func record(_ channel: String) {
        recorded.append(channel)
        waiters.forEach { $0.resume() }
        waiters = []
    }

    func waitFor(_ channel: String) async {
        while !recorded.contains(channel) { await withCheckedContinuation { waiters.append($0) } }
    }

    var order: [String] { recorded }
}

@Suite struct DelivererTests {
    @Test func failingChannelIsRetriedWithoutHoldingBackTheOthers() async {
        let attempts = Attempts()
        let gate = Gate()
        let delays = Recorder()
        let deliverer = AlertDeliverer(
            channels: [
                "up": ScriptedChannel(name: "up", fails: false, attempts: attempts),
                "down": ScriptedChannel(name: "down", fails: true, attempts: attempts),
            ],
            policy: DeliveryPolicy(attempts: 4, baseDelaySeconds: 0.25),
            sleep: { delay in
                // The retry waits until the other channels have been recorded: if delivery were
                // sequential, this would hang. So "down" is necessarily the last to finish.
                await gate.waitFor("up")
                await gate.waitFor("missing")
                await delays.add(delay)
            })
        let notification = AlertNotification(
            id: 1, time: 0, key: "k", rule: "k", severity: .critical, kind: "firing", summary: "s", labels: [:],
            deliveries: [])
        let outcomes = await deliverer.deliver(notification, to: ["down", "up", "missing"]) { await gate.record($0.channel) }
        #expect(
            outcomes == [
                AlertDelivery(channel: "down", delivered: false, attempts: 4, error: "down is down"),
                AlertDelivery(channel: "up", delivered: true, attempts: 1, error: nil),
                AlertDelivery(channel: "missing", delivered: false, attempts: 0, error: "no channel named missing"),
            ])
        #expect(await gate.order.last == "down")
        #expect(await delays.values == [0.25, 0.5, 1])
        #expect(await attempts.counts == ["up": 1, "down": 4])
    }
}
