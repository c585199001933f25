import HVPolkit
import HVProtocol
import HVServer
import Logging
import NIOPosix

/// Decides whether a peer may perform an operation on an object described by `details`.
public protocol Authorizer: Sendable {
    func authorize(_ operation: BrokerOperation, peer: Peer, details: [String: String]) async -> AuthorizationOutcome
}

/// Asks polkitd for every request, passing the object as details. Decisions are not cached: see
/// docs/ARCHITECTURE.md.
public struct PolkitAuthorizer: Authorizer {
    let checker: PolkitChecker

    public init(threadPool: NIOThreadPool, logger: Logger) {
        checker = PolkitChecker(threadPool: threadPool, logger: logger)
    }

    public func authorize(_ operation: BrokerOperation, peer: Peer, details: [String: String]) async -> AuthorizationOutcome {
        await checker.check(operation.action, subject: PolkitSubject(pid: peer.pid, uid: peer.uid, startTime: peer.startTime), details: details)
    }
}
