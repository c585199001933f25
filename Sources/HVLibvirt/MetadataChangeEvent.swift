import CLibvirt
import Foundation

/// A change of a domain's metadata (`VIR_DOMAIN_EVENT_ID_METADATA_CHANGE`), copied out of
/// libvirt's callback: `virDomainSetMetadata` on the domain, by this process or any other client.
public struct MetadataChangeEvent: Sendable, Hashable {
    /// What changed: the `<metadata>` element of a namespace, or the title or description.
    public enum Kind: String, Sendable, Hashable {
        case element, title, description, unknown

        init(_ raw: Int32) {
            switch UInt32(bitPattern: raw) {
            case VIR_DOMAIN_METADATA_ELEMENT.rawValue: self = .element
            case VIR_DOMAIN_METADATA_TITLE.rawValue: self = .title
            case VIR_DOMAIN_METADATA_DESCRIPTION.rawValue: self = .description
            default: self = .unknown
            }
        }
    }

    /// The domain's name.
    public var domain: String
    public var uuid: String
    public var kind: Kind
    /// The namespace of the element that changed; nil for the title and description.
    public var namespace: String?

    public init(domain: String, uuid: String, kind: Kind, namespace: String?) {
        self.domain = domain
        self.uuid = uuid
        self.kind = kind
        self.namespace = namespace
    }
}

extension Connection {
    /// Calls `handler` with every metadata change of every domain on this connection
    /// (`virConnectDomainEventRegisterAny` with `VIR_DOMAIN_EVENT_ID_METADATA_CHANGE`) until the
    /// returned subscription is cancelled or released. The rules of `subscribeLifecycle` apply:
    /// one such subscription per connection, delivered on the event loop's thread, and the handler
    /// must return quickly without calling libvirt.
    public func subscribeMetadataChange(_ handler: @escaping @Sendable (MetadataChangeEvent) -> Void)
        throws(LibvirtError) -> EventSubscription
    {
        let callback: virConnectDomainEventMetadataChangeCallback = { _, domain, kind, namespace, opaque in
            guard let domain, let opaque else { return }
            let handler = Unmanaged<EventHandler<MetadataChangeEvent>>.fromOpaque(opaque).takeUnretainedValue()
            let identity = DomainIdentity(domain)
            handler.handler(
                MetadataChangeEvent(
                    domain: identity.name, uuid: identity.uuid, kind: MetadataChangeEvent.Kind(kind),
                    namespace: namespace.map { String(cString: $0) }
                )
            )
        }
        return try register(
            "metadata change", id: VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
            callback: unsafeBitCast(callback, to: virConnectDomainEventGenericCallback.self),
            handler: EventHandler(handler)
        )
    }
}
