import ArgumentParser
import Foundation
import Glibc
import HVLibvirt
import HVPolkit
import HVProtocol

/// `hv-bench request`: the broker's own cost per request, each figure beside its floor.
struct RequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "The broker's own cost of an operator's Vm.Info, its throughput against polkitd's, and its memory.",
        discussion: """
            Run as root, with the system D-Bus and polkitd running and the broker's polkit policy and rules \
            installed. Starts its own hv-broker on a libvirt test-driver node of one managed machine in a scratch \
            directory under /tmp (its socket, upload socket, audit log and state all there), and runs the \
            operator's calls in processes of --operator (a member of hypervisor-operators), so polkitd runs its \
            rules for every check. See docs/BENCHMARKS.md, "The broker's own cost per request".
            """
    )

    @Option(help: "The hv-broker to start (default: the one beside hv-bench).") var broker: String?
    @Option(name: .customLong("operator"), help: "The user the clients run as: a member of hypervisor-operators.")
    var operatorUser: String
    @Option(help: "Timed round trips, polkit checks and libvirt call sets.") var iterations = 2000
    @Option(help: "Untimed ones of each before.") var warmup = 200
    @Option(help: "How many of each are timed in turn before the next kind.") var block = 50
    @Option(help: "Concurrent callers for the throughput runs, comma-separated.") var clients = "16,64"
    @Option(help: "How long each throughput run lasts, in seconds.") var seconds = 10.0
    @Option(help: "Requests the broker has answered when its memory is read last ('0' skips the memory part).")
    var memoryRequests = 100_000
    @Flag(help: "Print one JSON object instead of the text.") var json = false

    var concurrency: [Int] { clients.split(separator: ",").compactMap { Int($0) } }

    func validate() throws {
        guard iterations > 0, warmup >= 0, block > 0, seconds > 0, memoryRequests >= 0, !concurrency.isEmpty,
            concurrency.allSatisfy({ $0 > 0 && $0 <= 256 })
        else {
            throw ValidationError("--iterations, --block and --seconds must be positive, --clients a list of 1...256")
        }
    }

    func run() throws {
        try BenchRun.report(json: json) { () throws(BenchError) in try measure() }
    }

    private func measure() throws(BenchError) -> RequestReport {
        try BenchRun.requireRoot(
            "the clients run as another user, and only root may ask polkit about another user's process with details",
            fix: "run it as root"
        )
        let user = try OperatorAccount(operatorUser)
        let loadAverage = BenchRun.loadAverage()

        let scratch = try RequestScratch()
        defer { scratch.remove() }
        let machine = TestNode.name(1)
        let uri = try TestNode.write(count: 1, to: scratch.directory + "/node.xml")
        // Both its sockets are in its own directory, so an installed broker's are never replaced.
        let broker = try BrokerProcess(
            executable: BenchCommand.brokerPath(self.broker), libvirtUri: uri,
            arguments: BrokerProcess.limits(forClientsOfOneUser: concurrency.max() ?? 1)
        )
        let interrupt = InterruptHandler(broker)
        defer {
            broker.stop()
            interrupt.cancel()
        }
        chmod(broker.directory, 0o755)
        var memory = [ResidentMemory(pid: broker.processIdentifier, requests: 0)].compactMap { $0 }

        let connection: Connection
        let authority: PolkitAuthority
        do {
            connection = try Connection(uri: uri)
            authority = try PolkitAuthority()
        } catch {
            throw BenchError(.serviceUnavailable, "\(error)", fix: "start the system D-Bus and polkitd")
        }
        let session = try OperatorSession(user: user, socket: broker.socketPath, machine: machine, directory: scratch.directory)
        defer { session.stop() }
        let subject = try session.subject(uid: user.uid)
        let details = RequestFloors.details(machine: machine, record: TestDomain.record(machine))
        let decision: PolkitDecision
        do {
            decision = try authority.check(action: BrokerOperation.vmInfo.action, subject: subject, details: details)
        } catch {
            throw BenchError(.serviceUnavailable, "polkit could not be asked: \(error)", fix: "start dbus and polkitd")
        }
        guard decision == .authorized else {
            throw BenchError(
                .measurementFailed, "polkit does not let \(operatorUser) read \(machine): \(decision)",
                fix: "add the user to hypervisor-operators and install polkit/50-hypernixos.rules"
            )
        }

        progress("\(iterations) operator Vm.Info round trips, polkit checks and libvirt call sets, \(block) of each in turn")
        var untimed = Latency()
        var latency = Latency()
        try interleave(warmup, session: session, authority: authority, subject: subject, details: details, connection, machine, into: &untimed)
        try interleave(iterations, session: session, authority: authority, subject: subject, details: details, connection, machine, into: &latency)
        var served = warmup + iterations
        memory += [ResidentMemory(pid: broker.processIdentifier, requests: served)].compactMap { $0 }

        var runs: [RequestReport.Run] = []
        for callers in concurrency {
            progress("polkitd's answers with \(callers) callers, then the broker's Vm.Info with \(callers) operators, \(Int(seconds)) s each")
            let daemons = ProcessCPU(processes: ["polkitd", "dbus-daemon"].compactMap { name in ProcessCPU.pid(named: name).map { (name, $0) } })
            let floor = try RequestFloors.polkitAnswers(
                authority, subject: subject, details: details, callers: callers, seconds: seconds,
                cpu: ProcessCPU(processes: daemons.processes + [("hv-bench (polkit callers)", getpid())])
            )
            let load = try operators(user, broker: broker, machine: machine, clients: callers, seconds: seconds, requests: 0, daemons: daemons)
            served += load.requests
            runs.append(RequestReport.Run(polkit: floor, broker: load))
        }

        if memoryRequests > 0 {
            progress("the broker's memory, read every 10,000 requests up to \(memoryRequests)")
            memory += [ResidentMemory(pid: broker.processIdentifier, requests: served)].compactMap { $0 }
            var target = (served / 10_000 + 1) * 10_000
            while target <= memoryRequests {
                let load = try operators(
                    user, broker: broker, machine: machine, clients: 16, seconds: 0, requests: target - served, daemons: nil
                )
                served += load.requests
                memory += [ResidentMemory(pid: broker.processIdentifier, requests: served)].compactMap { $0 }
                target += 10_000
            }
        }

        return RequestReport(
            cpus: ProcessInfo.processInfo.activeProcessorCount, kernel: BenchCommand.kernel(),
            libvirtVersion: (try? connection.libraryVersion()) ?? "?", loadAverage: loadAverage, user: operatorUser,
            uid: user.uid, warmup: warmup, roundTrip: LatencySummary(id: "request.round-trip", name: "Vm.Info round trip, operator process", nanoseconds: latency.roundTrips),
            polkit: LatencySummary(id: "request.polkit", name: "polkit check, same operator process", nanoseconds: latency.checks),
            libvirt: LatencySummary(id: "request.libvirt", name: "libvirt: the broker's Vm.Info calls, in-process", nanoseconds: latency.libvirt),
            throughput: runs, memory: memory
        )
    }

    /// The three latency samples, gathered in turn.
    struct Latency {
        var roundTrips: [UInt64] = []
        var checks: [UInt64] = []
        var libvirt: [UInt64] = []
    }

    /// `count` of each, `block` at a time in turn, so a change in the machine's load reaches all three alike.
    private func interleave(
        _ count: Int, session: OperatorSession, authority: PolkitAuthority, subject: PolkitSubject, details: [String: String],
        _ connection: Connection, _ machine: String, into latency: inout Latency
    ) throws(BenchError) {
        var done = 0
        while done < count {
            let size = min(block, count - done)
            let trips = try session.roundTrips(size)
            var checks: [UInt64] = []
            var calls: [UInt64] = []
            do {
                for _ in 0..<size {
                    let start = Stopwatch.now()
                    _ = try authority.check(action: BrokerOperation.vmInfo.action, subject: subject, details: details)
                    checks.append(Stopwatch.now() - start)
                }
                for _ in 0..<size {
                    let start = Stopwatch.now()
                    try RequestFloors.vmInfoCalls(connection, machine: machine)
                    calls.append(Stopwatch.now() - start)
                }
            } catch let error as BenchError {
                throw error
            } catch {
                throw BenchError(.measurementFailed, "\(error)")
            }
            latency.roundTrips += trips
            latency.checks += checks
            latency.libvirt += calls
            done += size
        }
    }

    /// Runs `hv-bench request-client` as the operator: `clients` connections calling Vm.Info for
    /// `seconds`, or `requests` calls in all; with the CPU the broker and `daemons` spent meanwhile.
    private func operators(
        _ user: OperatorAccount, broker: BrokerProcess, machine: String, clients: Int, seconds: Double, requests: Int,
        daemons: ProcessCPU?
    ) throws(BenchError) -> Throughput {
        let cpu = ProcessCPU(processes: [("hv-broker", broker.processIdentifier)] + (daemons?.processes ?? []))
        let before = cpu.sample()
        let outcome = try CapturedRun(
            user.command([
                PressureCommand.executable, "request-client", "--socket", broker.socketPath, "--machine", machine,
                "--clients", "\(clients)", "--seconds", "\(seconds)", "--requests", "\(requests)",
            ])
        )
        let last = outcome.output.split(separator: "\n").last.map(String.init) ?? ""
        guard outcome.status == 0, let load = try? JSONDecoder().decode(RequestLoad.self, from: Data(last.utf8)) else {
            throw BenchError(
                .measurementFailed, "the operator clients failed (status \(outcome.status)): \(outcome.output.suffix(500))",
                fix: "the user must be able to run \(PressureCommand.executable) and reach the broker's socket"
            )
        }
        if load.errors > 0 {
            throw BenchError(.measurementFailed, "\(load.errors) operator calls failed; the first: \(load.firstError ?? "?")")
        }
        var cpuPerRequest = cpu.perRequest(since: before, requests: load.requests)
        cpuPerRequest["hv-bench (operator clients)"] = load.cpuMicroseconds / Double(max(load.requests, 1))
        return Throughput(
            clients: clients, requests: load.requests, seconds: load.seconds, cpu: cpuPerRequest,
            medianMilliseconds: load.medianMilliseconds, p99Milliseconds: load.p99Milliseconds
        )
    }

    private func progress(_ step: String) {
        FileHandle.standardError.write(Data("hv-bench: \(step)...\n".utf8))
    }
}

/// The benchmark's scratch directory under /tmp: the test-driver node and the control socket. Readable by the operator, who reaches the control socket through it.
struct RequestScratch {
    let directory: String

    init() throws(BenchError) {
        directory = try ScratchDirectory("/tmp/hv-bench-request").path
        chmod(directory, 0o755)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
