import Foundation
import HVSystem

/// Why a console session ended, for the audit log.
public enum ConsoleSessionEnd: Sendable, Hashable, CustomStringConvertible {
    /// The caller closed its end (Ctrl-], or the program went away).
    case detached
    /// The console closed: the machine stopped, or another session took it over with `force`.
    case consoleClosed
    /// More than the backlog waited for the caller, who did not read it.
    case callerNotReading
    /// The broker is stopping.
    case brokerStopping
    case failed(String)

    public var description: String {
        switch self {
        case .detached: "the caller detached"
        case .consoleClosed: "the console closed (the machine stopped, or another session took it over)"
        case .callerNotReading: "the caller stopped reading what the guest wrote"
        case .brokerStopping: "the broker stopped"
        case .failed(let reason): "it failed: \(reason)"
        }
    }
}

/// Moves bytes between the broker's end of a session's socket pair and a console stream, on the
/// session's own thread, until one side closes or the caller stops reading. (The broker stops a
/// session by shutting its socket down: to the pump, the caller left.)
///
/// One `poll` waits on the socket and the stream's readiness. What the
/// guest writes is read as soon as it arrives and kept for the caller up to `backlog` bytes; what
/// the caller writes is read a chunk at a time, only once the console took the previous chunk, so
/// a guest that reads slowly holds the caller back rather than the broker's memory.
struct ConsolePump {
    let socket: Descriptor
    let stream: any ConsoleStream
    let backlog: Int
    /// Bytes moved each way, for the audit record.
    private(set) var fromCaller = 0
    private(set) var toCaller = 0

    init(socket: Descriptor, stream: any ConsoleStream, backlog: Int) {
        self.socket = socket
        self.stream = stream
        self.backlog = backlog
    }

    /// Runs until the session ends; blocks the calling thread all that time.
    mutating func run() -> ConsoleSessionEnd {
        var forCaller: [UInt8] = []
        var forGuest: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            var socketEvents = Int16(0)
            if forGuest.isEmpty { socketEvents |= Int16(POLLIN) }
            if !forCaller.isEmpty { socketEvents |= Int16(POLLOUT) }
            // A socket polled for nothing is left out: its hang-up would wake every poll at once.
            var entries = [
                pollfd(fd: socketEvents == 0 ? -1 : socket.raw, events: socketEvents, revents: 0),
                pollfd(fd: stream.readiness, events: Int16(POLLIN), revents: 0),
            ]
            // A chunk the console would not take yet is tried again shortly.
            _ = retryingInterrupts { poll(&entries, 2, forGuest.isEmpty ? -1 : 10) }
            if entries[1].revents != 0 {
                if let end = readGuest(into: &forCaller, chunk: &chunk) {
                    flush(forCaller)
                    return end
                }
                if forCaller.count > backlog { return .callerNotReading }
            }
            if entries[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0, forGuest.isEmpty {
                let count = chunk.withUnsafeMutableBytes { recv(socket.raw, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) { return .detached }
                if count > 0 { forGuest = Array(chunk[..<count]) }
            }
            if !forGuest.isEmpty {
                switch forGuest.withUnsafeBytes({ stream.send($0) }) {
                case .sent(let count):
                    fromCaller += count
                    forGuest.removeFirst(count)
                case .full: break
                case .failed(let reason): return .failed(reason)
                }
            }
            if !forCaller.isEmpty {
                let count = Self.sendNow(socket, forCaller)
                if count < 0 && errno != EAGAIN && errno != EINTR { return .detached }
                if count > 0 {
                    toCaller += count
                    forCaller.removeFirst(count)
                }
            }
        }
    }

    /// Reads what the console has now, until it has no more or more than the backlog waits; the
    /// end, if it came.
    private func readGuest(into pending: inout [UInt8], chunk: inout [UInt8]) -> ConsoleSessionEnd? {
        while pending.count <= backlog {
            switch chunk.withUnsafeMutableBytes({ stream.receive(into: $0) }) {
            case .bytes(let count): pending += chunk[..<count]
            case .empty: return nil
            case .ended: return .consoleClosed
            case .failed(let reason): return .failed(reason)
            }
        }
        return nil
    }

    /// Passes on what the guest wrote before its console closed, as far as the socket takes it now.
    private mutating func flush(_ pending: [UInt8]) {
        guard !pending.isEmpty else { return }
        let count = Self.sendNow(socket, pending)
        if count > 0 { toCaller += count }
    }

    /// Sends what the socket takes now, without waiting and without SIGPIPE; -1 with errno set.
    private static func sendNow(_ socket: Descriptor, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { send(socket.raw, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
    }
}
