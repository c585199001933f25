import Glibc
import HVSystem

/// Copies bytes both ways between two ends until one closes: a terminal and a console's socket
/// (`hv console`), or a VNC viewer's connection and a display's (`hv vnc`). One thread, one
/// `poll`; at most one chunk waits in each direction, so a side that does not read holds the other
/// back instead of filling memory.
public struct Relay: Sendable {
    /// Where one side is read from and written to (the same descriptor for a socket; standard
    /// input and output for a terminal).
    public struct End: Sendable {
        public var read: Int32
        public var write: Int32

        public init(read: Int32, write: Int32) {
            self.read = read
            self.write = write
        }

        public init(_ socket: Descriptor) {
            self.init(read: socket.raw, write: socket.raw)
        }
    }

    public enum Outcome: Sendable, Hashable {
        /// The left side closed (or its input ended).
        case leftClosed
        /// The right side closed.
        case rightClosed
        /// The escape byte came from the left side; what came before it was passed on.
        case escaped
        case failed(String)
    }

    public let left: End
    public let right: End
    /// A byte that, read from the left side, ends the relay (Ctrl-], 0x1D, for a console).
    public let escape: UInt8?

    public init(left: End, right: End, escape: UInt8? = nil) {
        self.left = left
        self.right = right
        self.escape = escape
    }

    /// Runs until one side closes or the escape byte comes; blocks the calling thread. Writing to
    /// a side that has gone fails rather than raising SIGPIPE only where SIGPIPE is ignored: the
    /// caller ignores it first.
    public func run() -> Outcome {
        var toRight: [UInt8] = []
        var toLeft: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            var entries = [
                pollfd(fd: toRight.isEmpty ? left.read : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: toLeft.isEmpty ? right.read : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: toRight.isEmpty ? -1 : right.write, events: Int16(POLLOUT), revents: 0),
                pollfd(fd: toLeft.isEmpty ? -1 : left.write, events: Int16(POLLOUT), revents: 0),
            ]
            guard retryingInterrupts({ poll(&entries, 4, -1) }) >= 0 else {
                return .failed("poll: \(String(cString: strerror(errno)))")
            }
            if entries[0].revents != 0 {
                let count = Self.read(left.read, into: &chunk)
                guard count > 0 else { return count == 0 ? .leftClosed : .failed(Self.lastError("read")) }
                var received = chunk[..<count]
                if let escape, let at = received.firstIndex(of: escape) {
                    received = received[..<at]
                    _ = Self.write(right.write, Array(received))
                    return .escaped
                }
                toRight = Array(received)
            }
            if entries[1].revents != 0 {
                let count = Self.read(right.read, into: &chunk)
                guard count > 0 else { return count == 0 ? .rightClosed : .failed(Self.lastError("read")) }
                toLeft = Array(chunk[..<count])
            }
            if entries[2].revents != 0 {
                let written = Self.write(right.write, toRight)
                guard written > 0 else { return .rightClosed }
                toRight.removeFirst(written)
            }
            if entries[3].revents != 0 {
                let written = Self.write(left.write, toLeft)
                guard written > 0 else { return .leftClosed }
                toLeft.removeFirst(written)
            }
        }
    }

    /// One read; a connection reset counts as closed.
    static func read(_ descriptor: Int32, into buffer: inout [UInt8]) -> Int {
        let count = retryingInterrupts { buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) } }
        return count < 0 && errno == ECONNRESET ? 0 : count
    }

    /// One write of what `poll` said there is room for; 0 or less when the side has gone.
    static func write(_ descriptor: Int32, _ bytes: [UInt8]) -> Int {
        guard !bytes.isEmpty else { return 0 }
        return retryingInterrupts { bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) } }
    }

    static func lastError(_ call: String) -> String {
        "\(call): \(String(cString: strerror(errno)))"
    }
}
