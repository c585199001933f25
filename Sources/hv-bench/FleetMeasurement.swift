import Foundation
import Glibc
import HVClient
import HVHealth
import HVHistory
import HVLibvirt
import HVMetrics
import HVMonitor
import HVProtocol
import Logging
import NIOPosix
import Synchronization

/// What `hv-bench monitor` measured for one number of VMs.
struct FleetResult: Codable, Sendable {
    var vms: Int
    /// `Monitor.collect(now:)`, start to end: Host.Stats through the broker, /proc, samples,
    /// exposition render and the history write (with its periodic maintenance), health excluded.
    var collection: StepSummary
    /// Host.Stats alone, on a new connection each time as the monitor makes it (polkit included).
    var hostStats: StepSummary
    /// The broker's libvirt call alone, in this process on the same node file.
    var libvirtStats: StepSummary
    /// `virsh -c URI domstats ...`, one process each time.
    var virshProcess: StepSummary
    /// `virsh -c URI` reading only `quit`: process start, connect (the test driver parses the node
    /// file here) and exit.
    var virshStart: StepSummary
    /// One domstats inside a virsh session: (session with N commands − median start) / N.
    var virshInSession: StepSummary
    /// The health checks (HealthRunner.run, as the monitor runs them on their own schedule).
    var health: StepSummary
    var samples: Int
    var expositionBytes: Int
    var historyValues: Int

    var ratioToVirshProcess: Double { collection.medianMilliseconds / virshProcess.medianMilliseconds }
    var ratioToVirshSession: Double { collection.medianMilliseconds / virshInSession.medianMilliseconds }
}

/// Scrapes of `/metrics` while the page holds the largest fleet's exposition.
struct ScrapeResult: Codable, Sendable {
    var vms: Int
    var bytes: Int
    /// With no collection running.
    var idle: StepSummary
    /// While collections run back to back on other threads.
    var duringCollection: StepSummary
    var collectionsDuringScrapes: Int
}

/// Measures one fleet size against a broker already running on its node file.
struct FleetMeasurement {
    var vms: Int
    var uri: String
    var brokerSocket: String
    var directory: String
    var repetitions: Int
    var warmup: Int
    var sessionCommands: Int
    var threadPool: NIOThreadPool
    var logger: Logger

    /// One cycle's time is `collectionIntervalSeconds` apart on the monitor's clock, as in production.
    static let interval = 15.0

    func run(scrapes: Int?) throws(BenchError) -> (FleetResult, ScrapeResult?) {
        let virsh = VirshDomstats(uri: uri)
        try virsh.verify(domains: vms)
        let brokerDomains: Int
        do {
            brokerDomains = try BrokerClient(socketPath: brokerSocket).stats().domains.count
        } catch {
            throw BenchError(.brokerFailed, "Host.Stats on \(uri): \(error.reason)")
        }
        guard brokerDomains == vms else {
            throw BenchError(.measurementFailed, "the broker reports \(brokerDomains) domains, expected \(vms)")
        }

        let history: HistoryStore
        do {
            history = try HistoryStore(path: directory + "/history-\(vms).sqlite")
        } catch {
            throw BenchError(.measurementFailed, "history: \(error)")
        }
        let page = MetricsPage()
        let monitor = Monitor(
            sources: LiveSources(brokerSocket: brokerSocket, health: { _ in [] }), history: history, page: page,
            threadPool: threadPool, logger: logger
        )
        let clock = MonitorClock()
        let collection = try collect(monitor, clock: clock, count: warmup + repetitions)
        let last = collection.last

        let hostStats = try timeSteps(repetitions: repetitions, warmup: warmup) { () throws(BenchError) in
            do throws(HVError) {
                _ = try BrokerClient(socketPath: brokerSocket).stats()
            } catch {
                throw BenchError(.brokerFailed, "Host.Stats: \(error.reason)")
            }
        }
        let libvirtStats = try libvirtStatistics()
        let virshProcess = try timeSteps(repetitions: repetitions, warmup: 1) { () throws(BenchError) in
            try virsh.oneProcess()
        }
        let virshStart = try timeSteps(repetitions: repetitions, warmup: 1) { () throws(BenchError) in
            try virsh.session(commands: 0)
        }
        let startNanoseconds = virshStart.medianMilliseconds * 1e6
        var perCommand: [UInt64] = []
        for _ in 0..<repetitions {
            let start = Stopwatch.now()
            try virsh.session(commands: sessionCommands)
            let elapsed = Double(Stopwatch.now() - start)
            perCommand.append(UInt64(max(elapsed - startNanoseconds, 0) / Double(sessionCommands)))
        }
        let runner = HealthRunner(brokerSocket: brokerSocket)
        let health = try timeSteps(repetitions: repetitions, warmup: 1) { () throws(BenchError) in
            let report = runner.run()
            if let error = report.brokerError {
                throw BenchError(.brokerFailed, "health: \(error.reason)")
            }
        }

        let result = FleetResult(
            vms: vms, collection: StepSummary(nanoseconds: Array(collection.durations.suffix(repetitions))),
            hostStats: hostStats, libvirtStats: libvirtStats, virshProcess: virshProcess, virshStart: virshStart,
            virshInSession: StepSummary(nanoseconds: perCommand), health: health, samples: last.samples,
            expositionBytes: page.current.count, historyValues: last.historyValues
        )
        guard let scrapes else { return (result, nil) }
        return (result, try scrape(page: page, monitor: monitor, clock: clock, count: scrapes))
    }

