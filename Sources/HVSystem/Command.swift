import Glibc

/// A program to start and what it starts with: an absolute path and an argument array (never a
/// shell), the whole environment, and where each standard stream comes from or goes.
public struct Command: Sendable {
    /// Where standard input comes from.
    public enum Input: Sendable {
        /// `/dev/null`.
        case null
        /// These bytes, then end of file (held in an anonymous in-memory file, so any size fits).
        case bytes([UInt8])
        /// The file at this path, opened read-only.
        case file(String)
    }

    /// Where standard output or standard error goes.
    public enum Output: Sendable {
        /// `/dev/null`.
        case discard
        /// A pipe this process reads, kept up to a limit (`ChildProcess.finish`).
        case capture
        /// Appended to the file at this path, created with `mode` if missing.
        case file(String, mode: mode_t = 0o644)
        /// Wherever standard output goes (for standard error only).
        case standardOutput
        /// This process's own stream.
        case inherit
    }

    /// The program's absolute path.
    public var executable: String
    /// The arguments after the program's name (`argv[1...]`).
    public var arguments: [String]
    /// The program's whole environment, as `NAME=value` entries.
    public var environment: [String]
    public var standardInput: Input
    public var standardOutput: Output
    public var standardError: Output
    /// Whether the program leads a process group of its own, so that `signal` and `kill` reach
    /// everything it started too. A program in its own group no longer gets the terminal's
    /// Ctrl-C; one that a person may interrupt by hand stays in this process's group.
    public var ownProcessGroup: Bool

    public init(
        _ executable: String, _ arguments: [String], environment: [String], standardInput: Input = .null,
        standardOutput: Output = .discard, standardError: Output = .discard, ownProcessGroup: Bool = true
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.ownProcessGroup = ownProcessGroup
    }

    /// This process's environment, as `NAME=value` entries, for a program that should see it.
    public static var currentEnvironment: [String] {
        var entries: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            entries.append(String(cString: pointer))
            entry += 1
        }
        return entries
    }
}
