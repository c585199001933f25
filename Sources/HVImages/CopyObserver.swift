/// What a long file operation (hashing, copying an image) tells its caller while it runs, and how
/// it learns that the caller gave up: it checks between chunks and stops with `cancelled`.
public struct CopyObserver: Sendable {
    /// Bytes done so far, and the total when known; called after every chunk.
    public var progress: @Sendable (_ done: UInt64, _ total: UInt64?) -> Void
    public var isCancelled: @Sendable () -> Bool

    public init(progress: @escaping @Sendable (UInt64, UInt64?) -> Void, isCancelled: @escaping @Sendable () -> Bool) {
        self.progress = progress
        self.isCancelled = isCancelled
    }

    /// Reports nowhere and never stops.
    public static let none = CopyObserver(progress: { _, _ in }, isCancelled: { false })
}
