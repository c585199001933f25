import ArgumentParser
import Foundation
import Glibc
import HVClient
import HVLibvirt
import HVPolkit
import HVProtocol

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Measures where the time of a broker request goes: libvirt, polkit, audit and the socket.",
        discussion: """
            Run as root, with the system D-Bus and polkitd running and the broker's polkit policy installed. \
            Starts its own hv-broker on the libvirt test driver (test:///default) in a scratch directory \
            under /tmp and stops it at the end. See docs/BENCHMARKS.md.
            """
    )

    @Option(help: "The hv-broker to start (default: the one beside hv-bench).") var broker: String?
    @Option(help: "Timed calls per latency row.") var iterations = 2000
    @Option(help: "Untimed calls before each latency row.") var warmup = 200
    @Option(help: "Vm.Info requests per throughput run, shared among its clients.") var requests = 4000
    @Option(help: "Clients, each on its own thread and connection, in the concurrent throughput run.") var clients = 16
    @Option(help: "Unprivileged user whose process polkit is asked about, so its rules run ('' skips the row).")
    var rulesSubject = "nobody"
    @Flag(help: "Print one JSON object instead of the table.") var json = false

    func validate() throws {
        guard iterations > 0, warmup >= 0, requests > 0, clients > 1, clients <= 32 else {
            throw ValidationError(
                "--iterations and --requests must be positive, --warmup not negative, --clients 2...32"
            )
        }
    }

    func run() throws {
        try BenchRun.report(json: json) { () throws(BenchError) in try measure() }
    }

    private func measure() throws(BenchError) -> Report {
        try BenchRun.requireRoot(
            "polkit grants the broker's actions to root without any group setup, "
                + "and only root may ask polkit about another user's process",
            fix: "run scripts/bench.sh as root"
        )
        let uri = "test:///default"
        let connection: Connection
        let authority: PolkitAuthority
        do {
            // Already done in main before any thread; repeated here to report a failure.
            try Libvirt.initialize()
            connection = try Connection(uri: uri)
        } catch {
            throw BenchError(.serviceUnavailable, "libvirt: \(error)")
        }
        do {
            authority = try PolkitAuthority()
        } catch {
            throw BenchError(.serviceUnavailable, "polkit: \(error)", fix: "start the system D-Bus and polkitd")
        }

        let loadAverage = BenchRun.loadAverage()
        let measurements = Measurements(iterations: iterations, warmup: warmup)
        var rows: [LatencySummary] = []
        BenchRun.progress("libvirt")
        rows.append(try measurements.libvirtInfo(connection))
        rows.append(try measurements.libvirtDetails(connection))

        BenchRun.progress("polkit")
        let (rootCheck, decision) = try measurements.polkit(
            authority, try .current(), id: "polkit.check.root", name: "polkit: check, root caller"
        )
        guard decision == .authorized else {
            throw BenchError(
                .serviceUnavailable, "polkit does not authorize org.hypernixos.vm.info for root: \(decision)"
            )
        }
        rows.append(rootCheck)
        if !rulesSubject.isEmpty {
            let helper = try UnprivilegedProcess(user: rulesSubject)
            defer { helper.stop() }
            let (rulesCheck, decision) = try measurements.polkit(
                authority, helper.subject, id: "polkit.check.rules",
                name: "polkit: check, uid \(helper.subject.uid) (rules run)"
            )
            rows.append(rulesCheck)
            BenchRun.progress("polkit answered \(helper.user) (uid \(helper.subject.uid)): \(decision), after running its rules")
        }

        let broker = try BrokerProcess(executable: Self.brokerPath(self.broker))
        let interrupt = InterruptHandler(broker)
        defer {
            broker.stop()
            interrupt.cancel()
        }
        BenchRun.progress("audit")
        rows.append(try measurements.auditAppend(path: broker.directory + "/bench-audit.jsonl"))

        BenchRun.progress("broker round trips")
        rows.append(contentsOf: try roundTrips(measurements, broker))

        BenchRun.progress("throughput")
        let cpu = ProcessCPU.requestPath(brokerPid: broker.processIdentifier)
        let runs = [
            try measureThroughput(socketPath: broker.socketPath, clients: 1, requests: requests, cpu: cpu),
            try measureThroughput(socketPath: broker.socketPath, clients: clients, requests: requests, cpu: cpu),
        ]

        let version = (try? connection.libraryVersion()) ?? "?"
        var report = Report(
            machine: .init(
                cpus: ProcessInfo.processInfo.activeProcessorCount, kernel: Self.kernel(), libvirtVersion: version,
                loadAverage: loadAverage
            ),
            libvirtUri: uri, warmup: warmup, latencies: rows, throughput: runs
        )
        report.observe()
        return report
    }

    /// The latency rows over one connection, closed again before the throughput runs.
    private func roundTrips(_ measurements: Measurements, _ broker: BrokerProcess) throws(BenchError)
        -> [LatencySummary]
    {
        let client: BrokerClient
        let details: VmDetails
        do {
            client = try BrokerClient(socketPath: broker.socketPath)
            details = try client.info(Measurements.domain)
        } catch {
            throw BenchError(.brokerFailed, "the broker does not answer Vm.Info: \(error.reason)")
        }
        return [
            try measurements.json(reply: details),
            try measurements.brokerInfo(client),
            try measurements.dispatcherTime(auditLog: broker.directory + "/audit.jsonl", method: Method.vmInfo),
            try measurements.brokerKillStart(client),
        ]
    }

    /// `broker` when given, else the hv-broker beside this executable.
    static func brokerPath(_ broker: String?) -> String {
        if let broker { return broker }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("hv-broker").path
    }

    static func kernel() -> String {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
