import CLibvirt
import Foundation

extension Connection {
    /// Calls `handler` with every lifecycle event of every domain on this connection
    /// (`virConnectDomainEventRegisterAny` with `VIR_DOMAIN_EVENT_ID_LIFECYCLE`) until the returned
    /// subscription is cancelled or released.
    ///
    /// A connection holds one lifecycle subscription at a time: libvirt refuses a second
    /// registration of the same callback with an invalid-argument error ("event callback already
    /// tracked"), so one subscriber fans events out to its listeners.
    ///
    /// Events arrive only while `LibvirtEventLoop.shared` runs, on its thread: the handler must
    /// return quickly and must not call libvirt (hand the event to a queue or stream instead).
    public func subscribeLifecycle(_ handler: @escaping @Sendable (LifecycleEvent) -> Void) throws(LibvirtError)
        -> EventSubscription
    {
        let box = Unmanaged.passRetained(LifecycleHandler(handler)).toOpaque()
        let callback: virConnectDomainEventCallback = { _, domain, event, detail, opaque in
            guard let domain, let opaque else { return 0 }
            let handler = Unmanaged<LifecycleHandler>.fromOpaque(opaque).takeUnretainedValue()
            handler.deliver(domain: domain, event: event, detail: detail)
            return 0
        }
        let release: virFreeCallback = { opaque in
            guard let opaque else { return }
            Unmanaged<LifecycleHandler>.fromOpaque(opaque).release()
        }
        let id: Int32
        do {
            id = try Call.status("subscribing to lifecycle events") {
                virConnectDomainEventRegisterAny(
                    pointer, nil, Int32(VIR_DOMAIN_EVENT_ID_LIFECYCLE.rawValue),
                    unsafeBitCast(callback, to: virConnectDomainEventGenericCallback.self), box, release
                )
            }
        } catch {
            // libvirt calls the free callback only for registrations that succeeded.
            Unmanaged<LifecycleHandler>.fromOpaque(box).release()
            throw error
        }
        return EventSubscription(connection: self, callbackID: id)
    }
}

/// A registered domain event callback. Cancelling it, or releasing the last reference, stops the
/// events; it keeps its connection open until then.
public final class EventSubscription: @unchecked Sendable {
    private let connection: Connection
    /// Guards `callbackID`; nil once cancelled.
    private let lock = NSLock()
    private var callbackID: Int32?

    init(connection: Connection, callbackID: Int32) {
        self.connection = connection
        self.callbackID = callbackID
    }

    deinit {
        try? cancel()
    }

    /// Whether events still arrive.
    public var isActive: Bool {
        lock.withLock { callbackID != nil }
    }

    /// Stops the events (`virConnectDomainEventDeregisterAny`); later calls do nothing. An event
    /// being delivered while this runs may still reach the handler once.
    public func cancel() throws(LibvirtError) {
        guard let id = lock.withLock({ () -> Int32? in
            defer { callbackID = nil }
            return callbackID
        }) else { return }
        _ = try Call.status("unsubscribing from domain events") {
            virConnectDomainEventDeregisterAny(connection.pointer, id)
        }
    }
}

/// The Swift handler a registration's opaque pointer refers to; libvirt's free callback releases it.
final class LifecycleHandler: Sendable {
    let handler: @Sendable (LifecycleEvent) -> Void

    init(_ handler: @escaping @Sendable (LifecycleEvent) -> Void) {
        self.handler = handler
    }

    /// Copies what the event says out of libvirt's objects and calls the handler. Name and UUID
    /// are read from the domain object libvirt passes, without a call to the daemon.
    func deliver(domain: virDomainPtr, event: Int32, detail: Int32) {
        let name = virDomainGetName(domain).map { String(cString: $0) } ?? ""
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        let uuid = virDomainGetUUIDString(domain, &buffer) == 0
            ? String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        let kind = LifecycleEvent.Kind(event)
        handler(
            LifecycleEvent(
                domain: name, uuid: uuid, event: kind, detail: LifecycleEvent.detailName(detail, of: kind), time: Date()
            )
        )
    }
}
