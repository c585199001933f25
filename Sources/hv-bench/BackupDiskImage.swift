import Foundation
import Glibc

/// The disk `hv-bench backup` reads: a qcow2 image of `size` bytes whose data extents, 64 MiB each
/// (the last may be shorter) and spread evenly over the disk on 4 MiB boundaries, hold random
/// bytes, which no compression shrinks; the rest was never written (unallocated). Written before
/// the guest boots, as a sparse raw file converted with `qemu-img convert -O qcow2`.
struct BackupDiskImage {
    static let extentSize: UInt64 = 64 << 20
    static let alignment: UInt64 = 4 << 20

    let size: UInt64
    let extents: [Range<UInt64>]

    init(size: UInt64, fillPercent: Int) {
        self.size = size
        let filled = size * UInt64(fillPercent) / 100 / Self.alignment * Self.alignment
        let count = (filled + Self.extentSize - 1) / Self.extentSize
        extents = (0..<count).map { index in
            let start = index * size / count / Self.alignment * Self.alignment
            return start..<(start + min(Self.extentSize, filled - index * Self.extentSize))
        }
    }

    /// The bytes of random data written.
    var dataBytes: UInt64 { extents.reduce(0) { $0 + UInt64($1.count) } }

    /// Writes the image to `path`, through the sparse raw file `raw`, removed again.
    func write(to path: String, raw: String, qemuImg: String) throws(BenchError) {
        defer { unlink(raw) }
        let file = open(raw, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard file >= 0, ftruncate(file, off_t(size)) == 0 else { throw Self.failure("create \(raw)") }
        defer { close(file) }
        let random = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        guard random >= 0 else { throw Self.failure("open /dev/urandom") }
        defer { close(random) }
        let piece = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: piece, alignment: 4096)
        defer { buffer.deallocate() }
        for extent in extents {
            var offset = extent.lowerBound
            while offset < extent.upperBound {
                let length = Int(min(UInt64(piece), extent.upperBound - offset))
                var filled = 0
                while filled < length {
                    let count = read(random, buffer.baseAddress! + filled, length - filled)
                    guard count > 0 else { throw Self.failure("read random bytes") }
                    filled += count
                }
                var written = 0
                while written < length {
                    let count = pwrite(file, buffer.baseAddress! + written, length - written, off_t(offset) + off_t(written))
                    guard count > 0 else { throw Self.failure("write \(raw)") }
                    written += count
                }
                offset += UInt64(length)
            }
        }
        try ToolRun.check([qemuImg, "convert", "-f", "raw", "-O", "qcow2", raw, path], "qemu-img convert of the filled disk")
    }

    /// The bytes the qcow2 image at `path` holds data for, from `qemu-img map`.
    static func allocatedBytes(of path: String, qemuImg: String) throws(BenchError) -> UInt64 {
        struct Extent: Decodable {
            var length: UInt64
            var data: Bool
        }
        let output = try ToolRun.check([qemuImg, "map", "--output=json", "-f", "qcow2", path], "qemu-img map")
        guard let map = try? JSONDecoder().decode([Extent].self, from: Data(output.utf8)) else {
            throw BenchError(.measurementFailed, "qemu-img map printed no map: \(output.prefix(500))")
        }
        return map.filter(\.data).reduce(0) { $0 + $1.length }
    }

    private static func failure(_ action: String) -> BenchError {
        BenchError(.measurementFailed, "cannot \(action): \(String(cString: strerror(errno)))")
    }
}

/// What the guest changes between the full and the incremental backup: `count` writes of 64 KiB
/// of random bytes, `percent` of the disk in all, each at a different 64 KiB block (one bit of
/// QEMU's dirty bitmap) drawn at random over the whole disk, the same blocks in every run (a fixed
/// seed). hv-bench types the list of blocks into the guest's shell, which then writes each one
/// with `dd`.
struct ScatteredWrites: Encodable, Sendable {
    static let blockSize = 65536
    /// Block numbers per line typed into the guest, well under a terminal line's 4095 bytes.
    static let blocksPerLine = 100

    var count: Int
    var seed: UInt64
    /// The indexes of the 64 KiB blocks written, in increasing order (not in the JSON report).
    var blocks: [Int]

    enum CodingKeys: String, CodingKey {
        case count, seed
    }

    init(diskSize: UInt64, percent: Double, seed: UInt64 = 0x6876_2D62_656E_6368) {
        let total = Int(diskSize / UInt64(Self.blockSize))
        count = min(total, max(1, Int((Double(diskSize) * percent / 100 / Double(Self.blockSize)).rounded())))
        self.seed = seed
        var generator = SplitMix64(seed: seed)
        var chosen = Set<Int>()
        while chosen.count < count { chosen.insert(generator.next(below: total)) }
        blocks = chosen.sorted()
    }

    var bytes: UInt64 { UInt64(count) * UInt64(Self.blockSize) }

    /// How many chunks of `chunkSize` bytes the writes touch: what an incremental backup must read.
    func chunksTouched(chunkSize: Int) -> Int {
        Set(blocks.map { $0 * Self.blockSize / chunkSize }).count
    }

    /// The guest's shell commands, in order: the block list written to a file, a line at a time,
    /// then one `dd` of random bytes per block and `sync`, which returns once the guest's kernel
    /// has written them to the virtual disk.
    var commands: [String] {
        let file = "/tmp/hv-bench-blocks"
        var lines = [": > \(file)"]
        var start = 0
        while start < blocks.count {
            let line = blocks[start..<min(start + Self.blocksPerLine, blocks.count)].map(String.init).joined(separator: " ")
            lines.append("printf '%s\\n' \(line) >> \(file)")
            start += Self.blocksPerLine
        }
        lines.append(
            "while read b; do dd if=/dev/urandom of=/dev/vda bs=\(Self.blockSize) count=1 seek=$b conv=notrunc 2>/dev/null; "
                + "done < \(file); sync"
        )
        return lines
    }
}
