import Foundation
import HVAlerting
import HVProtocol
import Logging
import ServiceLifecycle

/// Runs the collection every interval, the health checks every health interval (each on its own
/// schedule, so a slow check never delays a cycle), and evaluates the alert rules on each cycle's data.
///
/// Alert evaluation runs beside the collection, never in its way, and delivery (with its retries)
/// runs beside evaluation. Should evaluation ever fall behind, the alert loop takes the newest cycle
/// and carries the domains it last saw, so a VM that stopped in a skipped cycle is still noticed.
public final class MonitorService: Service {
    let monitor: Monitor
    let alerts: AlertService?
    let interval: Duration
    let logger: Logger

    public init(monitor: Monitor, alerts: AlertService?, interval: Duration, logger: Logger) {
        self.monitor = monitor
        self.alerts = alerts
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let (cycles, continuation) = AsyncStream.makeStream(of: AlertInput.self, bufferingPolicy: .bufferingNewest(1))
        await withDiscardingTaskGroup { group in
            if let alerts {
                monitor.updateFiring(await alerts.firingCounts())
                group.addTask { await self.evaluate(cycles, with: alerts) }
            }
            await cancelWhenGracefulShutdown {
                await withDiscardingTaskGroup { loops in
                    loops.addTask { await self.checkHealth() }
                    await self.collect(into: continuation)
                    loops.cancelAll()
                }
            }
            continuation.finish()
        }
        logger.info("monitor stopped")
    }

    private func collect(into continuation: AsyncStream<AlertInput>.Continuation) async {
        let clock = ContinuousClock()
        var deadline = clock.now
        while !Task.isCancelled {
            let result = await monitor.collect(now: Date().timeIntervalSince1970)
            if result.snapshot != nil { continuation.yield(result.alertInput) }
            deadline += interval
            // A cycle that overran its interval starts the next one at once, then keeps the beat.
            if deadline < clock.now { deadline = clock.now }
            guard (try? await Task.sleep(until: deadline, clock: clock)) != nil else { return }
        }
    }

    /// The health checks, at once and then every `healthInterval` seconds of the monitor.
    private func checkHealth() async {
        let clock = ContinuousClock()
        let interval = Duration.milliseconds(Int64(monitor.healthInterval * 1_000))
        var deadline = clock.now
        while !Task.isCancelled {
            await monitor.checkHealth()
            deadline += interval
            if deadline < clock.now { deadline = clock.now }
            guard (try? await Task.sleep(until: deadline, clock: clock)) != nil else { return }
        }
    }

    /// Each cycle's rules are evaluated as it arrives; the deliveries it starts (with their retries)
    /// run on in a child task, so a channel that is down never delays the next cycle's evaluation.
    /// The engine decides synchronously inside the alert service's actor before any delivery
    /// awaits, so cycles still change its state one at a time and in order.
    private func evaluate(_ cycles: AsyncStream<AlertInput>, with alerts: AlertService) async {
        var lastDomains: [DomainStats]?
        await withDiscardingTaskGroup { group in
            for await cycle in cycles {
                var input = cycle
                input.previousDomains = lastDomains
                if let domains = cycle.domains { lastDomains = domains }
                group.addTask { await self.evaluate(input, with: alerts) }
            }
        }
    }

    private func evaluate(_ input: AlertInput, with alerts: AlertService) async {
        do {
            let outcome = try await alerts.evaluate(input, now: Date())
            monitor.updateFiring(await alerts.firingCounts())
            for note in outcome.sent {
                logger.notice(
                    "alert \(note.kind)",
                    metadata: [
                        "key": "\(note.key)",
                        "delivered": "\(note.deliveries.filter(\.delivered).count)/\(note.deliveries.count)",
                    ]
                )
            }
        } catch {
            logger.error("alert evaluation failed", metadata: ["error": "\(error)"])
        }
    }
}
