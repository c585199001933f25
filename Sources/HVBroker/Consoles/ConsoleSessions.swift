import Foundation
import HVProtocol
import HVSystem
import ServiceLifecycle
import Synchronization

/// The serial console sessions the broker runs: each on a thread of its own (`ConsolePump`),
/// between the broker's end of a socket pair, whose other end the caller holds, and the console.
///
/// Their number is bounded in all and per user; a place is taken before the console is opened,
/// so a caller past the bound is refused with `Busy` and nothing is opened. As a service it ends
/// every session when the broker stops.
public final class ConsoleSessions: Service, Sendable {
    public struct Limits: Sendable, Hashable {
        /// Sessions at once, in all.
        public var total = 32
        /// Sessions one user (uid) may hold at once; `exemptUsers` count only towards `total`.
        public var perUser = 4
        public var exemptUsers: Set<UInt32> = [0]
        /// What the guest wrote that may wait for a caller who does not read it; past it the
        /// session ends.
        public var backlog = 1024 * 1024

        public init() {}
    }

    public let limits: Limits
    private let state = Mutex(State())

    struct State {
        var total = 0
        var perUser: [UInt32: Int] = [:]
        /// The broker's end of each running session's socket pair, by session.
        var sockets: [Int: Descriptor] = [:]
        var nextSession = 0
        var stopping = false
    }

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Sessions running now.
    public var active: Int { state.withLock { $0.sockets.count } }

    /// Takes a place for a session of `uid`, or refuses with `Busy` naming the bound that was
    /// reached (or `HypervisorUnavailable` once the broker is stopping).
    public func reserve(_ uid: UInt32) throws(HVError) -> ConsolePlace {
        let refusal: HVError? = state.withLock { state in
            if state.stopping {
                return HVError(.hypervisorUnavailable, "the broker is stopping", fix: "try again once it is back")
            }
            if state.total >= limits.total {
                return Self.busy("the broker runs \(limits.total) console sessions already, its limit", limit: limits.total)
            }
            let exempt = limits.exemptUsers.contains(uid)
            if !exempt, state.perUser[uid, default: 0] >= limits.perUser {
                return Self.busy(
                    "you have \(limits.perUser) console sessions open already, the most one user may", limit: limits.perUser
                )
            }
            state.total += 1
            if !exempt { state.perUser[uid, default: 0] += 1 }
            return nil
        }
        if let refusal { throw refusal }
        return ConsolePlace(uid: uid, sessions: self)
    }

    /// Runs a session in `place` on a thread of its own until it ends; `ended` is then called on
    /// that thread with why and the bytes moved each way, once the socket and stream are closed.
    public func start(
        _ place: ConsolePlace, name: String, socket: Descriptor, stream: any ConsoleStream,
        ended: @escaping @Sendable (_ end: ConsoleSessionEnd, _ fromCaller: Int, _ toCaller: Int) -> Void
    ) {
        place.hold()
        let session = state.withLock { state in
            state.nextSession += 1
            state.sockets[state.nextSession] = socket
            // A session that starts as the broker stops ends at once, like the others.
            if state.stopping { shutdown(socket.raw, Int32(SHUT_RDWR)) }
            return state.nextSession
        }
        let backlog = limits.backlog
        let thread = Thread {
            var pump = ConsolePump(socket: socket, stream: stream, backlog: backlog)
            var end = pump.run()
            stream.close()
            // Out of the table before it is closed, so `endAll` never shuts down a reused number.
            let stopping = self.state.withLock { state in
                state.sockets[session] = nil
                return state.stopping
            }
            socket.close()
            place.finish()
            if stopping, end == .detached { end = .brokerStopping }
            ended(end, pump.fromCaller, pump.toCaller)
        }
        thread.name = "console \(name)"
        thread.start()
    }

    /// Waits for the broker to stop, then ends every session.
    public func run() async throws {
        try? await gracefulShutdown()
        endAll()
    }

    /// Ends every session and refuses new ones: each socket is shut down, which its thread takes
    /// as the caller leaving; it closes both ends and returns.
    public func endAll() {
        state.withLock { state in
            state.stopping = true
            for socket in state.sockets.values { shutdown(socket.raw, Int32(SHUT_RDWR)) }
        }
    }

    fileprivate func release(_ uid: UInt32) {
        state.withLock { state in
            state.total -= 1
            guard !limits.exemptUsers.contains(uid) else { return }
            state.perUser[uid, default: 1] -= 1
            if state.perUser[uid] == 0 { state.perUser[uid] = nil }
        }
    }

    static func busy(_ reason: String, limit: Int) -> HVError {
        HVError(
            .busy, reason, fix: "close a console you no longer use (Ctrl-] detaches), or wait until one ends",
            details: ["pool": "consoles", "limit": String(limit)]
        )
    }
}

/// A place for one console session, taken by `ConsoleSessions.reserve`: given back when the
/// session it was used for ends, or when it is let go of without one.
public final class ConsolePlace: Sendable {
    let uid: UInt32
    private let sessions: ConsoleSessions
    /// 0 reserved, 1 held by a session, 2 given back by it.
    private let phase = Atomic<Int>(0)

    init(uid: UInt32, sessions: ConsoleSessions) {
        self.uid = uid
        self.sessions = sessions
    }

    deinit {
        // A session keeps its place until it ends; one that never started gives it back here.
        if phase.load(ordering: .acquiring) == 0 { sessions.release(uid) }
    }

    fileprivate func hold() {
        phase.store(1, ordering: .releasing)
    }

    /// Gives the place back at the end of its session.
    fileprivate func finish() {
        if phase.compareExchange(expected: 1, desired: 2, ordering: .acquiringAndReleasing).exchanged { sessions.release(uid) }
    }
}
