import Foundation
import Synchronization

/// Holds the threads that call `wait` until the test calls `open`: work that blocks until released,
/// to show what does and does not wait for it.
public final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var isOpen = false

    public init() {}

    public func wait() {
        condition.lock()
        while !isOpen { condition.wait() }
        condition.unlock()
    }

    public func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }
}

/// What happened, in the order it happened, recorded from any thread or task.
public final class Recorder<Element: Sendable>: Sendable {
    private let entries = Mutex<[Element]>([])

    public init() {}

    public func append(_ entry: Element) {
        entries.withLock { $0.append(entry) }
    }

    public var all: [Element] {
        entries.withLock { $0 }
    }
}
