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
    /// CPU per collection cycle, in milliseconds: this process (the monitor's code) and the broker,
    /// from /proc over all timed cycles (10 ms resolution, divided by the cycles).
    var collectionCPU: CycleCPU
    /// Host.Stats alone, on a new connection each time as the monitor makes it (polkit included).
    var hostStats: StepSummary
    /// The broker's libvirt call alone, in this process on the same node file.
    var libvirtStats: StepSummary
    /// `Vm.List` on one connection that stays open (polkit, libvirt, JSON, the socket).
    var vmList: StepSummary
    /// What a list read domain by domain asks libvirt, in this process: list every domain, then
    /// each one's metadata element, state and UUID.
    var libvirtListPerDomain: StepSummary
    /// What a list read in bulk asks libvirt, in this process: one `virConnectGetAllDomainStats`
    /// for the state group.
    var libvirtListBulk: StepSummary
    /// The JSON steps of the `Vm.List` reply, both sides, in this process (`ReplyCodec`).
    var jsonList: StepSummary
    /// The JSON steps of the `Host.Stats` reply, both sides, in this process.
    var jsonStats: StepSummary
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
    /// Monitor and broker CPU per cycle against the in-process bulk stats call's median.
    var cpuRatioToLibvirtStats: Double { collectionCPU.totalMilliseconds / libvirtStats.medianMilliseconds }
    var ratioToVirshSession: Double { collection.medianMilliseconds / virshInSession.medianMilliseconds }
}

/// Scrapes of `/metrics` while the page holds the largest fleet's exposition.
/// CPU time per collection cycle, in milliseconds.
struct CycleCPU: Codable, Sendable, Hashable {
    var monitorMilliseconds: Double
    var brokerMilliseconds: Double

    var totalMilliseconds: Double { monitorMilliseconds + brokerMilliseconds }

    /// The CPU the processes used between two samples, per cycle.
    init(before: [String: Double], after: [String: Double], cycles: Int) {
        func used(_ name: String) -> Double {
            ((after[name] ?? 0) - (before[name] ?? 0)) / 1_000 / Double(max(cycles, 1))
        }
        monitorMilliseconds = used("monitor")
        brokerMilliseconds = used("hv-broker")
    }

    /// "monitor 12.0 + broker 3.0 = 15.0" for the text table.
    var cell: String {
        String(format: "%.1f + %.1f = %.1f", monitorMilliseconds, brokerMilliseconds, totalMilliseconds)
    }
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
    var brokerPid: Int32
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
        let stats: HostStatsReply
        let machines: [VmSummary]
        do {
            stats = try BrokerClient(socketPath: brokerSocket).stats()
            machines = try BrokerClient(socketPath: brokerSocket).list()
        } catch {
            throw BenchError(.brokerFailed, "Host.Stats and Vm.List on \(uri): \(error.reason)")
        }
        let brokerDomains = stats.domains.count
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
        _ = try collect(monitor, clock: clock, count: warmup)
        let collection = try collect(monitor, clock: clock, count: repetitions)
        let last = collection.last

        let hostStats = try timeSteps(repetitions: repetitions, warmup: warmup) { () throws(BenchError) in
            do throws(HVError) {
                _ = try BrokerClient(socketPath: brokerSocket).stats()
            } catch {
                throw BenchError(.brokerFailed, "Host.Stats: \(error.reason)")
            }
        }
        let libvirt = try LibvirtFloor(uri: uri, domains: vms)
        let libvirtStats = try timeSteps(repetitions: repetitions, warmup: warmup) { () throws(BenchError) in
            try libvirt.statistics()
        }
        let vmList = try listRoundTrips()
        let libvirtListPerDomain = try timeSteps(repetitions: repetitions, warmup: warmup) { () throws(BenchError) in
            try libvirt.listPerDomain()
        }
        let libvirtListBulk = try timeSteps(repetitions: repetitions, warmup: warmup) { () throws(BenchError) in
            try libvirt.listBulk()
        }
        let jsonList = try timeSteps(repetitions: repetitions, warmup: warmup) { () throws(BenchError) in
            try ReplyCodec(reply: VmListReply(vms: machines)).roundTrip()
        }
        let jsonStats = try timeSteps(repetitions: repetitions, warmup: warmup) { () throws(BenchError) in
            try ReplyCodec(reply: stats).roundTrip()
        }
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
            vms: vms, collection: StepSummary(nanoseconds: collection.durations), collectionCPU: collection.cpu,
            hostStats: hostStats, libvirtStats: libvirtStats, vmList: vmList, libvirtListPerDomain: libvirtListPerDomain,
            libvirtListBulk: libvirtListBulk, jsonList: jsonList, jsonStats: jsonStats, virshProcess: virshProcess, virshStart: virshStart,
            virshInSession: StepSummary(nanoseconds: perCommand), health: health, samples: last.samples,
            expositionBytes: page.current.count, historyValues: last.historyValues
        )
        guard let scrapes else { return (result, nil) }
        return (result, try scrape(page: page, monitor: monitor, clock: clock, count: scrapes))
    }

    struct Collected: Sendable {
        var durations: [UInt64] = []
        var last = (samples: 0, historyValues: 0)
        var cpu: CycleCPU
    }

    /// `count` cycles back to back, each checked: no problems and every domain present. The CPU
    /// this process and the broker use is read just before the first cycle and just after the last.
    private func collect(_ monitor: Monitor, clock: MonitorClock, count: Int) throws(BenchError) -> Collected {
        let vms = vms
        let cpu = ProcessCPU(processes: [("monitor", getpid()), ("hv-broker", brokerPid)])
        return try waitFor {
            var durations: [UInt64] = []
            var cycles: [CycleResult] = []
            let before = cpu.sample()
            for _ in 0..<count {
                let now = clock.next()
                let start = Stopwatch.now()
                let cycle = await monitor.collect(now: now)
                durations.append(Stopwatch.now() - start)
                cycles = Array((cycles + [cycle]).suffix(2))
            }
            let used = CycleCPU(before: before, after: cpu.sample(), cycles: count)
            for cycle in cycles {
                guard cycle.problems.isEmpty, let snapshot = cycle.snapshot else {
                    throw BenchError(.measurementFailed, "collection problems: \(cycle.problems)")
                }
                let seen = snapshot.stats?.domains.count ?? 0
                guard seen == vms else { throw BenchError(.measurementFailed, "a cycle saw \(seen) domains") }
            }
            var collected = Collected(durations: durations, cpu: used)
            if let last = cycles.last?.snapshot {
                let previous = cycles.count == 2 ? cycles[0].snapshot : nil
                collected.last = (cycles.last?.samples.count ?? 0, last.historyValues(previous: previous).count)
            }
            return collected
        }
    }

    /// `Vm.List` over one connection, as `hv vm list` or a script that keeps its connection makes it.
    private func listRoundTrips() throws(BenchError) -> StepSummary {
        let client: BrokerClient
        do {
            client = try BrokerClient(socketPath: brokerSocket)
        } catch {
            throw BenchError(.brokerFailed, "Vm.List: \(error.reason)")
        }
        let vms = vms
        return try timeSteps(repetitions: repetitions, warmup: warmup) { () throws(BenchError) in
            let listed: Int
            do throws(HVError) {
                listed = try client.list().count
            } catch {
                throw BenchError(.brokerFailed, "Vm.List: \(error.reason)")
            }
            guard listed == vms else { throw BenchError(.measurementFailed, "Vm.List returned \(listed) machines") }
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
