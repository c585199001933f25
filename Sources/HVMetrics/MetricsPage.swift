import NIOCore
import Synchronization

/// The latest `/metrics` text, shared between the monitor (which replaces it after each collection)
/// and the HTTP server (which only reads it, so a scrape never waits for a collection).
///
/// Kept as one buffer that every scrape sends as it is: a scrape copies nothing, however large the page.
public final class MetricsPage: Sendable {
    private let text = Mutex(ByteBuffer())

    /// An empty page, served until the first collection finishes.
    public init() {}

    /// Replaces the page with a new exposition.
    public func update(_ exposition: [UInt8]) {
        let buffer = ByteBuffer(bytes: exposition)
        text.withLock { $0 = buffer }
    }

    /// The page as it is sent: the same storage for every scrape until the next update.
    public var body: ByteBuffer {
        text.withLock { $0 }
    }

    /// The current exposition's bytes (a copy).
    public var current: [UInt8] {
        Array(body.readableBytesView)
    }
}
