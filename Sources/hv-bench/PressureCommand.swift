import ArgumentParser
import Foundation
import Glibc
import HVClient
import HVProtocol
import Synchronization

/// `hv-bench pressure`: the broker under many unprivileged callers and beside long jobs.
struct PressureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pressure",
        abstract: "The longest request under many concurrent operators, and a viewer's latency beside long jobs.",
        discussion: """
            Run as root, with the system D-Bus and polkitd running and the broker's polkit policy and rules \
            installed. Starts its own hv-broker on a libvirt test-driver node in a scratch directory under /tmp. \
            The operators are processes of --operator (a member of hypervisor-operators), so polkitd runs its \
            rules for every check. Every request slower than 1 s is listed and attributed: to polkitd when it \
            logged 'Terminating runaway script' or the broker logged a polkit check slower than 5 s meanwhile. \
            See docs/BENCHMARKS.md.
            """
    )

    /// A request slower than this is listed.
    static let slow: UInt64 = 1_000_000_000

    @Option(help: "The hv-broker to start (default: the one beside hv-bench).") var broker: String?
    @Option(name: .customLong("operator"), help: "The user the clients run as: a member of hypervisor-operators.")
    var operatorUser: String
    @Option(help: "Concurrent operator clients, each with its own connection.") var clients = 64
    @Option(help: "How long the operators call, in seconds.") var seconds = 300.0
    @Option(help: "Long jobs (Iso.Verify) running beside the viewer ('0' skips that part).") var jobs = 8
    @Option(help: "Size of the image the long jobs hash, in MiB.") var jobMib = 1024
    @Option(help: "How long the viewer's Vm.List is timed, idle and beside the jobs, in seconds.") var listSeconds = 20.0
    @Option(help: "Where polkitd's messages go (default: /var/log/syslog or /var/log/messages, else the journal).")
    var syslog: String?
    @Option(help: "First measure the broker over audit histories of these sizes, as 'hv-bench audit --records' does (e.g. 10k,10M).")
    var auditRecords: String?
    @Flag(help: "Print one JSON object instead of the text.") var json = false

    func validate() throws {
        guard clients > 0, seconds > 0, jobs >= 0, jobMib > 0, listSeconds > 0 else {
            throw ValidationError("--clients, --seconds, --job-mib and --list-seconds must be positive, --jobs not negative")
        }
        if let auditRecords, AuditBench.sizes(parsing: auditRecords) == nil {
            throw ValidationError("--audit-records takes comma-separated positive sizes, e.g. 10000,10000000 or 10k,10M")
        }
    }

    func run() throws {
        try BenchRun.report(json: json) { () throws(BenchError) in try measure() }
    }

    private func measure() throws(BenchError) -> PressureReport {
        try BenchRun.requireRoot("the clients run as another user", fix: "run scripts/bench.sh as root")
        guard let user = getpwnam(operatorUser) else {
            throw BenchError(.measurementFailed, "no user named '\(operatorUser)'", fix: "pass --operator USER, a member of hypervisor-operators")
        }
        let identity = (uid: user.pointee.pw_uid, gid: user.pointee.pw_gid)
        // The audit log at scale first, so one run gives every figure of the broker's goals.
        let audit = try auditRecords.flatMap(AuditBench.sizes(parsing:)).map { sizes throws(BenchError) in
            try AuditBench(sizes: sizes, starts: 5, healthCalls: 50, broker: BenchCommand.brokerPath(self.broker)).run()
        }
        let loadAverage = BenchRun.loadAverage()

        let scratch = try PressureScratch()
        defer { scratch.remove() }
        let uri = try TestNode.write(count: 8, to: scratch.directory + "/node.xml")
        // One user plays every operator, so the per-user limits are raised to let all of them in:
        // on a host they would be as many users, each with a share of its own.
        let broker = try BrokerProcess(
            executable: BenchCommand.brokerPath(self.broker), libvirtUri: uri,
            arguments: [
                "--max-clients", "\(clients + 16)", "--max-clients-per-user", "\(clients + 8)",
                "--max-calls-per-user", "\(clients + 8)", "--max-queued-per-user", "\(clients + 8)",
            ]
        )
        let interrupt = InterruptHandler(broker)
        defer {
            broker.stop()
            interrupt.cancel()
        }
        chmod(broker.directory, 0o755)
        let messages = PolkitMessages(path: syslog)

        BenchRun.progress("\(clients) operators for \(Int(seconds)) s")
        let started = Date()
        let operators = try clientsAs(identity, socket: broker.socketPath, clients: clients, seconds: seconds)
        let attribution = Attribution(
            runawayScripts: messages.runawayScripts(since: started),
            slowChecks: SlowCheck.read(brokerLog: broker.logPath)
        )

        var beside: LongJobLatency?
        if jobs > 0 {
            BenchRun.progress("a viewer's Vm.List, idle and beside \(jobs) long jobs")
            let image = try scratch.image(in: broker.directory + "/state/isos", mebibytes: jobMib)
            let idle = try clientsAs(identity, socket: broker.socketPath, clients: 1, seconds: listSeconds)
            let running = LongJobs(socket: broker.socketPath, image: image, count: jobs)
            let loaded = try clientsAs(identity, socket: broker.socketPath, clients: 1, seconds: listSeconds)
            let completed = running.stop()
            beside = LongJobLatency(jobs: jobs, imageMiB: jobMib, idle: idle, loaded: loaded, jobsCompleted: completed)
        }
        return PressureReport(
            cpus: ProcessInfo.processInfo.activeProcessorCount, loadAverage: loadAverage, user: operatorUser,
            operators: operators, attribution: attribution, longJobs: beside, audit: audit
        )
    }

    /// Runs `hv-bench pressure-client` as `identity` and reads its result.
    private func clientsAs(
        _ identity: (uid: uid_t, gid: gid_t), socket: String, clients: Int, seconds: Double
    ) throws(BenchError) -> LoadResult {
        let outcome = try CapturedRun([
            "/usr/bin/setpriv", "--reuid=\(identity.uid)", "--regid=\(identity.gid)", "--init-groups", "--", Self.executable,
            "pressure-client", "--socket", socket, "--clients", "\(clients)", "--seconds", "\(seconds)",
        ])
        // The result is the last line; anything the clients said on stderr comes before it.
        let last = outcome.output.split(separator: "\n").last.map(String.init) ?? ""
        guard outcome.status == 0, let result = try? JSONDecoder().decode(LoadResult.self, from: Data(last.utf8)) else {
            throw BenchError(
                .measurementFailed, "the clients running as uid \(identity.uid) failed (status \(outcome.status)): \(outcome.output.suffix(500))",
                fix: "the user must be able to run \(Self.executable) and reach the broker's socket"
            )
        }
        if result.requests == 0, let error = result.firstError {
            throw BenchError(.measurementFailed, "the clients running as uid \(identity.uid) got no answer: \(error)")
        }
        return result
    }

    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// Iso.Verify of one image, `count` at once, over and over until stopped: the long jobs beside
