import Foundation
import HVAudit
import HVLibvirt
import HVProtocol
import Logging
import Synchronization

/// Fans libvirt's lifecycle events out to every client following them.
///
/// One libvirt subscription serves all followers; it is made when the first one arrives and made
/// again after libvirtd went away. Each follower has its own bounded buffer, so a slow reader
/// loses its oldest events rather than growing the broker's memory or holding up the others.
public final class EventHub: Sendable {
    public static let bufferPerFollower = 256

    let uri: String
    let logger: Logger
    private struct State {
        var followers: [UUID: AsyncStream<VmEvent>.Continuation] = [:]
        var connection: Connection?
        var subscription: EventSubscription?
        var closeSubscription: CloseSubscription?
    }
    private let state = Mutex(State())

    public init(uri: String, logger: Logger) {
        self.uri = uri
        self.logger = logger
    }

    /// A stream of events from now on; it ends when the caller stops iterating.
    /// Blocking (it may open the libvirt subscription): call it off the event loop.
    public func follow() throws(HVError) -> AsyncStream<VmEvent> {
        try ensureSubscribed()
        let id = UUID()
        let (stream, continuation) = AsyncStream<VmEvent>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferPerFollower))
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.followers.removeValue(forKey: id) }
        }
        state.withLock { $0.followers[id] = continuation }
        return stream
    }

    public var followerCount: Int { state.withLock { $0.followers.count } }

    private func ensureSubscribed() throws(HVError) {
        let subscribed = state.withLock { $0.subscription?.isActive == true && $0.connection?.isAlive == true }
        guard !subscribed else { return }
        do {
            try Libvirt.initialize()
            let connection = try Connection(uri: uri)
            _ = try? connection.setKeepAlive(interval: 5, count: 3)
            let subscription = try connection.subscribeLifecycle { [weak self] event in self?.broadcast(event) }
            let close = try? connection.subscribeClose { [weak self] reason in
                self?.logger.warning("libvirt event connection closed", metadata: ["reason": "\(reason)"])
                self?.endAll()
            }
            state.withLock { state in
                state.connection = connection
                state.subscription = subscription
                state.closeSubscription = close
            }
        } catch {
            throw HVError(
                .hypervisorUnavailable, "cannot follow libvirt's events at \(uri): \(error.message)",
                fix: "start libvirtd (systemctl start libvirtd) and try again"
            )
        }
    }

    /// libvirt's connection closed: every follower's stream ends, so each client hears of it
    /// instead of waiting for events that will not come; the next follow subscribes again.
    private func endAll() {
        let ended = state.withLock { state in
            state.subscription = nil
            defer { state.followers = [:] }
            return Array(state.followers.values)
        }
        for continuation in ended { continuation.finish() }
    }

    private func broadcast(_ event: LifecycleEvent) {
        let message = VmEvent(time: AuditRecord.timestamp(event.time), vm: event.domain, event: event.event.rawValue, detail: event.detail)
        for continuation in state.withLock({ Array($0.followers.values) }) {
            continuation.yield(message)
        }
    }
}
