import CHVShims
import Glibc
import Logging

/// Runs programs the safe way: by absolute path with an argument array (posix_spawn, never a
/// shell), with a minimal environment, standard input from /dev/null, no inherited descriptors,
/// output captured up to a limit, and a time limit after which the program is killed.
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
        let deadline = ContinuousClock.now + timeout
        let child = try ChildProcess.spawn(executable, arguments, environment: Self.environment)
        var stdout = Capture(descriptor: child.stdout, limit: outputLimit)
        var stderr = Capture(descriptor: child.stderr, limit: outputLimit)
        defer {
            close(child.stdout)
            close(child.stderr)
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            Capture.wait(for: [stdout, stderr], until: deadline)
            stdout.drain(&buffer)
            stderr.drain(&buffer)
            if let status = try child.reap(blocking: false) {
                // Whatever the program wrote before it exited is in the pipes now.
                stdout.drain(&buffer)
                stderr.drain(&buffer)
                return ProcessOutput(
                    program: executable, termination: status, stdout: stdout.bytes, stderr: stderr.bytes,
                    stdoutTruncated: stdout.truncated, stderrTruncated: stderr.truncated
                )
            }
            if ContinuousClock.now >= deadline {
                child.kill()
                let name = executable.split(separator: "/").last.map(String.init) ?? executable
                throw ImageError(
                    .toolFailed, "\(name) did not finish within \(timeout) and was stopped",
                    fix: "check that the file is on a local, responsive file system and try again"
                )
            }
        }
    }
}

/// One pipe's output: kept up to a limit, the rest discarded.
private struct Capture {
    let descriptor: Int32
    let limit: Int
    var bytes: [UInt8] = []
    var truncated = false
    var open = true

    init(descriptor: Int32, limit: Int) {
        self.descriptor = descriptor
        self.limit = limit
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    /// Reads everything available now without blocking.
    mutating func drain(_ buffer: inout [UInt8]) {
        while open {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                let keep = min(count, limit - bytes.count)
                if keep > 0 { bytes.append(contentsOf: buffer[0..<keep]) }
                if keep < count { truncated = true }
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                open = false
            } else if errno == EAGAIN {
                return
            }
        }
    }

    /// Waits until either pipe is readable, at most 50 ms and never past `deadline`.
    static func wait(for captures: [Capture], until deadline: ContinuousClock.Instant) {
        var fds = captures.filter(\.open).map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        let remaining = ContinuousClock.now.duration(to: deadline)
        let milliseconds = remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
        _ = poll(&fds, nfds_t(fds.count), Int32(max(0, min(50, milliseconds))))
    }
}
