import HVSystem

/// A program run to completion with its standard output and error captured together, for the
/// benchmark's helpers (the pressure clients, journalctl).
struct CapturedRun {
    /// The exit status; -1 when the program was killed by a signal.
    var status: Int32
    var output: String

    init(_ arguments: [String]) throws(BenchError) {
        let command = Command(
            arguments[0], Array(arguments.dropFirst()), environment: Command.currentEnvironment,
            standardOutput: .capture, standardError: .standardOutput, ownProcessGroup: false
        )
        let outcome: ChildProcess.Outcome
        do {
            outcome = try ChildProcess.run(command, outputLimit: 64 << 20)
        } catch {
            throw BenchError(.measurementFailed, error.description)
        }
        if case .exited(let code) = outcome.termination { status = code } else { status = -1 }
        output = String(decoding: outcome.standardOutput.bytes, as: UTF8.self)
    }
}
