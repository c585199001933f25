import NIOCore
import Synchronization

/// Waiting for a connection to close in a way that task cancellation can end, which
/// `closeFuture.get()` cannot.
enum ChannelClosure {
    /// Returns when `channel` has closed or the calling task is cancelled, whichever comes first.
    static func wait(for channel: any Channel) async {
        let waiter = Waiter()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                waiter.install(continuation)
                channel.closeFuture.whenComplete { _ in waiter.resume() }
            }
        } onCancel: {
            waiter.resume()
        }
    }

    /// Resumes its continuation exactly once, whether the closure or the cancellation comes first
    /// and whether either comes before the continuation is installed.
    private final class Waiter: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Void, Never>?
            var done = false
        }

        private let state = Mutex(State())

        func install(_ continuation: CheckedContinuation<Void, Never>) {
            let alreadyDone = state.withLock { state -> Bool in
                if state.done { return true }
                state.continuation = continuation
                return false
            }
            if alreadyDone { continuation.resume() }
        }

        func resume() {
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.done = true
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume()
        }
    }
}
