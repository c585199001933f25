import CLibnbd

/// What block status said of a range, for each metadata context the client negotiated.
public struct BlockStatus: Sendable, Hashable {
    /// The extents of each context, in order, starting at the range's offset; a server may describe
    /// less than the range asked for, and the contexts need not end at the same place.
    public var extents: [MetaContext: [Extent]]

    public init(extents: [MetaContext: [Extent]]) {
        self.extents = extents
    }

    /// The first byte none of the contexts describes; the range's offset when one described nothing.
    public func describedEnd(from offset: UInt64) -> UInt64 {
        extents.values.map { $0.last?.end ?? offset }.min() ?? offset
    }
}

extension NBDClient {
    /// The largest range one block status request asks about: NBD lengths are 32-bit.
    static let maximumStatusLength: UInt64 = 1 << 30

    /// Asks what every negotiated metadata context says of `length` bytes at `offset`
    /// (`nbd_block_status`). The server may answer for less than the whole range (see
    /// `BlockStatus.describedEnd`); extents are cut at the range's end.
    public func blockStatus(offset: UInt64, length: UInt64) throws(NBDError) -> BlockStatus {
        guard length > 0 else {
            throw NBDError(.invalidArgument, "a block status request must cover at least one byte")
        }
        let collector = ExtentCollector(contexts: metaContexts, end: offset + length)
        let request = min(length, Self.maximumStatusLength)
        // The collector lives across the call; libnbd calls `callback` only during it, on this
        // thread, and keeps no pointer to it afterwards (`free` is nil).
        try withExtendedLifetime(collector) { () throws(NBDError) in
            let callback = nbd_extent_callback(
                callback: { userData, context, offset, entries, count, _ in
                    guard let userData, let context, let entries else { return 0 }
                    Unmanaged<ExtentCollector>.fromOpaque(userData).takeUnretainedValue()
                        .add(context: String(cString: context), offset: offset, pairs: UnsafeBufferPointer(start: entries, count: count))
                    return 0
                },
                user_data: Unmanaged.passUnretained(collector).toOpaque(),
                free: nil
            )
            try NBDCall.status(.blockStatusFailed, "read the block status of \(request) bytes at \(offset) of \(peer)") {
                nbd_block_status(handle, request, offset, callback, 0)
            }
        }
        return BlockStatus(extents: collector.extents)
    }
}

/// Gathers the extents libnbd hands to the block status callback.
private final class ExtentCollector {
    private let contexts: [String: MetaContext]
    private let end: UInt64
    private(set) var extents: [MetaContext: [Extent]] = [:]

    init(contexts: [MetaContext], end: UInt64) {
        self.contexts = Dictionary(contexts.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.end = end
        for context in contexts { extents[context] = [] }
    }

    /// `pairs` holds (length, flags) pairs of 32-bit values, the first extent starting at `offset`.
    func add(context name: String, offset: UInt64, pairs: UnsafeBufferPointer<UInt32>) {
        guard let context = contexts[name] else { return }
        var start = offset
        var index = 0
        while index + 1 < pairs.count, start < end {
            let length = min(UInt64(pairs[index]), end - start)
            if length > 0 {
                extents[context, default: []].append(Extent(offset: start, length: length, flags: pairs[index + 1], context: context))
            }
            start += length
            index += 2
        }
    }
}
