import ArgumentParser

/// `hv-bench`: the broker benchmark (the default, `hv-bench broker`), the monitor benchmark
/// (`hv-bench monitor`), the broker under pressure (`hv-bench pressure`) and over long audit
/// histories (`hv-bench audit`). Each subcommand has its own options, so the same name (`--json`,
/// `--broker`) means the subcommand's.
struct HVBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hv-bench",
        abstract: "Benchmarks for the broker and the monitor. See docs/BENCHMARKS.md.",
        subcommands: [BenchCommand.self, MonitorBenchCommand.self, PressureCommand.self, AuditBenchCommand.self, PressureClientCommand.self],
        defaultSubcommand: BenchCommand.self
    )
}