/// which a viewer's call is timed. They run as root, which the broker's per-user limits exempt.
final class LongJobs: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let completed = Atomic<Int>(0)
    private let finished = DispatchGroup()

    init(socket: String, image: String, count: Int) {
        for _ in 0..<count {
            finished.enter()
            Thread { [self] in
                defer { finished.leave() }
                guard let client = try? BrokerClient(socketPath: socket) else { return }
                while !stopping.load(ordering: .relaxed) {
                    guard (try? client.verifyIso(image)) != nil else { return }
                    completed.add(1, ordering: .relaxed)
                }
            }.start()
        }
        // Until the jobs hold the broker's threads, nothing is measured beside them.
        Thread.sleep(forTimeInterval: 1)
    }

    /// Lets the running verifications end and returns how many completed.
    func stop() -> Int {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
        return completed.load(ordering: .relaxed)
    }
}

/// The benchmark's scratch directory under /tmp, for the test-driver node.
struct PressureScratch {
    let directory: String

    init() throws(BenchError) {
        directory = try ScratchDirectory("/tmp/hv-bench-pressure").path
    }

    /// A sparse image of `mebibytes` in the broker's ISO library; returns its name.
    func image(in library: String, mebibytes: Int) throws(BenchError) -> String {
        let name = "pressure.iso"
        let path = library + "/" + name
        do {
            try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true)
        } catch {
            throw BenchError(.measurementFailed, "cannot create \(library): \(error)")
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { if descriptor >= 0 { close(descriptor) } }
        guard descriptor >= 0, ftruncate(descriptor, off_t(mebibytes) << 20) == 0 else {
            throw BenchError(.measurementFailed, "cannot make \(path): \(String(cString: strerror(errno)))")
        }
        return name
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
