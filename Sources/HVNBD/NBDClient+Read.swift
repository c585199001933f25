import CLibnbd

extension NBDClient {
    /// Reads `buffer.count` bytes at `offset` into `buffer`, in requests of at most `requestSize`
    /// bytes (and at most what the server accepts), with up to `inFlight` requests sent before the
    /// first answer is awaited. Returns once every byte is in `buffer`, or throws; in both cases
    /// no request is left writing into `buffer`.
    public func read(
        into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, requestSize: Int = 4 << 20, inFlight: Int = 1
    ) throws(NBDError) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        guard requestSize > 0, inFlight > 0 else {
            throw NBDError(.invalidArgument, "reads need a positive request size and number in flight")
        }
        let step = min(requestSize, maximumRequestSize())
        let ranges = stride(from: 0, to: buffer.count, by: step).map { $0..<min($0 + step, buffer.count) }
        if inFlight == 1 || ranges.count == 1 {
            for range in ranges {
                try NBDCall.status(.readFailed, "read \(range.count) bytes at \(offset + UInt64(range.lowerBound)) of \(peer)") {
                    nbd_pread(handle, base + range.lowerBound, range.count, offset + UInt64(range.lowerBound), 0)
                }
            }
            return
        }
        try pipelined(ranges, base: base, offset: offset, inFlight: inFlight)
    }

    /// Sends up to `inFlight` reads ahead and retires them in order (`nbd_aio_pread`,
    /// `nbd_aio_command_completed`, `nbd_poll`).
    private func pipelined(_ ranges: [Range<Int>], base: UnsafeMutableRawPointer, offset: UInt64, inFlight: Int) throws(NBDError) {
        var next = 0
        var pending: [(cookie: Int64, range: Range<Int>)] = []
        pending.reserveCapacity(inFlight)
        var failure: NBDError?
        while failure == nil, next < ranges.count || !pending.isEmpty {
            while failure == nil, next < ranges.count, pending.count < inFlight {
                let range = ranges[next]
                do {
                    let cookie = try NBDCall.status(.readFailed, "send a read of \(range.count) bytes at \(offset + UInt64(range.lowerBound)) to \(peer)") {
                        nbd_aio_pread(handle, base + range.lowerBound, range.count, offset + UInt64(range.lowerBound), nbd_completion_callback(callback: nil, user_data: nil, free: nil), 0)
                    }
                    pending.append((cookie, range))
                    next += 1
                } catch {
                    failure = error
                }
            }
            guard failure == nil, let oldest = pending.first else { break }
            do {
                if try retire(oldest.cookie, range: oldest.range, offset: offset) {
                    pending.removeFirst()
                } else {
                    try NBDCall.status(.readFailed, "wait for reads from \(peer)") { nbd_poll(handle, -1) }
                }
            } catch {
                failure = error
                pending.removeFirst()
            }
        }
        if let failure {
            drain(pending.map(\.cookie))
            throw failure
        }
    }

    /// True once the read `cookie` completed; throws when it failed.
    private func retire(_ cookie: Int64, range: Range<Int>, offset: UInt64) throws(NBDError) -> Bool {
        try NBDCall.status(.readFailed, "read \(range.count) bytes at \(offset + UInt64(range.lowerBound)) of \(peer)") {
            nbd_aio_command_completed(handle, UInt64(cookie))
        } == 1
    }

    /// Waits until none of `cookies` can write into the caller's buffer any more: each completed or
    /// failed, or the connection is dead (then libnbd reads nothing more into any buffer).
    private func drain(_ cookies: [Int64]) {
        for cookie in cookies {
            while nbd_aio_command_completed(handle, UInt64(cookie)) == 0 {
                if nbd_poll(handle, -1) < 0 { return }
            }
        }
    }
}
