import CLibvirt
import Foundation

/// libvirt's default event loop (`virEventRunDefaultImpl`), run on one dedicated thread.
///
/// libvirt delivers domain events, close callbacks and keepalive probes from this loop, so there is
/// one per process, shared by every connection. `Libvirt.initialize()` (which every `Connection`
/// calls first) registers the default implementation with `virEventRegisterDefaultImpl` — before
/// any connection is opened, as libvirt requires — and starts the loop; `stop()` ends it and
/// `start()` runs it again. Event handlers run on this thread: they must return quickly and hand
/// longer work elsewhere.
public final class LibvirtEventLoop: @unchecked Sendable {
    /// The process's loop.
    public static let shared = LibvirtEventLoop()

    /// Guards `thread`, `threadID` and `stopRequested`; signalled when the thread ends.
    private let condition = NSCondition()
    private var thread: Thread?
    private var threadID: pthread_t?
    private var stopRequested = false

    private init() {}

    /// Whether the loop's thread is running.
    public var isRunning: Bool {
        condition.withLock { thread != nil && !stopRequested }
    }

    /// Registers libvirt's default event implementation if that has not happened yet and runs the
    /// loop on its thread unless it runs already.
    public func start() throws(LibvirtError) {
        try Libvirt.initialize()
        startThread()
    }

    /// Ends the loop after its current iteration and waits until its thread has returned (unless
    /// called from that thread, e.g. from an event handler). Until `start()` runs it again, no
    /// connection of the process receives events, close notices or keepalive answers, so the
    /// broker stops it only when it shuts down.
    public func stop() {
        condition.lock()
        guard let running = thread else {
            condition.unlock()
            return
        }
        stopRequested = true
        let onLoopThread = threadID.map { pthread_equal($0, pthread_self()) != 0 } ?? false
        condition.unlock()
        // Wake the loop out of its poll with a timer that fires at once and removes itself.
        _ = virEventAddTimeout(0, { timer, _ in _ = virEventRemoveTimeout(timer) }, nil, nil)
        guard !onLoopThread else { return }
        condition.lock()
        while thread === running, stopRequested {
            condition.wait()
        }
        condition.unlock()
    }

    /// Starts the thread; libvirt's default implementation must be registered already.
    func startThread() {
        condition.lock()
        defer { condition.unlock() }
        // A thread asked to stop but not yet gone keeps running instead.
        stopRequested = false
        guard thread == nil else { return }
        let thread = Thread { [self] in run() }
        thread.name = "libvirt-events"
        self.thread = thread
        thread.start()
    }

    private func run() {
        condition.withLock { threadID = pthread_self() }
        while true {
            condition.lock()
            if stopRequested {
                thread = nil
                threadID = nil
                stopRequested = false
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            _ = virEventRunDefaultImpl()
        }
    }
}
