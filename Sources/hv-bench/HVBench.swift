import ArgumentParser

/// `hv-bench`: the broker benchmark (the default, `hv-bench broker`), the monitor benchmark
/// (`hv-bench monitor`), the broker under pressure (`hv-bench pressure`) and over long audit
/// histories (`hv-bench audit`), the broker's own cost per request (`hv-bench request`), and
/// backups of a disk against the standard tools (`hv-bench backup`). Each subcommand has its own
/// options, so the same name (`--json`, `--broker`) means the subcommand's.
struct HVBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hv-bench",
        abstract: "Benchmarks for the broker, the monitor and backups. See docs/BENCHMARKS.md.",
        subcommands: [
            BenchCommand.self, MonitorBenchCommand.self, PressureCommand.self, AuditBenchCommand.self, RequestCommand.self,
            BackupBenchCommand.self, PressureClientCommand.self, RequestClientCommand.self,
        ],
        defaultSubcommand: BenchCommand.self
    )
}
