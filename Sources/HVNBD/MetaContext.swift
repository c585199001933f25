import CLibnbd

/// NBD metadata contexts: what block status reports about ranges of an export.
public enum MetaContext: Sendable, Hashable, CustomStringConvertible {
    /// `base:allocation`: which ranges hold data, which read as zeros, which are holes.
    case allocation
    /// `qemu:dirty-bitmap:NAME`: which ranges changed since the bitmap started tracking.
    case dirtyBitmap(String)

    /// The context's name on the wire.
    public var name: String {
        switch self {
        case .allocation: "base:allocation"
        case .dirtyBitmap(let bitmap): "qemu:dirty-bitmap:\(bitmap)"
        }
    }

    public var description: String { name }

    var missingFix: String {
        switch self {
        case .allocation: "use a server that reports allocation, such as qemu-nbd or QEMU's own NBD server"
        case .dirtyBitmap: "the bitmap exists only in an incremental backup of a checkpoint the disk still has; "
            + "take a full backup instead"
        }
    }
}

/// A range of an export and what one metadata context says of it.
public struct Extent: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        /// Allocation: the range must be read.
        case data
        /// Allocation: allocated, and reads as zeros.
        case zero
        /// Allocation: not allocated, and reads as zeros.
        case hole
        /// Dirty bitmap: changed since the bitmap started.
        case dirty
        /// Dirty bitmap: unchanged since the bitmap started.
        case clean
    }

    public var offset: UInt64
    public var length: UInt64
    public var state: State

    public init(offset: UInt64, length: UInt64, state: State) {
        self.offset = offset
        self.length = length
        self.state = state
    }

    /// The first byte after the range.
    public var end: UInt64 { offset + length }

    /// Reads NBD's status flags for `context`. For allocation, NBD_STATE_ZERO (2) means the range
    /// reads as zeros, with NBD_STATE_HOLE (1) also set when it is not allocated; a hole that does
    /// not promise zeros must still be read. For a dirty bitmap, bit 0 set means dirty.
    public init(offset: UInt64, length: UInt64, flags: UInt32, context: MetaContext) {
        let (hole, zero) = (UInt32(LIBNBD_STATE_HOLE), UInt32(LIBNBD_STATE_ZERO))
        let state: State = switch context {
        case .allocation:
            flags & zero == 0 ? .data : (flags & hole == 0 ? .zero : .hole)
        case .dirtyBitmap:
            flags & 1 == 0 ? .clean : .dirty
        }
        self.init(offset: offset, length: length, state: state)
    }
}
