import Foundation
import Glibc
import HVImages
import HVProtocol
import HVSystem
import HVTestSupport
import Synchronization
import Testing

/// The library's copy keeps holes: a sparse image stays small on disk, all-zero blocks the source
/// did write are left out too, and every byte still reads back and hashes as in the source.
extension IsoLibraryTests {
    /// A file of `length` bytes holding `pieces` at their offsets and nothing (holes) elsewhere.
    private func sparseFile(_ name: String, length: UInt64, _ pieces: [(UInt64, [UInt8])]) throws -> String {
        let path = sources.file(name)
        let file = try Descriptor.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        for (offset, bytes) in pieces { try file.writeAll(bytes, at: offset) }
        try file.truncate(to: length)
        return path
    }

    private func allocated(_ path: String) throws -> UInt64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw SetupError("cannot stat \(path)") }
        return UInt64(info.st_blocks) * 512
    }

    /// What the library was asked to make room for, in order.
    private final class Claims: Sendable {
        let asked = Mutex<[UInt64]>([])
        func note(_ bytes: UInt64) { asked.withLock { $0.append(bytes) } }
        var all: [UInt64] { asked.withLock { $0 } }
    }

    /// A 2 GiB file with 1 MiB and a little more of data: the copy takes about as much as the
    /// data, not 2 GiB, and hashes to what sha256sum says of the source.
    @Test func aSparse2GiBFileStaysSmallOnDisk() throws {
        let length: UInt64 = 2 << 30
        let path = try sparseFile(
            "sparse.iso", length: length,
            [(4096, randomBytes(4096)), (1 << 30, randomBytes(1 << 20)), (length - 100, randomBytes(16))]
        )
        let expected = try sha256sum(path)
        let source = try openForReading(path)
        lseek(source.raw, 12345, SEEK_SET)
        let claims = Claims()
        let entry = try library.add(
            from: source, name: "sparse.iso", expectedSHA256: expected, maximumBytes: 4 << 30, addedBy: 1000, group: "lab"
        ) { bytes throws(ImageError) in claims.note(bytes) }

        let stored = directory.file("sparse.iso")
        let onDisk = try allocated(stored)
        print("2 GiB sparse source: \(try allocated(path)) bytes allocated; its copy: \(onDisk) bytes allocated")
        #expect(onDisk < 4 << 20, "the copy occupies \(onDisk) bytes")
        #expect(entry.allocated == onDisk)
        #expect(entry.size == length)
        #expect(entry.record?.sha256 == expected && entry.record?.group == "lab")
        #expect(try FileManager.default.attributesOfItem(atPath: stored)[.size] as? UInt64 == length)
        #expect(try run(["/usr/bin/cmp", path, stored]).status == 0, "every byte, holes included, reads as in the source")
        #expect(lseek(source.raw, 0, SEEK_CUR) == 12345, "the sender's file offset is where it was")

        // Asked before the copy for the source's data extents, then for what the copy occupies.
        let asked = claims.all
        #expect(asked.count == 2)
        #expect((asked.first ?? 0) >= (1 << 20) + 4096 && (asked.first ?? .max) <= 4 << 20, "\(asked)")
        #expect(asked.last == onDisk)
        #expect(try library.storedImages().map(\.allocated) == [onDisk])
    }

    /// Zeros the source wrote out in full (no holes to ask about) are left out of the copy too,
    /// and the bytes read back exactly, whatever the alignment of the data.
    struct Layout: Sendable, CustomStringConvertible {
        var length: UInt64
        /// Where random data is, (offset, count); zeros everywhere else.
        var pieces: [(offset: UInt64, count: Int)]
        var description: String { "\(length) bytes, data at \(pieces.map(\.offset))" }
    }

    static let layouts: [Layout] = [
        Layout(length: 3 << 20, pieces: [(0, 1), ((1 << 20) + 4095, 2), ((3 << 20) - 1, 1)]),
        Layout(length: 1_000_003, pieces: [(500_000, 10_000)]),
        Layout(length: 4096 * 5 + 17, pieces: [(4096 * 5, 17)]),
        Layout(length: 8 << 20, pieces: []),
        Layout(length: 7, pieces: [(0, 7)]),
    ]

    @Test(arguments: layouts)
    func writtenZerosBecomeHoles(_ layout: Layout) throws {
        let (length, pieces) = (layout.length, layout.pieces)
        var bytes = [UInt8](repeating: 0, count: Int(length))
        for (offset, count) in pieces {
            for index in 0..<count { bytes[Int(offset) + index] = UInt8.random(in: 1...255) }
        }
        let path = try sources.write("dense.iso", bytes)
        let expected = try sha256sum(path)
        #expect(try allocated(path) >= length / 4096 * 4096, "the source wrote every block")
        let entry = try library.add(from: try openForReading(path), name: "dense.iso", expectedSHA256: expected, maximumBytes: 1 << 30, addedBy: 0)

        let stored = directory.file("dense.iso")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: stored))) == bytes)
        let blocks = Set(pieces.flatMap { offset, count in (offset / 4096)...((offset + UInt64(count) - 1) / 4096) }).count
        #expect(entry.allocated <= UInt64(blocks + 2) * 4096, "\(entry.allocated) bytes for \(blocks) blocks of data")
    }

    /// Holes shorter than, as long as and longer than the copy's 1 MiB buffer, at the start, in
    /// the middle and at the end, read back and hash as zeros.
    @Test(arguments: [4096, (1 << 20) - 4096, 1 << 20, (1 << 20) + 4096, 3_500_000])
    func holesOfEverySizeReadAsZeros(hole: Int) throws {
        var pieces: [(UInt64, [UInt8])] = []
        var offset = UInt64(hole)
        while offset < 12 << 20 {
            pieces.append((offset, randomBytes(4096)))
            offset += UInt64(4096 + hole)
        }
        let length = offset + UInt64(hole)
        let path = try sparseFile("holes-\(hole).iso", length: length, pieces)
        let expected = try sha256sum(path)
        let entry = try library.add(
            from: try openForReading(path), name: "holes.iso", expectedSHA256: expected, maximumBytes: 1 << 30, addedBy: 0
        )
        #expect(entry.record?.sha256 == expected)
        #expect(try run(["/usr/bin/cmp", path, directory.file("holes.iso")]).status == 0)
        #expect(entry.allocated <= UInt64(pieces.count + 8) * 4096, "\(entry.allocated) bytes for \(pieces.count) blocks of data")
        #expect(try library.verify("holes.iso").status == .intact)
    }

    /// A file that is all holes is never read, yet a descriptor not open for reading is refused.
    @Test func aWriteOnlyDescriptorIsRefusedEvenForHoles() throws {
        let path = try sparseFile("holes-only.iso", length: 8 << 20, [])
        let writeOnly = try Descriptor.open(path, O_WRONLY)
        let error = #expect(throws: ImageError.self) {
            try library.add(from: writeOnly, name: "holes-only.iso", expectedSHA256: try sha256sum(path), maximumBytes: 1 << 30, addedBy: 0)
        }
        #expect(error?.code == .invalidParameter && error?.reason.contains("not open for reading") == true)
        #expect(try directory.names() == [])
    }

    /// A refusal by the totals before the copy or before keeping leaves nothing behind.
    @Test(arguments: [1, 2])
    func aRefusedClaimKeepsNothing(refusedCall: Int) throws {
        let path = try sparseFile("refused.iso", length: 64 << 20, [(1 << 20, randomBytes(8192))])
        let calls = Claims()
        let error = #expect(throws: ImageError.self) {
            try library.add(
                from: try openForReading(path), name: "refused.iso", expectedSHA256: try sha256sum(path), maximumBytes: 1 << 30, addedBy: 0
            ) { bytes throws(ImageError) in
                calls.note(bytes)
                if calls.all.count == refusedCall {
                    throw ImageError(quota: HVError(.quotaExceeded, "over", fix: "remove images", details: ["limit": "iso.max_total", "field": "file"]))
                }
            }
        }
        #expect(error?.code == .quotaExceeded)
        #expect(error?.hvError.code == .quotaExceeded)
        #expect(error?.hvError.details == ["limit": "iso.max_total", "field": "file"])
        #expect(calls.all.count == refusedCall)
        #expect(try directory.names() == [], "no image, no record, no temporary file")
    }
}
