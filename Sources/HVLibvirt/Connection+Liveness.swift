import CLibvirt
import Foundation

extension Connection {
    /// Why libvirt closed a connection (`virConnectCloseReason`).
    public enum CloseReason: String, Sendable, Hashable, CaseIterable {
        /// An I/O error on the socket.
        case error
        /// The daemon closed the socket (libvirtd stopped or restarted).
        case endOfFile = "eof"
        /// The daemon stopped answering keepalive probes.
        case keepalive
        /// This process closed the connection.
        case client
        case unknown

        init(_ raw: Int32) {
            switch UInt32(bitPattern: raw) {
            case VIR_CONNECT_CLOSE_REASON_ERROR.rawValue: self = .error
            case VIR_CONNECT_CLOSE_REASON_EOF.rawValue: self = .endOfFile
            case VIR_CONNECT_CLOSE_REASON_KEEPALIVE.rawValue: self = .keepalive
            case VIR_CONNECT_CLOSE_REASON_CLIENT.rawValue: self = .client
            default: self = .unknown
            }
        }
    }

    /// Probes the daemon every `interval` seconds and closes the connection after `count`
    /// unanswered probes (`virConnectSetKeepAlive`); `interval` 0 turns probing off. Returns false
    /// when the daemon does not support keepalive. Connections from `init` probe every 5 s with a
    /// count of 3 already. Local drivers without a daemon (the test driver) throw a no-support error.
    @discardableResult
    public func setKeepAlive(interval: Int32, count: UInt32) throws(LibvirtError) -> Bool {
        try Call.status("setting the keepalive of \(uri)") { virConnectSetKeepAlive(pointer, interval, count) } == 0
    }

    /// Calls `handler` once when libvirt closes this connection because the daemon went away,
    /// stopped answering keepalive probes or the socket failed (`virConnectRegisterCloseCallback`).
    /// A connection has at most one such handler. The handler runs on the event loop's thread and
    /// must not call libvirt or cancel the subscription; it should signal whoever reconnects and
    /// subscribes again. Drivers without a daemon connection (the test driver) accept the handler
    /// and never call it.
    public func subscribeClose(_ handler: @escaping @Sendable (CloseReason) -> Void) throws(LibvirtError)
        -> CloseSubscription
    {
        let box = CloseHandler(handler)
        let callback: virConnectCloseFunc = { _, reason, opaque in
            guard let opaque else { return }
            Unmanaged<CloseHandler>.fromOpaque(opaque).takeUnretainedValue().handler(CloseReason(reason))
        }
        // No free callback: libvirt calls it on some paths and not on others (drivers without close
        // support never do), so the subscription keeps the handler alive itself until it has
        // unregistered. libvirt runs the handler and unregisters under one lock, so no call can be
        // in flight once unregistering returns.
        _ = try Call.status("subscribing to the close of \(uri)") {
            virConnectRegisterCloseCallback(pointer, callback, Unmanaged.passUnretained(box).toOpaque(), nil)
        }
        return CloseSubscription(connection: self, callback: callback, handler: box)
    }
}

/// A registered close handler. Cancelling it, or releasing the last reference, unregisters it; it
/// keeps its connection open until then.
public final class CloseSubscription: @unchecked Sendable {
    private let connection: Connection
    private let callback: virConnectCloseFunc
    /// Guards `handler`; nil once cancelled.
    private let lock = NSLock()
    private var handler: CloseHandler?

    init(connection: Connection, callback: virConnectCloseFunc, handler: CloseHandler) {
        self.connection = connection
        self.callback = callback
        self.handler = handler
    }

    deinit {
        try? cancel()
    }

    /// Unregisters the handler (`virConnectUnregisterCloseCallback`); later calls do nothing. After
    /// libvirt has called the handler it forgets the registration itself, and this only releases it.
    public func cancel() throws(LibvirtError) {
        guard let handler = lock.withLock({ () -> CloseHandler? in
            defer { self.handler = nil }
            return self.handler
        }) else { return }
        defer { withExtendedLifetime(handler) {} }
        do {
            _ = try Call.status("unsubscribing from the close of \(connection.uri)") {
                virConnectUnregisterCloseCallback(connection.pointer, callback)
            }
        } catch where error.isOperationInvalid {
            // libvirt already called the handler and dropped the registration.
        }
    }
}

/// The Swift handler a close registration's opaque pointer refers to.
final class CloseHandler: Sendable {
    let handler: @Sendable (Connection.CloseReason) -> Void

    init(_ handler: @escaping @Sendable (Connection.CloseReason) -> Void) {
        self.handler = handler
    }
}
