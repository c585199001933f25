import Foundation

/// How the log is cut into segments, how long sealed segments are kept, and how floods of refused
/// requests are coalesced. Set by the administrator through `hv-broker`'s `--audit-*` options.
/// The time the log reads for segment ages and coalescing windows. Configurations compare equal
/// whatever their clock.
public struct AuditClock: Sendable, Hashable {
    public let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) { self.now = now }

    public static let system = AuditClock { Date() }

    public static func == (_: AuditClock, _: AuditClock) -> Bool { true }
    public func hash(into _: inout Hasher) {}
}

public struct AuditConfiguration: Sendable, Hashable {
    public enum Compression: String, Sendable, Hashable, CaseIterable {
        /// Sealed segments are compressed with gzip (`zcat` reads them).
        case gzip
        /// Sealed segments stay plain JSON Lines.
        case none
    }

    /// The active segment is sealed before a record would take it past this many bytes.
    public var segmentSize: Int
    /// The active segment is sealed when a record arrives after its first record is this old.
    public var segmentAge: Duration
    /// Sealed segments kept; older ones are removed, and their removal recorded. 0 keeps them all.
    public var keepSegments: Int
    public var compression: Compression
    /// Refusals of one caller within this window past the first `coalescingBurst` are counted,
    /// and written as one record when the window ends.
    public var coalescingWindow: Duration
    public var coalescingBurst: Int
    /// Records no caller waits on (an admitted read's: the read is answered without waiting for
    /// it) are written at once but flushed to the disk with the next record a caller waits on, or
    /// once the oldest of them has waited this long. They survive the broker being killed the
    /// moment they are written; only the host losing power or crashing within this delay loses
    /// them. A change's record and its outcome, refusals and invalid messages are on disk before
    /// their caller hears anything.
    public var unwaitedFlushDelay: Duration
    /// Records no caller waits on are not even written at once: the writer waits this long after
    /// the first of them for others to join it, so that a stream of reads costs one wake-up, one
    /// `write` and one head update per group rather than per record. A record a caller waits on,
    /// `settle` (which verification uses) or stopping ends the wait at once. Never longer than
    /// `unwaitedFlushDelay`.
    public var unwaitedWriteDelay: Duration = .milliseconds(5)
    /// What "now" is for segment ages and coalescing windows: the system's clock, or a test's.
    public var clock: AuditClock = .system

    public static let defaultSegmentSize = 64 << 20
    public static let defaultSegmentAge = Duration.seconds(7 * 86_400)
    /// The smallest segment size accepted: room for many records of the largest size.
    public static let minimumSegmentSize = 64 << 10

    public init(
        segmentSize: Int = defaultSegmentSize, segmentAge: Duration = defaultSegmentAge, keepSegments: Int = 0,
        compression: Compression = .gzip, coalescingWindow: Duration = .seconds(10), coalescingBurst: Int = 5,
        unwaitedFlushDelay: Duration = .seconds(1)
    ) {
        self.segmentSize = segmentSize
        self.segmentAge = segmentAge
        self.keepSegments = keepSegments
        self.compression = compression
        self.coalescingWindow = coalescingWindow
        self.coalescingBurst = coalescingBurst
        self.unwaitedFlushDelay = unwaitedFlushDelay
    }

    /// Checks the values an administrator gave.
    public func validate() throws(AuditError) {
        guard segmentSize >= Self.minimumSegmentSize else {
            throw AuditError(
                .invalidConfiguration, "the audit segment size \(segmentSize) bytes is below the minimum of 64 KiB",
                fix: "give --audit-segment-size 64KiB or more (the default is 64MiB)"
            )
        }
        guard segmentAge >= .seconds(60) else {
            throw AuditError(
                .invalidConfiguration, "the audit segment age must be at least one minute",
                fix: "give --audit-segment-age as e.g. 1h, 1d or 7d"
            )
        }
        guard keepSegments >= 0 else {
            throw AuditError(.invalidConfiguration, "--audit-keep-segments cannot be negative", fix: "give 0 to keep every segment")
        }
        guard coalescingWindow > .zero, coalescingBurst >= 1 else {
            throw AuditError(.invalidConfiguration, "the coalescing window must be positive and its burst at least 1")
        }
        guard unwaitedWriteDelay >= .zero, unwaitedWriteDelay <= .seconds(1) else {
            throw AuditError(.invalidConfiguration, "the write delay of reads' audit records must be between 0 and 1 second")
        }
        guard unwaitedFlushDelay >= .zero, unwaitedFlushDelay <= .seconds(60) else {
            throw AuditError(
                .invalidConfiguration, "the flush delay of reads' audit records must be between 0 and 60 seconds",
                fix: "give --audit-read-flush-delay from 0s to 60s (the default is 1s)"
            )
        }
    }

    /// Reads an age: a whole number with the unit `s`, `m`, `h` or `d` (`90m`, `7d`); a bare
    /// number is seconds. Nil when `text` is not one.
    public static func age(parsing text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = Int64(digits) else { return nil }
        let factor: Int64
        switch trimmed.dropFirst(digits.count) {
        case "", "s": factor = 1
        case "m": factor = 60
        case "h": factor = 3_600
        case "d": factor = 86_400
        default: return nil
        }
        guard value <= Int64.max / factor / 1_000 else { return nil }
        return .seconds(value * factor)
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
