import Glibc
import HVSystem

/// Files with holes: what a file holds, and copies that keep its holes.
///
/// A 2 GiB file whose data is a few blocks takes a few blocks on disk, and the library keeps it
/// so: a copy writes only the blocks that hold something other than zeros and then gets its
/// length from ftruncate, so every block left out reads back as zeros, as it did in the source.
/// That holds whatever the source's file system says about its holes; asking it (SEEK_DATA,
/// SEEK_HOLE) only tells in advance how much a copy will take.
enum Holes {
    /// What a copy of `file` will take, as far as the file tells before it is copied: the sum of
    /// its data extents below `size` (SEEK_DATA, SEEK_HOLE), or `size` when its file system can't
    /// tell. The file offset is put back where it was, since the descriptor may be shared with
    /// whoever handed it over.
    static func dataBytes(of file: Descriptor, size: UInt64) -> UInt64 {
        guard let saved = try? file.seek(to: 0, SEEK_CUR) else { return size }
        defer { _ = try? file.seek(to: saved) }
        var total: UInt64 = 0
        var offset: UInt64 = 0
        while offset < size {
            let data: UInt64?
            do {
                data = try file.nextData(from: offset)
            } catch {
                return size  // the file system can't tell
            }
            guard let start = data, start < size else { break }
            guard let hole = try? file.nextHole(from: start), hole > start else {
                // The file changed under the question, or the answer makes no sense: the rest is data.
                return total + (size - start)
            }
            let end = min(hole, size)
            total += end - start
            offset = end
        }
        return total
    }

    /// The bytes a file occupies on disk: its 512-byte blocks (`st_blocks`).
    static func allocatedBytes(_ info: stat) -> UInt64 {
        UInt64(max(0, info.st_blocks)) * 512
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
