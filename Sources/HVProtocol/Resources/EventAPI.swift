/// A machine lifecycle event, as `hv events` prints it.
public struct VmEvent: Codable, Sendable, Hashable {
    /// RFC 3339 time the broker received it.
    public var time: String
    public var vm: String
    /// `defined`, `undefined`, `started`, `suspended`, `resumed`, `stopped`, `shutdown`, `crashed`, …
    public var event: String
    /// Why: `booted`, `destroyed`, `crashed`, `shutdown`, `from-snapshot`, …
    public var detail: String

    public init(time: String, vm: String, event: String, detail: String) {
        self.time = time
        self.vm = vm
        self.event = event
        self.detail = detail
    }
}

/// Each reply of a `Follow` call with `more`: one event, or (first) `subscribed: true`.
public struct EventReply: Codable, Sendable, Hashable {
    public var subscribed: Bool?
    public var event: VmEvent?
    public init(subscribed: Bool? = nil, event: VmEvent? = nil) {
        self.subscribed = subscribed
        self.event = event
    }
}
