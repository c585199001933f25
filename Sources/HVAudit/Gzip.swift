import CZlib

/// One gzip stream, compressing or expanding, over zlib. The `z_stream` lives at a fixed address
/// (zlib keeps a pointer back to it) and is ended exactly once, in `deinit`.
final class GzipStream {
    enum Direction { case compress, expand }

    private let stream: UnsafeMutablePointer<z_stream>
    private let direction: Direction
    /// Set once the trailer of the compressed data has been read.
    private(set) var ended = false

    init(_ direction: Direction) throws(AuditError) {
        self.direction = direction
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = direction == .compress ? hv_gzip_deflate_init(stream, 6) : hv_gzip_inflate_init(stream)
        guard status == Z_OK else {
            stream.deallocate()
            throw AuditError(.unwritable, "zlib could not start a gzip stream (status \(status))")
        }
    }

    deinit {
        if direction == .compress { deflateEnd(stream) } else { inflateEnd(stream) }
        stream.deallocate()
    }

    /// Compresses `input` (all of it) and hands each piece of output to `output`; `finish` writes
    /// the trailer.
    func compress(_ input: ArraySlice<UInt8>, finish: Bool, output: ([UInt8]) throws(AuditError) -> Void) throws(AuditError) {
        try run(input, flush: finish ? Z_FINISH : Z_NO_FLUSH, output: output)
    }

    /// Expands `input` (all of it) into `output`. Throws when the data is not gzip or is damaged;
    /// bytes after the end of the stream are damage too.
    func expand(_ input: ArraySlice<UInt8>, output: ([UInt8]) throws(AuditError) -> Void) throws(AuditError) {
        guard !ended || input.isEmpty else {
            throw AuditError(.unreadable, "there are bytes after the end of the compressed data")
        }
        try run(input, flush: Z_NO_FLUSH, output: output)
    }

    private func run(_ input: ArraySlice<UInt8>, flush: Int32, output: ([UInt8]) throws(AuditError) -> Void) throws(AuditError) {
        var input = Array(input)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var failure: AuditError?
        input.withUnsafeMutableBufferPointer { source in
            stream.pointee.next_in = source.baseAddress
            stream.pointee.avail_in = uInt(source.count)
            repeat {
                var status: Int32 = Z_OK
                let produced = chunk.withUnsafeMutableBufferPointer { target -> Int in
                    stream.pointee.next_out = target.baseAddress
                    stream.pointee.avail_out = uInt(target.count)
                    status = direction == .compress ? deflate(stream, flush) : inflate(stream, Z_NO_FLUSH)
                    return target.count - Int(stream.pointee.avail_out)
                }
                if status == Z_STREAM_END { ended = true }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    failure = AuditError(.unreadable, "the compressed data is damaged (zlib status \(status))")
                    return
                }
                if produced > 0 {
                    do throws(AuditError) {
                        try output(Array(chunk[..<produced]))
                    } catch {
                        failure = error
                        return
                    }
                }
                if ended, stream.pointee.avail_in > 0 {
                    failure = AuditError(.unreadable, "there are bytes after the end of the compressed data")
                    return
                }
                // More to do while input remains, while the output filled up, or until the trailer is out.
                let more = stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0 || (flush == Z_FINISH && !ended)
                if !more || ended { break }
            } while true
            stream.pointee.next_in = nil
        }
        if let failure { throw failure }
    }
}
