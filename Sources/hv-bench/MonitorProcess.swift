import Foundation
import Glibc
import HVSystem

/// The hv-monitor program under test, on the benchmark's broker, collecting every second with its
/// default health schedule and alert rules, in a directory of its own. Its `/metrics` listens
/// without credentials on a free loopback port, which the benchmark reads the cycle count from.
final class MonitorProcess {
    let directory: String
    let port: Int
    private let process: ChildProcess

    init(executable: String, brokerSocket: String, directory: String) throws(BenchError) {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError(
                .measurementFailed, "no hv-monitor executable at \(executable)",
                fix: "build it (swift build -c release --product hv-monitor) or pass --monitor PATH"
            )
        }
        self.directory = directory
        port = try Self.freePort()
        let configuration = """
            broker_socket: \(brokerSocket)
            control_socket: \(directory)/monitor.sock
            listen: 127.0.0.1:\(port)
            web: {allow_unauthenticated: true}
            interval: 1s
            state_directory: \(directory)/state
            alerting: {}
            """
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try configuration.write(toFile: directory + "/monitor.yaml", atomically: true, encoding: .utf8)
            process = try ChildProcess(
                Command(
                    executable, ["--config", directory + "/monitor.yaml"], environment: Command.currentEnvironment,
                    standardOutput: .file(directory + "/monitor.log"), standardError: .standardOutput,
                    ownProcessGroup: false
                )
            )
        } catch {
            throw BenchError(.measurementFailed, "hv-monitor: \(error)")
        }
    }

    var processIdentifier: Int32 { process.pid }

    /// The monitor's own count of finished collections (`hv_monitor_collections_total`), 0 until
    /// its first cycle has published a page.
    func collections() throws(BenchError) -> Int {
        if let ended = try? process.poll() {
            let log = (try? String(contentsOfFile: directory + "/monitor.log", encoding: .utf8)) ?? ""
            throw BenchError(.measurementFailed, "hv-monitor ended with \(ended):\n\(log.suffix(2_000))")
        }
        guard let client = try? ScrapeClient(port: port, token: "") else { return 0 }
        let page = String(decoding: try client.scrape(), as: UTF8.self)
        let line = page.split(separator: "\n").first { $0.hasPrefix("hv_monitor_collections_total ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
    }

    /// Waits until the monitor has finished `count` collections and returns its count then. Sleeps
    /// about one interval per missing cycle between scrapes, so the scrapes cost next to nothing.
    func waitForCollections(_ count: Int, stallSeconds: Double = 60) throws(BenchError) -> Int {
        var seen = try collections()
        var lastProgress = Stopwatch.now()
        while seen < count {
            let missing = count - seen
            sleep(UInt32(min(max(missing, 1), 30)))
            let now = try collections()
            if now > seen { lastProgress = Stopwatch.now() }
            seen = now
            if Double(Stopwatch.now() - lastProgress) / 1e9 > stallSeconds {
                throw BenchError(.measurementFailed, "hv-monitor finished no collection for \(Int(stallSeconds)) s")
            }
        }
        return seen
    }

    /// SIGTERM, then SIGKILL after 5 s. On Ctrl-C the monitor, in this process's group, gets the
    /// signal itself.
    func stop() {
        process.signal(SIGTERM)
        _ = try? process.finish(timeout: .seconds(5))
    }

    /// A loopback port nothing listens on now.
    private static func freePort() throws(BenchError) -> Int {
        do {
            let socket = try Descriptor.socket(AF_INET, Int32(SOCK_STREAM.rawValue), name: "a loopback port")
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            try systemCall("bind a loopback port") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket.raw, $0, length) }
                }
            }
            try systemCall("read the bound port") {
                withUnsafeMutablePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket.raw, $0, &length) }
                }
            }
            return Int(UInt16(bigEndian: address.sin_port))
        } catch {
            throw BenchError(.measurementFailed, "no free loopback port: \(error)")
        }
    }
}

/// What the hv-monitor program used at the largest fleet: memory after its first cycle, after
/// `middle` cycles and after `last`, and CPU per cycle between the last two, its own and the broker's.
struct MonitorProcessResult: Codable, Sendable {
    var vms: Int
    var intervalSeconds = 1
    var first: Checkpoint
    var middle: Checkpoint
    var last: Checkpoint
    /// Between `middle` and `last` (between `first` and `last` when those two are the same cycle).
    var cpu: CycleCPU

    struct Checkpoint: Codable, Sendable {
        var collections: Int
        var memory: ProcessMemory?
    }

    /// Runs the monitor until it has collected `cycles` times.
    static func measure(
        executable: String, brokerSocket: String, brokerPid: Int32, directory: String, vms: Int, cycles: Int
    ) throws(BenchError) -> MonitorProcessResult {
        let monitor = try MonitorProcess(executable: executable, brokerSocket: brokerSocket, directory: directory)
        defer { monitor.stop() }
        let cpu = ProcessCPU(processes: [("monitor", monitor.processIdentifier), ("hv-broker", brokerPid)])
        func checkpoint(_ count: Int) throws(BenchError) -> (Checkpoint, [String: Double]) {
            let seen = try monitor.waitForCollections(count)
            return (Checkpoint(collections: seen, memory: ProcessMemory.read(pid: monitor.processIdentifier)), cpu.sample())
        }
        let (first, firstCPU) = try checkpoint(1)
        let (middle, middleCPU) = try checkpoint(min(100, cycles))
        let (last, lastCPU) = try checkpoint(cycles)
        let from = last.collections > middle.collections ? (middle, middleCPU) : (first, firstCPU)
        return MonitorProcessResult(
            vms: vms, first: first, middle: middle, last: last,
            cpu: CycleCPU(before: from.1, after: lastCPU, cycles: last.collections - from.0.collections)
        )
    }

    var text: String {
        func memory(_ point: Checkpoint) -> String {
            "\(point.memory?.text ?? "?") after \(point.collections)"
        }
        return "hv-monitor process, \(vms) VMs, a cycle every \(intervalSeconds) s, health every 60 s, default alert "
            + "rules: RSS / peak \(memory(first)), \(memory(middle)), \(memory(last)) cycles; CPU ms per cycle "
            + "(monitor + broker): \(cpu.cell)"
    }
}
