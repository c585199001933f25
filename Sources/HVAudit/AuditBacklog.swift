import Synchronization

/// A count of records queued without waiting, bounded: `enter` takes a place, or waits for one
/// when all `limit` are taken; `leave` gives the place back, straight to the oldest waiter if any.
final class AuditBacklog: Sendable {
    private struct State {
        var taken = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        precondition(limit > 0, "a backlog needs room for one record")
        self.limit = limit
    }

    func enter() async {
        let entered = state.withLock { state in
            guard state.taken < limit else { return false }
            state.taken += 1
            return true
        }
        guard !entered else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                if state.taken < limit {
                    state.taken += 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            // The place goes to the oldest waiter as it is: `taken` stays the same.
            guard state.waiting.isEmpty else { return state.waiting.removeFirst() }
            state.taken -= 1
            return nil
        }
        next?.resume()
    }

    /// Places taken, for tests.
    var taken: Int { state.withLock { $0.taken } }
    /// Callers waiting for a place, for tests.
    var waiters: Int { state.withLock { $0.waiting.count } }
}
