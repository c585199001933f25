import ArgumentParser
import Foundation
import Glibc
import HVLibvirt
import Logging
import NIOPosix

/// `hv-bench monitor`: the cost of one monitor collection cycle against `virsh domstats`.
struct MonitorBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Measures one hv-monitor collection cycle at 1, 100 and 1000 VMs against virsh domstats.",
        discussion: """
            Run as root, with the system D-Bus and polkitd running and the broker's polkit policy installed. \
            For each fleet size it writes a libvirt test-driver node file with that many running domains, \
            starts its own hv-broker on it, and times the monitor's collection (Monitor.collect with the live \
            sources), Host.Stats, libvirt's bulk stats call, virsh domstats (a process each time, and inside one \
            virsh session) and the health checks. At the largest size it also times GET /metrics on the \
            monitor's HTTP server, idle and during collections. See docs/BENCHMARKS.md.
            """
    )

    @Option(help: "The hv-broker to start (default: the one beside hv-bench).") var broker: String?
    @Option(help: "Fleet sizes, comma-separated.") var vms = "1,100,1000"
    @Option(help: "Timed runs per row.") var repetitions = 20
    @Option(help: "Untimed runs before the collection, Host.Stats and libvirt rows.") var warmup = 3
    @Option(help: "domstats commands per virsh session.") var sessionCommands = 10
    @Option(help: "Timed scrapes of /metrics, idle and during collections ('0' skips them).") var scrapes = 200
    @Flag(help: "Print one JSON object instead of the table.") var json = false

    var fleetSizes: [Int] {
        vms.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    func validate() throws {
        let sizes = fleetSizes
        guard !sizes.isEmpty, sizes.count == vms.split(separator: ",").count, sizes.allSatisfy({ (1...9999).contains($0) })
        else { throw ValidationError("--vms takes comma-separated sizes from 1 to 9999") }
        guard repetitions > 0, warmup >= 0, sessionCommands > 0, sessionCommands <= 200, scrapes >= 0 else {
            throw ValidationError("--repetitions must be positive, --session-commands 1...200, the rest not negative")
        }
    }

    func run() throws {
        try BenchRun.report(json: json) { () throws(BenchError) in try measure() }
    }

    private func measure() throws(BenchError) -> MonitorReport {
        try BenchRun.requireRoot(
            "polkit grants the broker's actions to root without any group setup", fix: "run .build/release/hv-bench monitor as root"
        )
        guard FileManager.default.isExecutableFile(atPath: VirshDomstats.executable) else {
            throw BenchError(.serviceUnavailable, "no \(VirshDomstats.executable)", fix: "install libvirt-clients")
        }
        let directory = try ScratchDirectory("/tmp/hv-bench-monitor").path
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let loadAverage = BenchRun.loadAverage()
        var logger = Logger(label: "hv-bench")
        logger.logLevel = .error
        let threadPool = NIOThreadPool(numberOfThreads: 4)
        threadPool.start()
        defer { try? threadPool.syncShutdownGracefully() }

        var fleets: [FleetResult] = []
        var scrape: ScrapeResult?
        let largest = fleetSizes.max()
        for size in fleetSizes {
            progress("\(size) VMs")
            let uri = try TestNode.write(count: size, to: directory + "/node-\(size).xml")
            let broker = try BrokerProcess(executable: BenchCommand.brokerPath(broker), libvirtUri: uri)
            let interrupt = InterruptHandler(broker)
            defer {
                broker.stop()
                interrupt.cancel()
            }
            let measurement = FleetMeasurement(
                vms: size, uri: uri, brokerSocket: broker.socketPath, directory: directory, repetitions: repetitions,
                warmup: warmup, sessionCommands: sessionCommands, threadPool: threadPool, logger: logger
            )
            let (fleet, scraped) = try measurement.run(scrapes: size == largest && scrapes > 0 ? scrapes : nil)
            fleets.append(fleet)
            scrape = scraped ?? scrape
        }

        let version = (try? Connection(uri: "test:///default").libraryVersion()) ?? "?"
        return MonitorReport(
            machine: .init(
                cpus: ProcessInfo.processInfo.activeProcessorCount, kernel: BenchCommand.kernel(), libvirtVersion: version,
                loadAverage: loadAverage
            ),
            repetitions: repetitions, warmup: warmup, sessionCommands: sessionCommands, fleets: fleets, scrape: scrape
        )
    }

    private func progress(_ step: String) {
        FileHandle.standardError.write(Data("hv-bench monitor: \(step)...\n".utf8))
    }
}
