import HVProtocol

/// The framer against a plain split of the same stream on NUL: the input's first byte sets the
/// size limit (1...64, so limits are met often), its second how the rest is cut into chunks.
///
/// Whatever the chunks, the framer must give exactly the terminated messages before the first
/// one over the limit, each without its NUL and within the limit; throw `tooLarge` iff a message
/// (terminated or not) exceeds the limit; and otherwise account for every byte: the messages,
/// their terminators and the unterminated tail `finish` reports add up to the input.
enum FramerTarget {
    static func run(_ input: [UInt8]) {
        guard input.count >= 2 else { return }
        let limit = Int(input[0]) % 64 + 1
        let stream = Array(input.dropFirst(2))
        let segments = stream.split(separator: MessageFramer.terminator, omittingEmptySubsequences: false).map(Array.init)
        // The last segment is the unterminated tail, empty when the stream ends with a NUL.
        let terminated = segments.dropLast()
        let firstOversized = segments.firstIndex { $0.count > limit }

        var framer = MessageFramer(maximumMessageSize: limit)
        var messages: [[UInt8]] = []
        var refused: FrameError?
        var position = 0
        var chunk = 0
        feeding: while position < stream.count {
            let size = min(stream.count - position, chunkSize(pattern: input[1], index: chunk))
            framer.append(stream[position..<position + size])
            position += size
            chunk += 1
            do {
                while let message = try framer.next() { messages.append(message) }
            } catch {
                refused = error
                break feeding
            }
        }

        for message in messages {
            check(!message.contains(MessageFramer.terminator), "a message contains its terminator")
            check(message.count <= limit, "a message of \(message.count) bytes passed the limit of \(limit)")
        }
        if let firstOversized {
            check(refused?.code == .tooLarge, "a message of \(segments[firstOversized].count) bytes was not refused (limit \(limit))")
            check(refused?.limit == limit, "tooLarge names the limit \(refused?.limit ?? -1), not \(limit)")
            check(messages == Array(terminated.prefix(firstOversized)), "the messages before the oversized one differ")
            return
        }
        check(refused == nil, "refused a stream without an oversized message: \(String(describing: refused))")
        check(messages == Array(terminated), "the messages differ from the stream split on NUL")
        let tail = segments.last ?? []
        let delivered = messages.reduce(0) { $0 + $1.count + 1 }
        check(framer.hasPartialMessage == !tail.isEmpty, "hasPartialMessage is wrong for a tail of \(tail.count) bytes")
        do {
            try framer.finish()
            check(tail.isEmpty, "finish accepted an unterminated tail of \(tail.count) bytes")
            check(delivered == stream.count, "delivered \(delivered) of \(stream.count) bytes")
        } catch {
            check(error.code == .unterminated, "finish threw \(error.code)")
            check(delivered + tail.count == stream.count, "delivered \(delivered) + tail \(tail.count) of \(stream.count) bytes")
        }
    }

    /// Chunk `index`'s size: 1 to 8 bytes, or a large piece, as the bits of `pattern` say.
    private static func chunkSize(pattern: UInt8, index: Int) -> Int {
        let bits = Int(pattern >> UInt8(index % 6)) & 7
        return bits == 7 ? 1 << 12 : bits + 1
    }
}
