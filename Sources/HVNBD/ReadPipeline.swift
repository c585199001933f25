import CLibnbd

/// Reads sent ahead on one connection and retired in the order they were sent: the caller hands
/// out the oldest read's bytes while later ones are still being answered, so the server always has
/// requests to work on instead of waiting between batches (`nbd_aio_pread`,
/// `nbd_aio_command_completed`, `nbd_poll`).
///
/// The caller bounds what is in flight: it sends a read only into a buffer it no longer needs,
/// and must `drain` before it frees any buffer a read was sent into. One thread uses a pipeline.
public final class ReadPipeline {
    public let client: NBDClient
    /// Requests sent and not retired, oldest first, each with the number of the read it is part of.
    private var requests: [(cookie: Int64, read: Int, count: Int, offset: UInt64)] = []
    private var head = 0
    private var readsSent = 0
    private var readsRetired = 0
    private let requestLimit: Int

    public init(client: NBDClient) {
        self.client = client
        requestLimit = client.maximumRequestSize()
    }

    /// Reads sent and not yet retired.
    public var readsInFlight: Int { readsSent - readsRetired }

    /// Sends a read of `buffer.count` bytes at `offset` into `buffer`, in requests of at most what
    /// the server accepts, without waiting for any answer. When it can't be sent (out of the
    /// export's bounds, a dead connection), every read is given up: the pipeline drains, then throws.
    public func send(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(NBDError) {
        guard let base = buffer.baseAddress, buffer.count > 0 else {
            throw NBDError(.invalidArgument, "a read needs a buffer of at least one byte")
        }
        let read = readsSent
        var start = 0
        while start < buffer.count {
            let count = min(requestLimit, buffer.count - start)
            let at = offset + UInt64(start)
            do {
                let cookie = try NBDCall.status(.readFailed, "send a read of \(count) bytes at \(at) to \(client.peer)") {
                    nbd_aio_pread(client.handle, base + start, count, at, nbd_completion_callback(callback: nil, user_data: nil, free: nil), 0)
                }
                requests.append((cookie, read, count, at))
            } catch {
                drain()
                throw error
            }
            start += count
        }
        readsSent += 1
    }

    /// Waits until the oldest read not yet retired has every byte in its buffer; throws when one
    /// of its requests failed (the caller then drains and gives up).
    public func retireOldest() throws(NBDError) {
        guard readsRetired < readsSent else { throw NBDError(.invalidArgument, "no read is in flight") }
        let read = readsRetired
        while head < requests.count, requests[head].read == read {
            let request = requests[head]
            let done = try NBDCall.status(.readFailed, "read \(request.count) bytes at \(request.offset) of \(client.peer)") {
                nbd_aio_command_completed(client.handle, UInt64(request.cookie))
            }
            if done == 1 {
                head += 1
            } else {
                try NBDCall.status(.readFailed, "wait for reads from \(client.peer)") { nbd_poll(client.handle, -1) }
            }
        }
        readsRetired += 1
        if head == requests.count {
            requests.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    /// Waits until no read sent can write into its buffer any more: each completed or failed, or
    /// the connection is dead (then libnbd reads nothing more into any buffer).
    public func drain() {
        defer {
            requests.removeAll()
            head = 0
            readsRetired = readsSent
        }
        for request in requests[head...] {
            while nbd_aio_command_completed(client.handle, UInt64(request.cookie)) == 0 {
                if nbd_poll(client.handle, -1) < 0 { return }
            }
        }
    }
}
