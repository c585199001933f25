import CLibvirt
import Foundation

/// A domain lifecycle event (`VIR_DOMAIN_EVENT_ID_LIFECYCLE`), copied out of libvirt's callback.
public struct LifecycleEvent: Sendable, Hashable {
    /// What happened (`virDomainEventType`).
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case defined, undefined, started, suspended, resumed, stopped, shutdown, pmsuspended, crashed
        /// An event type newer than this code.
        case unknown

        init(_ raw: Int32) {
            self = Self.inLibvirtOrder.indices.contains(Int(raw)) ? Self.inLibvirtOrder[Int(raw)] : .unknown
        }

        /// The cases in the order of libvirt's enum, VIR_DOMAIN_EVENT_DEFINED (0) to
        /// VIR_DOMAIN_EVENT_CRASHED (8).
        static let inLibvirtOrder: [Kind] = [
            .defined, .undefined, .started, .suspended, .resumed, .stopped, .shutdown, .pmsuspended, .crashed,
        ]
    }

    /// The domain's name.
    public var domain: String
    public var uuid: String
    public var event: Kind
    /// Why, as libvirt's detail in words: for `stopped`, one of `shutdown`, `destroyed`, `crashed`,
    /// `migrated`, `saved`, `failed`, `from-snapshot`; `unknown` for details newer than this code.
    public var detail: String
    /// When the broker received the event (libvirt does not stamp lifecycle events).
    public var time: Date

    public init(domain: String, uuid: String, event: Kind, detail: String, time: Date) {
        self.domain = domain
        self.uuid = uuid
        self.event = event
        self.detail = detail
        self.time = time
    }

    /// The words for libvirt's numeric detail of an event.
    public static func detailName(_ detail: Int32, of event: Kind) -> String {
        let names = detailNames[event] ?? []
        return names.indices.contains(Int(detail)) ? names[Int(detail)] : "unknown"
    }

    /// Each event's details in the order of libvirt's `virDomainEvent<Type>DetailType` enums.
    static let detailNames: [Kind: [String]] = [
        .defined: ["added", "updated", "renamed", "from-snapshot"],
        .undefined: ["removed", "renamed"],
        .started: ["booted", "migrated", "restored", "from-snapshot", "wakeup"],
        .suspended: [
            "paused", "migrated", "ioerror", "watchdog", "restored", "from-snapshot", "api-error", "post-copy",
            "post-copy-failed",
        ],
        .resumed: ["unpaused", "migrated", "from-snapshot", "post-copy", "post-copy-failed"],
        .stopped: ["shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from-snapshot"],
        .shutdown: ["finished", "guest", "host"],
        .pmsuspended: ["memory", "disk"],
        .crashed: ["panicked", "crashloaded"],
    ]
}
