import Glibc

extension ChildProcess {
    /// What a program left behind.
    public struct Outcome: Sendable, Hashable {
        public var termination: Termination
        /// Captured standard output (empty when it was not captured).
        public var standardOutput: CapturedOutput
        /// Captured standard error (empty when it was not captured).
        public var standardError: CapturedOutput
        /// Whether the program was killed because its time was up.
        public var timedOut: Bool
    }

    /// The first bytes of one captured stream.
    public struct CapturedOutput: Sendable, Hashable {
        /// What the program wrote, up to the limit.
        public var bytes: [UInt8] = []
        /// Whether it wrote more than the limit (the rest was read and dropped).
        public var truncated = false
    }

    /// Starts `command`, waits for it to end and returns what it left behind.
    public static func run(_ command: Command, timeout: Duration? = nil, outputLimit: Int = 1 << 20) throws(SystemError) -> Outcome {
        try ChildProcess(command).finish(timeout: timeout, outputLimit: outputLimit)
    }

    /// Reads the captured output while the program runs and waits for it to end.
    ///
    /// - Parameters:
    ///   - timeout: the program (with its process group, if it leads one) is killed after this
    ///     long, and the outcome says so; nil waits as long as it takes.
    ///   - outputLimit: the most bytes kept of standard output and of standard error each; the
    ///     rest is read and dropped, so the program never blocks on a full pipe.
    public func finish(timeout: Duration? = nil, outputLimit: Int = 1 << 20) throws(SystemError) -> Outcome {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var output = try Capture(standardOutput, limit: outputLimit)
        var error = try Capture(standardError, limit: outputLimit)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        while true {
            if let ended = try poll() {
                // Whatever the program wrote before it ended is in the pipes now.
                output.drain(&buffer)
                error.drain(&buffer)
                return Outcome(termination: ended, standardOutput: output.output, standardError: error.output, timedOut: timedOut)
            }
            if let deadline, ContinuousClock.now >= deadline {
                timedOut = true
                signal(SIGKILL)
                _ = try wait()
                continue
            }
            if exitNotice == nil && !output.isOpen && !error.isOpen && deadline == nil {
                _ = try wait()
                continue
            }
            waitForActivity([output, error], until: deadline)
            output.drain(&buffer)
            error.drain(&buffer)
        }
    }

    /// Waits until a pipe has something to read or has closed, the program has ended, or the
    /// deadline has come; at most 50 ms at a time when the kernel cannot tell when it ends.
    private func waitForActivity(_ captures: [Capture], until deadline: ContinuousClock.Instant?) {
        var entries = captures.compactMap { $0.isOpen ? $0.descriptor : nil }.map {
            pollfd(fd: $0.raw, events: Int16(POLLIN), revents: 0)
        }
        if let exitNotice { entries.append(pollfd(fd: exitNotice.raw, events: Int16(POLLIN), revents: 0)) }
        var milliseconds: Int64 = -1
        if let deadline {
            let (seconds, attoseconds) = ContinuousClock.now.duration(to: deadline).components
            milliseconds = max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
        }
        if exitNotice == nil { milliseconds = milliseconds < 0 ? 50 : min(milliseconds, 50) }
        // EINTR only ends this wait early; the caller looks again.
        _ = Glibc.poll(&entries, nfds_t(entries.count), Int32(clamping: milliseconds))
    }
}

/// One captured pipe: kept up to a limit, the rest read and dropped.
private struct Capture {
    let descriptor: Descriptor?
    let limit: Int
    var output = ChildProcess.CapturedOutput()
    var isOpen: Bool

    init(_ descriptor: Descriptor?, limit: Int) throws(SystemError) {
        self.descriptor = descriptor
        self.limit = limit
        isOpen = descriptor != nil
        try descriptor?.setNonBlocking()
    }

    /// Reads everything there is now, without waiting.
    mutating func drain(_ buffer: inout [UInt8]) {
        guard let descriptor else { return }
        while isOpen {
            do throws(SystemError) {
                let count = try descriptor.read(into: &buffer)
                guard count > 0 else {
                    isOpen = false
                    return
                }
                let keep = min(count, limit - output.bytes.count)
                if keep > 0 { output.bytes += buffer[0..<keep] }
                if keep < count { output.truncated = true }
            } catch where error.code == EAGAIN {
                return
            } catch {
                isOpen = false
            }
        }
    }
}
