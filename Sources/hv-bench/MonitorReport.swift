import Foundation
import HVClient
import HVPresentation

/// Everything `hv-bench monitor` measured.
struct MonitorReport: Codable, Sendable {
    var machine: Report.Machine
    var repetitions: Int
    var warmup: Int
    var sessionCommands: Int
    var fleets: [FleetResult]
    var scrape: ScrapeResult?

    var text: String {
        var table = Table("ms, median / p95")
        table.headers += fleets.map { $0.vms == 1 ? "1 VM" : "\($0.vms) VMs" }
        func row(_ name: String, _ cell: (FleetResult) -> String) {
            table.rows.append([name] + fleets.map(cell))
        }
        row("monitor: one collection cycle") { $0.collection.cell }
        row("  Host.Stats round trip (polkit, libvirt, JSON)") { $0.hostStats.cell }
        row("  libvirt: virConnectGetAllDomainStats in-process") { $0.libvirtStats.cell }
        row("virsh domstats: one process") { $0.virshProcess.cell }
        row("virsh: start, connect, quit (no command)") { $0.virshStart.cell }
        row("virsh domstats: inside one session") { $0.virshInSession.cell }
        row("health checks (own schedule, not in the cycle)") { $0.health.cell }
        row("samples / exposition bytes / history values") { "\($0.samples) / \($0.expositionBytes) / \($0.historyValues)" }
        row("ratio monitor / virsh process") { String(format: "%.2f", $0.ratioToVirshProcess) }
        row("ratio monitor / virsh in session") { String(format: "%.2f", $0.ratioToVirshSession) }

        var lines = [
            "hv-bench monitor: hv-broker on test:///NODE.xml per fleet; \(machine.cpus) CPUs, Linux \(machine.kernel), "
                + "libvirt \(machine.libvirtVersion); load average \(machine.loadAverage) at start; "
                + "\(repetitions) timed runs per row after \(warmup) untimed; \(sessionCommands) domstats per virsh session",
            "",
            table.render(),
        ]
        if let scrape {
            lines += [
                "",
                "GET /metrics, \(scrape.vms) VMs (\(scrape.bytes) bytes), keep-alive, ms median / p95: idle "
                    + "\(scrape.idle.cell) (\(scrape.idle.repetitions) scrapes); during back-to-back collections "
                    + "\(scrape.duringCollection.cell) (\(scrape.duringCollection.repetitions) scrapes over "
                    + "\(scrape.collectionsDuringScrapes) collections)",
            ]
        }
        return lines.joined(separator: "\n")
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
