import ArgumentParser

/// `hv-bench audit`: the broker's start-up, memory, `Host.Health` and `Audit.Verify` over audit
/// histories of different lengths.
struct AuditBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The broker over audit histories of 10,000 and 10,000,000 records: start-up, memory, Host.Health, Audit.Verify.",
        discussion: """
            Run as root, with the system D-Bus and polkitd running and the broker's polkit policy installed. For \
            each size it writes a history with the audit log's own code (the broker's default segment size and \
            compression, the manifest, the head file and the checkpoint a cleanly stopped broker leaves) in a \
            scratch directory under /tmp, starts its own hv-broker on it (libvirt's test driver, every socket in \
            the scratch directory) --starts times, and measures start-up, VmRSS and VmHWM, Host.Health, and \
            Audit.Verify of every record against gzip -dcf | sha256sum of the same bytes. Each history is removed \
            once measured. See docs/BENCHMARKS.md.
            """
    )

    @Option(help: "The hv-broker to start (default: the one beside hv-bench).") var broker: String?
    @Option(help: "History sizes in records, comma-separated; k and M multiply by 1,000 and 1,000,000.") var records = "10k,10M"
    @Option(help: "Broker starts timed per size.") var starts = 5
    @Option(help: "Host.Health calls timed per size.") var healthCalls = 50
    @Flag(help: "Print one JSON object instead of the table.") var json = false

    func validate() throws {
        guard AuditBench.sizes(parsing: records) != nil else {
            throw ValidationError("--records takes comma-separated positive sizes, e.g. 10000,10000000 or 10k,10M")
        }
        guard starts > 0, healthCalls > 0 else { throw ValidationError("--starts and --health-calls must be positive") }
    }

    func run() throws {
        let bench = AuditBench(
            sizes: AuditBench.sizes(parsing: records) ?? [], starts: starts, healthCalls: healthCalls,
            broker: BenchCommand.brokerPath(broker)
        )
        try BenchRun.report(json: json) { () throws(BenchError) in try bench.run() }
    }
}
