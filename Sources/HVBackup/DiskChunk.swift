/// One chunk of a disk as the reader hands it over.
public struct DiskChunk {
    /// What the chunk holds.
    public enum Content {
        /// Every byte reads as zero.
        case zero
        /// Unchanged since the checkpoint the backup is incremental to.
        case unchanged
        /// The chunk's bytes, valid only during the call they are handed to.
        case data(UnsafeRawBufferPointer)
    }

    /// The disk's target in the machine (`vda`).
    public var disk: String
    /// The disk's size in bytes.
    public var diskSize: UInt64
    /// The chunk's number: its offset divided by the chunk size.
    public var index: Int
    public var offset: UInt64
    /// The chunk size, or less for a disk's last chunk.
    public var length: Int
    public var content: Content
}

/// What a reader tells its caller while it runs, and how it learns that the caller gave up: it
/// checks between chunks, ends the backup and throws `BackupError` with code `cancelled`.
public struct BackupObserver: Sendable {
    /// Called after each chunk.
    public var progress: @Sendable (BackupProgress) -> Void
    public var isCancelled: @Sendable () -> Bool

    public init(progress: @escaping @Sendable (BackupProgress) -> Void, isCancelled: @escaping @Sendable () -> Bool) {
        self.progress = progress
        self.isCancelled = isCancelled
    }

    /// Reports nowhere and never stops.
    public static let none = BackupObserver(progress: { _ in }, isCancelled: { false })
}

/// How far a reader got.
public struct BackupProgress: Sendable, Hashable {
    /// The disk being read.
    public var disk: String
    /// Bytes of that disk planned so far (read, zero or unchanged), and its size.
    public var done: UInt64
    public var size: UInt64
    /// Bytes read over NBD so far, all disks together.
    public var bytesRead: UInt64
}

/// What a finished read did.
public struct BackupSummary: Sendable, Hashable {
    public struct Disk: Sendable, Hashable {
        public var name: String
        public var size: UInt64
        public var dataChunks = 0
        public var zeroChunks = 0
        public var unchangedChunks = 0
        /// Bytes read over NBD.
        public var bytesRead: UInt64 = 0

        public init(name: String, size: UInt64) {
            self.name = name
            self.size = size
        }
    }

    public var disks: [Disk]
    /// The checkpoint created with a running machine's backup, the start of the next incremental one.
    public var checkpoint: String?
    /// For a running machine whose filesystems were to be frozen: whether the guest agent froze
    /// them (nil when not asked or the machine was stopped).
    public var froze: Bool?

    /// Bytes read over NBD, all disks together.
    public var bytesRead: UInt64 { disks.reduce(0) { $0 + $1.bytesRead } }
}
