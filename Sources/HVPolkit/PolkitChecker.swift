import Logging
import NIOPosix
import Synchronization

/// The answer to "may this peer perform this action?".
public enum AuthorizationOutcome: Sendable, Hashable {
    case allowed
    case denied
    /// polkit could not be asked; the caller refuses.
    case unavailable(String)
}

/// Asks polkitd about one action for one peer, on a thread pool, with no interaction. Decisions are
/// not cached: see docs/ARCHITECTURE.md.
public final class PolkitChecker: Sendable {
    private let threadPool: NIOThreadPool
    private let authority = Mutex<PolkitAuthority?>(nil)
    private let logger: Logger

    public init(threadPool: NIOThreadPool, logger: Logger) {
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Asks on the checker's thread pool, so that a slow polkitd holds none of Swift's threads.
    public func check(_ action: String, subject: PolkitSubject, details: [String: String] = [:]) async -> AuthorizationOutcome {
        do {
            return try await threadPool.runIfActive { self.check(action, subject, details: details) }
        } catch {
            return .unavailable("the service is shutting down")
        }
    }

    /// Blocking: runs on the thread pool. A failed call drops the authority so the next request
    /// reconnects (polkitd or the bus may have restarted).
    public func check(_ action: String, _ subject: PolkitSubject, details: [String: String] = [:]) -> AuthorizationOutcome {
        // Without the start time polkit would look the pid up later, when it may name another process.
        guard subject.startTime != 0 else {
            return .unavailable("the caller's process start time could not be read from /proc/\(subject.pid)/stat")
        }
        do {
            let current = try connectedAuthority()
            switch try current.check(action: action, subject: subject, details: details) {
            case .authorized: return .allowed
            case .challenge, .notAuthorized: return .denied
            }
        } catch {
            authority.withLock { $0 = nil }
            logger.warning("polkit unavailable", metadata: ["error": "\(error)"])
            return .unavailable(error.message)
        }
    }

    private func connectedAuthority() throws(PolkitError) -> PolkitAuthority {
        if let existing = authority.withLock({ $0 }) { return existing }
        let created = try PolkitAuthority()
        authority.withLock { $0 = created }
        return created
    }
}
