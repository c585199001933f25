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
    var process: MonitorProcessResult?

    var text: String {
        var table = Table("ms, median / p95")
        table.headers += fleets.map { $0.vms == 1 ? "1 VM" : "\($0.vms) VMs" }
        func row(_ name: String, _ cell: (FleetResult) -> String) {
            table.rows.append([name] + fleets.map(cell))
        }
        row("monitor: one collection cycle (wall)") { $0.collection.cell }
        row("  CPU per cycle, ms: monitor + broker") { $0.collectionCPU.cell }
        row("  Host.Stats round trip (polkit, libvirt, JSON)") { $0.hostStats.cell }
        row("  libvirt: virConnectGetAllDomainStats in-process") { $0.libvirtStats.cell }
        row("  JSON of the Host.Stats reply, both sides") { $0.jsonStats.cell }
        row("  ratio CPU per cycle / in-process stats call") { String(format: "%.1f", $0.cpuRatioToLibvirtStats) }
        row("Vm.List round trip, one connection") { $0.vmList.cell }
        row("  libvirt: list, per-domain metadata + state") { $0.libvirtListPerDomain.cell }
        row("  libvirt: GetAllDomainStats, state group") { $0.libvirtListBulk.cell }
        row("  JSON of the Vm.List reply, both sides") { $0.jsonList.cell }
        row("  ratio Vm.List / per-domain calls") { String(format: "%.2f", $0.vmList.medianMilliseconds / $0.libvirtListPerDomain.medianMilliseconds) }
        row("  ratio Vm.List / bulk call") { String(format: "%.2f", $0.vmList.medianMilliseconds / $0.libvirtListBulk.medianMilliseconds) }
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
        if let process {
            lines += ["", process.text]
        }
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
