import Foundation
import HVWork
import Logging
import Synchronization

/// The answer to "may this peer perform this action?".
public enum AuthorizationOutcome: Sendable, Hashable {
    case allowed
    case denied
    /// polkit could not be asked; the caller refuses.
    case unavailable(String)
    /// The caller already has as many checks waiting as it may; the caller refuses this one.
    case busy(WorkPoolError)
}

/// Asks polkitd about one action for one peer, on a pool of its own, with no interaction.
/// Decisions are not cached: see docs/ARCHITECTURE.md.
public final class PolkitChecker: Sendable {
    /// A check slower than this is logged as a warning: polkitd evaluates rules one at a time, so
    /// while one check is slow every caller on the host waits.
    public static let slowCheck: Duration = .seconds(5)

    /// How long one check may wait for polkitd before it is refused. Longer than polkitd's own
    /// 15 s limit on a rules script, so a slow rule is still answered.
    public static let defaultTimeout: Duration = .seconds(25)

    private let pool: WorkPool
    private let timeout: Duration
    private let authority = Mutex<PolkitAuthority?>(nil)
    private let logger: Logger

    /// - Parameters:
    ///   - pool: the threads checks run on; a polkitd that stalls holds only these.
    ///   - timeout: how long one check waits for polkitd before it is refused.
    public init(pool: WorkPool, timeout: Duration = PolkitChecker.defaultTimeout, logger: Logger) {
        self.pool = pool
        self.timeout = timeout
        self.logger = logger
    }

    /// Asks on the checker's pool, charged to the subject's uid, so that a slow polkitd holds none
    /// of Swift's threads and none of the threads libvirt calls and long jobs run on.
    public func check(_ action: String, subject: PolkitSubject, details: [String: String] = [:]) async -> AuthorizationOutcome {
        do {
            return try await pool.run(for: subject.uid) { _ in self.timedCheck(action, subject, details: details) }
        } catch {
            return error.code == .queueFull ? .busy(error) : .unavailable(error.reason)
        }
    }

    /// Which polkitd answers: its backend's name and version (nil when polkitd can't be reached).
    public func backend() async -> PolkitBackend? {
        try? await pool.run(for: nil) { _ -> PolkitBackend? in try? PolkitAuthority.backend() }
    }

    private func timedCheck(_ action: String, _ subject: PolkitSubject, details: [String: String]) -> AuthorizationOutcome {
        let start = ContinuousClock.now
        let outcome = check(action, subject, details: details)
        let elapsed = ContinuousClock.now - start
        if elapsed > Self.slowCheck {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            logger.warning(
                "polkitd took \(String(format: "%.1f", seconds)) s to answer one check; every request waited meanwhile",
                metadata: [
                    "action": "\(action)", "uid": "\(subject.uid)", "seconds": "\(String(format: "%.3f", seconds))",
                    "hint": "a JavaScript rules backend older than polkit 123 can stall for 15 s (see 'hv health')",
                ]
            )
        }
        return outcome
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
            switch try current.check(action: action, subject: subject, details: details, timeout: timeout) {
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
