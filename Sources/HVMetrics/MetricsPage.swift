import Synchronization

/// The latest `/metrics` text, shared between the monitor (which replaces it after each collection)
/// and the HTTP server (which only reads it, so a scrape never waits for a collection).
public final class MetricsPage: Sendable {
    private let text = Mutex<[UInt8]>([])

    /// An empty page, served until the first collection finishes.
    public init() {}

    /// Replaces the page with a new exposition.
    public func update(_ exposition: [UInt8]) {
        text.withLock { $0 = exposition }
    }

    /// The current exposition.
    public var current: [UInt8] {
        text.withLock { $0 }
    }
}
