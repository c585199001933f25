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
        let callback: virConnectDomainEventCallback = { _, domain, event, detail, opaque in
            guard let domain, let opaque else { return 0 }
            let handler = Unmanaged<EventHandler<LifecycleEvent>>.fromOpaque(opaque).takeUnretainedValue()
            let identity = DomainIdentity(domain)
            let kind = LifecycleEvent.Kind(event)
            handler.handler(
                LifecycleEvent(
                    domain: identity.name, uuid: identity.uuid, event: kind,
                    detail: LifecycleEvent.detailName(detail, of: kind), time: Date()
                )
            )
            return 0
        }
        return try register(
            "lifecycle", id: VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            callback: unsafeBitCast(callback, to: virConnectDomainEventGenericCallback.self),
            handler: EventHandler(handler)
        )
    }

    /// Registers `callback` for every domain's events of kind `id`, with `handler` as its opaque
    /// value: retained here, released by libvirt's free callback once the registration ends.
    func register<Event>(
        _ what: String, id: virDomainEventID, callback: virConnectDomainEventGenericCallback,
        handler: EventHandler<Event>
    ) throws(LibvirtError) -> EventSubscription {
        let box = Unmanaged.passRetained(handler).toOpaque()
        let release: virFreeCallback = { opaque in
            guard let opaque else { return }
            // Every handler type is a class; releasing needs no knowledge of which.
            Unmanaged<AnyObject>.fromOpaque(opaque).release()
        }
        let registration: Int32
        do {
            registration = try Call.status("subscribing to \(what) events") {
                virConnectDomainEventRegisterAny(pointer, nil, Int32(id.rawValue), callback, box, release)
            }
        } catch {
            // libvirt calls the free callback only for registrations that succeeded.
            Unmanaged<EventHandler<Event>>.fromOpaque(box).release()
            throw error
        }
        return EventSubscription(connection: self, callbackID: registration)
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
final class EventHandler<Event>: Sendable {
    let handler: @Sendable (Event) -> Void

    init(_ handler: @escaping @Sendable (Event) -> Void) {
        self.handler = handler
    }
}
