import Foundation
import HVSystem

/// Reads one segment's lines in order, a fixed-size chunk at a time, so memory stays the same
/// however long the segment is; a gzip segment is expanded as it is read. Starts at the beginning
/// or at an offset of the plain text (a checkpoint's).
final class SegmentReader {
    struct Line {
        var bytes: ArraySlice<UInt8>
        /// 1-based line number within the segment.
        var number: Int
        /// The offset just past this line's newline, in the plain text.
        var end: Int
        /// False for a last line with no newline: a write that was cut short.
        var terminated: Bool
    }

    static let chunkSize = 64 * 1024
    /// Longer than any record the broker writes (every field it keeps is bounded).
    static let maximumLineLength = 64 * 1024

    let path: String
    private let descriptor: Descriptor
    private let expander: GzipStream?
    private var buffer: [UInt8] = []
    private var start = 0
    private var endOfFile = false
    /// The plain-text offset of `buffer[start]`.
    private(set) var offset: Int
    /// The number of the last line returned.
    private(set) var lineNumber: Int
    /// Bytes read from the file (compressed bytes for a gzip segment).
    private(set) var bytesRead = 0

    /// Opens `path`; `offset` and `line` say where a checkpoint left off (offset 0, line 0: the start).
    convenience init(path: String, from offset: Int = 0, line: Int = 0) throws(AuditError) {
        let descriptor = try AuditError.catching(.unreadable) { try Descriptor.open(path, O_RDONLY) }
        try self.init(descriptor: descriptor, path: path, from: offset, line: line)
    }

    /// Reads from an open descriptor, positioned anywhere; it moves the descriptor's file offset.
    init(descriptor: Descriptor, path: String, from offset: Int = 0, line: Int = 0) throws(AuditError) {
        self.path = path
        self.descriptor = descriptor
        self.offset = offset
        lineNumber = line
        expander = AuditFiles.isCompressed(path) ? try GzipStream(.expand) : nil
        if expander == nil {
            try AuditError.catching(.unreadable) {
                try systemCall("seek in \(path)") { lseek(descriptor.raw, off_t(offset), SEEK_SET) }
            }
        } else {
            try skip(offset)
        }
    }

    /// The next line, or nil at the end of the file.
    func next() throws(AuditError) -> Line? {
        while true {
            let available = buffer.count - start
            let newline = buffer.withUnsafeBytes { raw -> Int? in
                guard available > 0, let found = memchr(raw.baseAddress! + start, 0x0A, available) else { return nil }
                return raw.baseAddress!.distance(to: UnsafeRawPointer(found))
            }
            if let newline {
                return take(newline - start, terminated: true)
            }
            guard available <= Self.maximumLineLength else {
                throw AuditError(
                    .unreadable, "\(name) line \(lineNumber + 1) is longer than any audit record (over \(Self.maximumLineLength) bytes)"
                )
            }
            if endOfFile {
                return available > 0 ? take(available, terminated: false) : nil
            }
            buffer.removeSubrange(..<start)
            start = 0
            try fill()
        }
    }

    var name: String { (path as NSString).lastPathComponent }

    private func take(_ length: Int, terminated: Bool) -> Line {
        let bytes = buffer[start..<(start + length)]
        let consumed = length + (terminated ? 1 : 0)
        start += consumed
        offset += consumed
        lineNumber += 1
        return Line(bytes: bytes, number: lineNumber, end: offset, terminated: terminated)
    }

    /// Appends the next chunk of plain text to the buffer.
    private func fill() throws(AuditError) {
        var chunk = [UInt8](repeating: 0, count: Self.chunkSize)
        let count = try AuditError.catching(.unreadable) { try descriptor.read(into: &chunk) }
        bytesRead += count
        guard let expander else {
            if count == 0 { endOfFile = true }
            buffer += chunk[..<count]
            return
        }
        if count == 0 {
            guard expander.ended else {
                throw AuditError(.unreadable, "\(name) ends in the middle of its compressed data: the file was truncated")
            }
            endOfFile = true
            return
        }
        do throws(AuditError) {
            try expander.expand(chunk[..<count]) { buffer += $0 }
        } catch {
            throw AuditError(.unreadable, "\(name) cannot be expanded: \(error.reason)")
        }
    }

    /// Expands and drops the first `count` bytes of a gzip segment.
    private func skip(_ count: Int) throws(AuditError) {
        var left = count
        while left > 0 {
            if buffer.count - start == 0 {
                guard !endOfFile else {
                    throw AuditError(.unreadable, "\(name) is shorter than the \(count) bytes already verified: the file was truncated")
                }
                buffer.removeAll(keepingCapacity: true)
                start = 0
                try fill()
                continue
            }
            let dropped = min(left, buffer.count - start)
            start += dropped
            left -= dropped
        }
    }
}
