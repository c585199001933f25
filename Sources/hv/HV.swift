import ArgumentParser
import Foundation
import HVProtocol

@main
struct HV: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hv",
        abstract: "Run virtual machines through the Hyper-NixOS broker, without root.",
        discussion: """
            Every command goes through the broker's socket; polkit decides what your user may do.
            Exit status: 0 success, 1 failed, 2 invalid input (a mistyped command too), 3 not found,
            4 permission denied, 5 broker, polkit, libvirt or the audit log unavailable, 6 conflicting state.
            """,
        subcommands: [
            HostCommand.self, VmCommand.self, ConsoleCommand.self, VncCommand.self, SnapshotCommand.self, PoolCommand.self,
            NetCommand.self, IsoCommand.self, ImageCommand.self, BackupCommand.self, EventsCommand.self, AuditCommand.self, HealthCommand.self, MetricsCommand.self,
            AlertsCommand.self,
        ]
    )

    /// Runs the command: the one entry point, async, so a command that waits on async work awaits
    /// it (`AsyncParsableCommand`) and the others run as they are. A usage error (an unknown
    /// option, a missing argument, a value that fails validation) exits 2, "invalid input", like
    /// every other invalid input, not with argument-parser's EX_USAGE (64).
    static func main() async {
        do {
            var command = try await asyncParseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let message = fullMessage(for: error)
            if !message.isEmpty { Runner.printError(message + "\n") }
            Foundation.exit(HVError(.invalidParameter, "").exitCode)
        }
    }
}

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The broker socket (default: $HV_SOCKET or /run/hypervisor/broker.sock).")
    var socket: String?

    @Flag(name: .long, help: "Print JSON for scripts instead of tables.")
    var json = false

    @Flag(name: .long, help: "Print the equivalent virsh command, what it does and the polkit action, and do nothing.")
    var explain = false
}
