import HVProtocol
import HVServer
import Logging
import NIOPosix

/// Decides whether a peer may perform an operation.
public protocol Authorizer: Sendable {
    func authorize(_ operation: BrokerOperation, peer: Peer) async -> AuthorizationOutcome
}

/// Asks polkitd for every request. Decisions are not cached: see docs/ARCHITECTURE.md.
public struct PolkitAuthorizer: Authorizer {
    let checker: PolkitChecker

    public init(threadPool: NIOThreadPool, logger: Logger) {
        checker = PolkitChecker(threadPool: threadPool, logger: logger)
    }

    public func authorize(_ operation: BrokerOperation, peer: Peer) async -> AuthorizationOutcome {
        await checker.check(operation.action, peer: peer)
    }
}
