/// Serializes work per key (a machine or volume name), in arrival order, without holding a thread
/// while waiting. State-changing requests hold their object's key from admission to the end of the
/// act, so the object polkit judged is the object that is changed.
actor KeyedLock {
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Runs `body` holding every key in `keys` (taken in sorted order, so two requests can't deadlock).
    nonisolated func withLocks<T: Sendable>(_ keys: [String], _ body: () async -> T) async -> T {
        let ordered = Array(Set(keys)).sorted()
        for key in ordered { await acquire(key) }
        let result = await body()
        for key in ordered.reversed() { await release(key) }
        return result
    }

    private func acquire(_ key: String) async {
        if waiters[key] == nil {
            waiters[key] = []
            return
        }
        await withCheckedContinuation { waiters[key, default: []].append($0) }
    }

    private func release(_ key: String) {
        guard var queue = waiters[key] else { return }
        if queue.isEmpty {
            waiters[key] = nil
        } else {
            let next = queue.removeFirst()
            waiters[key] = queue
            next.resume()
        }
    }
}