    struct Collected: Sendable {
        var durations: [UInt64] = []
        var last = (samples: 0, historyValues: 0)
    }

    /// `count` cycles back to back, each checked: no problems and every domain present.
    private func collect(_ monitor: Monitor, clock: MonitorClock, count: Int) throws(BenchError) -> Collected {
        let vms = vms
        return try waitFor {
            var collected = Collected()
            var previous: Snapshot?
            for _ in 0..<count {
                let now = clock.next()
                let start = Stopwatch.now()
                let cycle = await monitor.collect(now: now)
                collected.durations.append(Stopwatch.now() - start)
                guard cycle.problems.isEmpty, let snapshot = cycle.snapshot else {
                    throw BenchError(.measurementFailed, "collection problems: \(cycle.problems)")
                }
                let seen = snapshot.stats?.domains.count ?? 0
                guard seen == vms else { throw BenchError(.measurementFailed, "a cycle saw \(seen) domains") }
                collected.last = (cycle.samples.count, snapshot.historyValues(previous: previous).count)
                previous = snapshot
            }
            return collected
        }
    }

    /// `virConnectGetAllDomainStats` as the broker calls it, on a connection of this process.
    private func libvirtStatistics() throws(BenchError) -> StepSummary {
        let connection: Connection
        do {
            connection = try Connection(uri: uri)
        } catch {
            throw BenchError(.serviceUnavailable, "libvirt \(uri): \(error)")
        }
        return try timeSteps(repetitions: repetitions, warmup: warmup) { () throws(BenchError) in
            do {
                let statistics = try connection.allDomainStatistics()
                guard statistics.count == vms else {
                    throw BenchError(.measurementFailed, "libvirt returned \(statistics.count) domains")
                }
            } catch let error as BenchError {
                throw error
            } catch {
                throw BenchError(.measurementFailed, "libvirt: \(error)")
            }
        }
    }

    /// Scrapes with no collection running, then while collections run back to back.
    private func scrape(page: MetricsPage, monitor: Monitor, clock: MonitorClock, count: Int) throws(BenchError)
        -> ScrapeResult
    {
        let server = try ScrapedServer(page: page, logger: logger)
        defer { server.stop() }
        let client = try ScrapeClient(port: server.port, token: server.token)
        let bytes = page.current.count
        let idle = try timeSteps(repetitions: count, warmup: 10) { () throws(BenchError) in
            guard try client.scrape().count == bytes else {
                throw BenchError(.measurementFailed, "a scrape returned a different page")
            }
        }

        let loop = LoopControl()
        let background = Task {
            while !loop.isStopped {
                _ = await monitor.collect(now: clock.next())
                loop.count()
            }
        }
        defer { loop.stop() }
        // Start scraping once the loop has finished its first cycle and is into the next; go on for
        // at least `count` scrapes and at least 5 whole collections.
        while loop.iterations == 0 { usleep(1000) }
        let before = loop.iterations
        var samples: [UInt64] = []
        while samples.count < count || loop.iterations - before < 5 {
            let start = Stopwatch.now()
            let body = try client.scrape()
            samples.append(Stopwatch.now() - start)
            guard !body.isEmpty else { throw BenchError(.measurementFailed, "an empty scrape") }
        }
        let overlapped = loop.iterations - before
        loop.stop()
        _ = try waitFor { await background.value }
        return ScrapeResult(
            vms: vms, bytes: bytes, idle: idle, duringCollection: StepSummary(nanoseconds: samples),
            collectionsDuringScrapes: overlapped
        )
    }
}

/// The monitor's notion of "now": a fixed step per cycle from the real time at start.
final class MonitorClock: Sendable {
    private let now = Mutex(Date().timeIntervalSince1970)

    func next() -> Double {
        now.withLock { now in
            now += FleetMeasurement.interval
            return now
        }
    }
}

/// Stops a background loop and counts its iterations.
final class LoopControl: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let done = Atomic<Int>(0)

    var isStopped: Bool { stopped.load(ordering: .relaxed) }
    var iterations: Int { done.load(ordering: .relaxed) }
    func stop() { stopped.store(true, ordering: .relaxed) }
    func count() { done.add(1, ordering: .relaxed) }
}
