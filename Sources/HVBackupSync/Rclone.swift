import HVImages
import HVSystem

/// Runs rclone for one target: by absolute path with an argument array (never a shell), the
/// minimal environment of every program the project runs, the target's configuration file or
/// none, and a time limit.
public struct Rclone: Sendable {
    public var target: SyncTarget
    var runner: ProcessRunner
    var executable: String
    /// A private directory for rclone's cache and for the lists of files handed to it.
    var workDirectory: String

    public init(target: SyncTarget, runner: ProcessRunner, workDirectory: String) throws(SyncError) {
        self.target = target
        self.runner = runner
        self.workDirectory = workDirectory
        do {
            executable = try runner.locator.locate(.rclone)
        } catch {
            throw SyncError(.transferFailed, error.reason, fix: error.fix)
        }
    }

    /// The options every run gets before its own arguments.
    var commonArguments: [String] {
        [
            "--config", target.configFile ?? "", "--cache-dir", workDirectory + "/cache", "--contimeout", "30s", "--timeout", "5m",
            "--retries", "1", "--low-level-retries", "5", "--stats", "0", "--log-level", "ERROR",
        ]
    }

    /// Runs `rclone COMMAND ARGUMENTS…`; `allowed` lists exit statuses besides 0 the caller
    /// handles itself (3: the directory does not exist).
    @discardableResult
    func run(_ command: String, _ arguments: [String], doing action: String, allowed: Set<Int32> = [], timeout: Duration = .seconds(6 * 3600))
        throws(SyncError) -> ProcessOutput
    {
        let output: ProcessOutput
        do {
            output = try runner.run(executable: executable, [command] + commonArguments + arguments, timeout: timeout, outputLimit: 256 << 20)
        } catch {
            throw SyncError(.transferFailed, "\(action) at \(target.description): \(error.reason)", fix: error.fix)
        }
        if case .exited(let status) = output.termination, status == 0 || allowed.contains(status) { return output }
        throw SyncError(
            .transferFailed, output.failure("\(action) at \(target.description)").reason,
            fix: "check that the remote is reachable and its credentials and host key are right, then run the copy again; "
                + "what was copied stays and is not sent again"
        )
    }
}
