import HVPolkit
import HVProtocol
import HVServer
import HVWork
import Logging

/// Decides whether a peer may perform an operation on an object described by `details`.
public protocol Authorizer: Sendable {
    func authorize(_ operation: BrokerOperation, peer: Peer, details: [String: String]) async -> AuthorizationOutcome

    /// The polkitd that decides, for the health check; nil when it can't be asked or there is none.
    func backend() async -> PolkitBackend?
}

extension Authorizer {
    public func backend() async -> PolkitBackend? { nil }
}

/// Asks polkitd for every request, passing the object as details. Decisions are not cached: see
/// docs/ARCHITECTURE.md.
public struct PolkitAuthorizer: Authorizer {
    /// How long one check waits for polkitd before the request is refused.
    public static let defaultTimeout = PolkitChecker.defaultTimeout

    let checker: PolkitChecker

    /// - Parameters:
    ///   - pool: the threads polkit checks run on, apart from libvirt calls and long jobs.
    ///   - timeout: how long one check waits for polkitd before the request is refused.
    public init(pool: WorkPool, timeout: Duration = PolkitChecker.defaultTimeout, logger: Logger) {
        checker = PolkitChecker(pool: pool, timeout: timeout, logger: logger)
    }

    public func authorize(_ operation: BrokerOperation, peer: Peer, details: [String: String]) async -> AuthorizationOutcome {
        await checker.check(operation.action, subject: PolkitSubject(pid: peer.pid, uid: peer.uid, startTime: peer.startTime), details: details)
    }

    public func backend() async -> PolkitBackend? {
        await checker.backend()
    }
}
