import HVSystem
import Logging

/// Runs the broker's programs the safe way, through `ChildProcess`: by absolute path with an
/// argument array (posix_spawn, never a shell), with a minimal environment, standard input from
/// /dev/null, no inherited descriptors, output captured up to a limit, and a time limit after
/// which the program and its process group are killed.
///
/// `run` blocks until the program ends; callers run it on a thread pool, never on an event loop.
public struct ProcessRunner: Sendable {
    /// The whole environment a program gets.
    public static let environment = ["PATH=/usr/bin:/bin", "LC_ALL=C"]

    /// Where programs are looked up.
    public var locator: ToolLocator
    public var logger: Logger

    public init(locator: ToolLocator = ToolLocator(), logger: Logger = Logger(label: "org.hypernixos.images")) {
        self.locator = locator
        self.logger = logger
    }

    /// Finds `tool` in the locator's directories and runs it.
    public func run(
        _ tool: Tool, _ arguments: [String], timeout: Duration = .seconds(120), outputLimit: Int = 1 << 20
    ) throws(ImageError) -> ProcessOutput {
        try run(executable: locator.locate(tool), arguments, timeout: timeout, outputLimit: outputLimit)
    }

    /// Runs the program at the absolute path `executable` with `arguments` and waits for it.
    ///
    /// - Parameters:
    ///   - timeout: the program (and anything it started in its process group) is killed after
    ///     this long, and `toolFailed` is thrown.
    ///   - outputLimit: the most bytes kept of standard output and of standard error each; the
    ///     rest is read and discarded so the program never blocks on a full pipe.
    public func run(
        executable: String, _ arguments: [String], timeout: Duration = .seconds(120), outputLimit: Int = 1 << 20
    ) throws(ImageError) -> ProcessOutput {
        guard executable.hasPrefix("/") else {
            throw ImageError(.invalidParameter, "'\(executable)' is not an absolute program path", parameter: "executable")
        }
        logger.debug("running a program", metadata: ["program": "\(executable)", "arguments": "\(arguments)"])
        let command = Command(
            executable, arguments, environment: Self.environment, standardInput: .null, standardOutput: .capture,
            standardError: .capture, ownProcessGroup: true
        )
        let outcome: ChildProcess.Outcome
        do {
            outcome = try ChildProcess.run(command, timeout: timeout, outputLimit: outputLimit)
        } catch {
            throw ImageError(.toolFailed, error.description)
        }
        guard !outcome.timedOut else {
            let name = executable.split(separator: "/").last.map(String.init) ?? executable
            throw ImageError(
                .toolFailed, "\(name) did not finish within \(timeout) and was stopped",
                fix: "check that the file is on a local, responsive file system and try again"
            )
        }
        return ProcessOutput(
            program: executable, termination: outcome.termination, stdout: outcome.standardOutput.bytes,
            stderr: outcome.standardError.bytes, stdoutTruncated: outcome.standardOutput.truncated,
            stderrTruncated: outcome.standardError.truncated
        )
    }
}
