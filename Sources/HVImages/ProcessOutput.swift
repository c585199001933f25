import HVSystem

/// What a program left behind when it finished within its time limit.
public struct ProcessOutput: Sendable, Hashable {
    /// How the program ended: `.exited(status)` or `.signaled(number)`.
    public typealias Termination = ChildProcess.Termination

    /// The absolute path of the program that ran.
    public var program: String
    public var termination: Termination
    /// Standard output, up to the runner's byte limit.
    public var stdout: [UInt8]
    /// Standard error, up to the runner's byte limit.
    public var stderr: [UInt8]
    /// Whether standard output was longer than the limit (the rest was read and discarded).
    public var stdoutTruncated: Bool
    /// Whether standard error was longer than the limit.
    public var stderrTruncated: Bool

    /// Whether the program exited with status 0.
    public var succeeded: Bool { termination == .exited(0) }

    /// Standard output as text (invalid UTF-8 replaced).
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }

    /// Standard error as text (invalid UTF-8 replaced).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// A `toolFailed` error for this run: what was being done, how the program ended and the last
    /// lines of its standard error.
    public func failure(_ action: String, fix: String? = nil) -> ImageError {
        let lines = stderrText.split(whereSeparator: \.isNewline).suffix(3).joined(separator: "; ")
        let name = program.split(separator: "/").last.map(String.init) ?? program
        let detail = lines.isEmpty ? "" : ": \(lines)"
        return ImageError(.toolFailed, "\(action) failed (\(name) ended with \(termination))\(detail)", fix: fix)
    }
}
