import HVProtocol
import Synchronization

/// What one server allows its clients, counted by the uid the kernel vouches for (SO_PEERCRED):
/// connections held in all and by each user, and calls of each user answered at once. One user's
/// flood so reaches only that user's share; everyone else keeps theirs.
///
/// Users in `exemptUsers` are held only to the server-wide connection limit.
public final class UserLimits: Sendable {
    /// Why a connection is refused.
    public enum Refusal: Sendable, Hashable {
        /// The server holds `maximumClients` connections.
        case server(limit: Int)
        /// This user holds `maximumClientsPerUser` connections.
        case user(limit: Int)

        /// What the refused client is told by the server called `server`.
        public func error(server: String, uid: UInt32) -> HVError {
            switch self {
            case .server(let limit):
                HVError(
                    .protocolError, "the \(server) is serving its limit of \(limit) clients",
                    fix: "retry shortly; close idle connections", details: ["kind": "TooManyClients"]
                )
            case .user(let limit):
                HVError(
                    .protocolError, "uid \(uid) holds its limit of \(limit) connections to the \(server)",
                    fix: "close some of your connections to the \(server) first", details: ["kind": "TooManyClients"]
                )
            }
        }
    }

    public let maximumClients: Int
    public let maximumClientsPerUser: Int
    public let maximumCallsPerUser: Int
    public let exemptUsers: Set<UInt32>

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct Usage {
        var connections = 0
        var calls = 0
        /// Calls waiting for one of the user's places, first come first served.
        var waiting: [Waiter] = []
        var isUnused: Bool { connections == 0 && calls == 0 && waiting.isEmpty }
    }

    private struct State {
        var connections = 0
        var users: [UInt32: Usage] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init(maximumClients: Int, maximumClientsPerUser: Int, maximumCallsPerUser: Int, exemptUsers: Set<UInt32>) {
        self.maximumClients = maximumClients
        self.maximumClientsPerUser = maximumClientsPerUser
        self.maximumCallsPerUser = maximumCallsPerUser
        self.exemptUsers = exemptUsers
    }

    /// Connections open now.
    public var connections: Int {
        state.withLock { $0.connections }
    }

    /// Counts a new connection of `uid`, or says why it is refused (and counts nothing).
    public func connect(_ uid: UInt32) -> Refusal? {
        state.withLock { state in
            guard state.connections < maximumClients else { return .server(limit: maximumClients) }
            let held = state.users[uid]?.connections ?? 0
            guard exemptUsers.contains(uid) || held < maximumClientsPerUser else {
                return .user(limit: maximumClientsPerUser)
            }
            state.connections += 1
            state.users[uid, default: Usage()].connections += 1
            return nil
        }
    }

    /// Ends a connection counted by `connect`.
    public func disconnect(_ uid: UInt32) {
        state.withLock { state in
            state.connections -= 1
            state.users[uid]?.connections -= 1
            Self.forgetIfUnused(uid, in: &state)
        }
    }

    /// Waits until `uid` has fewer than `maximumCallsPerUser` calls under way and takes a place.
    /// Returns false, holding no place, when the calling task is cancelled first. Every true must
    /// be matched by one `finishCall`.
    public func startCall(_ uid: UInt32) async -> Bool {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let outcome = state.withLock { state -> Bool? in
                    if Task.isCancelled { return false }
                    var usage = state.users[uid, default: Usage()]
                    defer { state.users[uid] = usage }
                    if exemptUsers.contains(uid) || usage.calls < maximumCallsPerUser {
                        usage.calls += 1
                        return true
                    }
                    usage.waiting.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(returning: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.users[uid]?.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                defer { Self.forgetIfUnused(uid, in: &state) }
                return state.users[uid]?.waiting.remove(at: index)
            }
            waiter?.continuation.resume(returning: false)
        }
    }

    /// Gives up a place taken by `startCall`: to the user's next waiting call, if any.
    public func finishCall(_ uid: UInt32) {
        let next = state.withLock { state -> Waiter? in
            guard var usage = state.users[uid] else { return nil }
            defer {
                state.users[uid] = usage
                Self.forgetIfUnused(uid, in: &state)
            }
            guard usage.waiting.isEmpty else { return usage.waiting.removeFirst() }
            usage.calls -= 1
            return nil
        }
        next?.continuation.resume(returning: true)
    }

    /// Calls of `uid` under way and waiting; for tests and diagnostics.
    public func calls(of uid: UInt32) -> (underWay: Int, waiting: Int) {
        state.withLock { state in
            let usage = state.users[uid] ?? Usage()
            return (usage.calls, usage.waiting.count)
        }
    }

    private static func forgetIfUnused(_ uid: UInt32, in state: inout State) {
        if state.users[uid]?.isUnused == true { state.users[uid] = nil }
    }
}
