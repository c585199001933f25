import Glibc
import HVSystem

/// Files with holes: what a file holds, and copies that keep its holes.
///
/// A 2 GiB file whose data is a few blocks takes a few blocks on disk, and the library keeps it
/// so: a copy writes only the blocks that hold something other than zeros and then gets its
/// length from ftruncate, so every block left out reads back as zeros, as it did in the source.
/// That holds whatever the source's file system says about its holes; asking it (SEEK_DATA,
/// SEEK_HOLE, `FileRegions`) only saves reading them, and tells in advance how much a copy takes.
enum Holes {
    /// What a copy of `file` will take, as far as the file tells before it is copied: the sum of
    /// its data extents below `size`, or `size` when its file system can't tell.
    static func dataBytes(of file: Descriptor, size: UInt64) -> UInt64 {
        var regions = FileRegions(file)
        defer { regions.restoreOffset() }
        var total: UInt64 = 0
        var offset: UInt64 = 0
        while offset < size {
            guard let region = regions.region(at: offset) else {
                // The end of the file (it shrank), or the file system can't tell: the rest is data.
                return regions.tells ? total : total + (size - offset)
            }
            let end = min(region.end, size)
            if !region.isHole { total += end - offset }
            offset = end
        }
        return total
    }

    /// The bytes a file occupies on disk: its 512-byte blocks (`st_blocks`).
    static func allocatedBytes(_ info: stat) -> UInt64 {
        UInt64(max(0, info.st_blocks)) * 512
    }
}

/// What the file system says lies at an offset of a file: a hole or data, and where it ends,
/// asked (SEEK_DATA, SEEK_HOLE) once per region. Asking moves the file offset, which the
/// descriptor may share with whoever handed it over: `restoreOffset` puts it back. A file that
/// changes meanwhile only makes an answer stale: a hole that has since been written is still
/// taken for the zeros it held.
struct FileRegions {
    let file: Descriptor
    /// False once the file system could not tell; from then on nothing is known.
    private(set) var tells: Bool
    private let savedOffset: UInt64?
    private var last: (start: UInt64, end: UInt64, isHole: Bool)?

    init(_ file: Descriptor) {
        self.file = file
        savedOffset = try? file.seek(to: 0, SEEK_CUR)
        tells = savedOffset != nil
    }

    /// The region `offset` is in, to its end; nil at or past the end of the file, and when the
    /// file system can't tell.
    mutating func region(at offset: UInt64) -> (isHole: Bool, end: UInt64)? {
        if let last, last.start <= offset, offset < last.end { return (last.isHole, last.end) }
        guard tells else { return nil }
        do {
            guard let data = try file.nextData(from: offset) else {
                // No data follows: a hole to the end of the file, if the end is further on.
                let size = UInt64(max(0, try file.status().st_size))
                return size > offset ? remember(offset, size, isHole: true) : nil
            }
            if data > offset { return remember(offset, data, isHole: true) }
            let hole = try file.nextHole(from: offset)
            if hole > offset { return remember(offset, hole, isHole: false) }
        } catch {}
        tells = false
        return nil
    }

    /// Puts the file offset back where it was before the first question.
    func restoreOffset() {
        if let savedOffset { _ = try? file.seek(to: savedOffset) }
    }

    private mutating func remember(_ start: UInt64, _ end: UInt64, isHole: Bool) -> (isHole: Bool, end: UInt64) {
        last = (start, end, isHole)
        return (isHole, end)
    }
}

/// Writes a file chunk by chunk at the chunks' offsets, leaving out every block that is all zeros,
/// and gives it its length at the end. The file must be empty when the writer starts.
struct SparseWriter {
    let file: Descriptor
    /// The blocks tested for zeros, aligned to file offsets: the file's block size (`st_blksize`)
    /// when it is a power of two from 512 bytes to 1 MiB, else 4 KiB.
    let blockSize: Int

    init(_ file: Descriptor) throws(SystemError) {
        let size = Int(try file.status().st_blksize)
        self.file = file
        blockSize = (512...(1 << 20)).contains(size) && size & (size - 1) == 0 ? size : 4096
    }

    /// Writes the blocks of `chunk` that hold anything but zeros, each run of them in one pwrite.
    func write(_ chunk: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) {
        var start = 0
        while start < chunk.count {
            while start < chunk.count, Self.isZero(chunk, start..<blockEnd(start, chunk.count, offset)) {
                start = blockEnd(start, chunk.count, offset)
            }
            var end = start
            while end < chunk.count, !Self.isZero(chunk, end..<blockEnd(end, chunk.count, offset)) {
                end = blockEnd(end, chunk.count, offset)
            }
            if end > start {
                try file.writeAll(UnsafeRawBufferPointer(rebasing: chunk[start..<end]), at: offset + UInt64(start))
            }
            start = end
        }
    }

    /// Sets the file's length to `length`; what was never written reads as zeros.
    func finish(length: UInt64) throws(SystemError) {
        try file.truncate(to: length)
    }

    /// Where the block holding `index` of a chunk at file offset `offset` ends, within the chunk.
    private func blockEnd(_ index: Int, _ count: Int, _ offset: UInt64) -> Int {
        let into = Int((offset + UInt64(index)) % UInt64(blockSize))
        return min(count, index + blockSize - into)
    }

    /// Whether every byte in `range` is zero: the first is, and each equals the one after it.
    private static func isZero(_ chunk: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        guard let base = chunk.baseAddress, !range.isEmpty else { return true }
        let start = base + range.lowerBound
        guard start.load(as: UInt8.self) == 0 else { return false }
        return range.count == 1 || memcmp(start, start + 1, range.count - 1) == 0
    }
}
