import HVBackup
import HVNBD
import Testing

/// Extents from block status turned into one decision per chunk, with plain values.
@Suite struct ChunkPlanTests {
    static let chunk = 4 << 20
    static let mib: UInt64 = 1 << 20

    static func kinds(_ chunks: [PlannedChunk]) -> [ChunkKind] { chunks.map(\.kind) }

    @Test func aFullBackupReadsOnlyChunksWithData() {
        let allocation = [
            Extent(offset: 0, length: 4 * Self.mib, state: .data),
            Extent(offset: 4 * Self.mib, length: 4 * Self.mib, state: .hole),
            Extent(offset: 8 * Self.mib, length: 4 * Self.mib, state: .zero),
            Extent(offset: 12 * Self.mib, length: 4 * Self.mib, state: .data),
        ]
        let chunks = ChunkPlan.chunks(in: 0..<16 * Self.mib, chunkSize: Self.chunk, allocation: allocation, dirty: nil)
        #expect(Self.kinds(chunks) == [.data, .zero, .zero, .data])
        #expect(chunks.map(\.index) == [0, 1, 2, 3])
        #expect(chunks.map(\.offset) == [0, 4 * Self.mib, 8 * Self.mib, 12 * Self.mib])
        #expect(chunks.allSatisfy { $0.length == Self.chunk })
    }

    /// One byte of data anywhere in a chunk, even in an extent that starts in the chunk before or
    /// ends in the one after, makes the whole chunk data.
    @Test func extentsCrossingChunkBoundaries() {
        let allocation = [
            Extent(offset: 0, length: 3 * Self.mib, state: .hole),
            // From 3 MiB to 5 MiB: the end of chunk 0 and the start of chunk 1.
            Extent(offset: 3 * Self.mib, length: 2 * Self.mib, state: .data),
            Extent(offset: 5 * Self.mib, length: 6 * Self.mib, state: .zero),
            // The last byte of chunk 2 only.
            Extent(offset: 11 * Self.mib, length: Self.mib - 1, state: .zero),
            Extent(offset: 12 * Self.mib - 1, length: 1, state: .data),
            Extent(offset: 12 * Self.mib, length: 4 * Self.mib, state: .hole),
        ]
        let chunks = ChunkPlan.chunks(in: 0..<16 * Self.mib, chunkSize: Self.chunk, allocation: allocation, dirty: nil)
        #expect(Self.kinds(chunks) == [.data, .data, .data, .zero])
    }

    /// One extent spanning many chunks decides each of them.
    @Test func oneExtentOverManyChunks() {
        let allocation = [
            Extent(offset: 0, length: 2 * Self.mib, state: .zero),
            Extent(offset: 2 * Self.mib, length: 30 * Self.mib, state: .data),
        ]
        let chunks = ChunkPlan.chunks(in: 0..<32 * Self.mib, chunkSize: Self.chunk, allocation: allocation, dirty: nil)
        #expect(Self.kinds(chunks) == Array(repeating: .data, count: 8))
    }

    /// A disk whose size is no multiple of the chunk size ends with a short chunk.
    @Test func theLastChunkIsShort() {
        let size = 9 * Self.mib + 12 * 1024
        let allocation = [Extent(offset: 0, length: 8 * Self.mib, state: .hole), Extent(offset: 8 * Self.mib, length: size - 8 * Self.mib, state: .data)]
        let chunks = ChunkPlan.chunks(in: 0..<size, chunkSize: Self.chunk, allocation: allocation, dirty: nil)
        #expect(chunks.map(\.length) == [Self.chunk, Self.chunk, Int(Self.mib) + 12 * 1024])
        #expect(Self.kinds(chunks) == [.zero, .zero, .data])
        #expect(chunks.last?.offset == 8 * Self.mib)
    }

    /// A window in the middle of a disk: chunk numbers count from the start of the disk, and
    /// extents that start before the window count only for what is inside it.
    @Test func aWindowInTheMiddleOfADisk() {
        let allocation = [
            Extent(offset: 0, length: 10 * Self.mib, state: .data),
            Extent(offset: 10 * Self.mib, length: 100 * Self.mib, state: .hole),
        ]
        let chunks = ChunkPlan.chunks(in: 8 * Self.mib..<16 * Self.mib, chunkSize: Self.chunk, allocation: allocation, dirty: nil)
        #expect(chunks.map(\.index) == [2, 3])
        #expect(Self.kinds(chunks) == [.data, .zero])
    }

    /// Bytes no extent describes are read: a gap in what the server said is never skipped.
    @Test func bytesNoExtentDescribesAreRead() {
        let allocation = [
            Extent(offset: 0, length: 4 * Self.mib, state: .hole),
            Extent(offset: 5 * Self.mib, length: 3 * Self.mib, state: .hole),
            Extent(offset: 8 * Self.mib, length: 2 * Self.mib, state: .hole),
        ]
        let chunks = ChunkPlan.chunks(in: 0..<12 * Self.mib, chunkSize: Self.chunk, allocation: allocation, dirty: nil)
        #expect(Self.kinds(chunks) == [.zero, .data, .data])
    }

    /// An incremental backup: chunks with no dirty byte are unchanged whatever they hold; a dirty
    /// chunk that now reads as zeros is zero; a dirty chunk with data is read.
    @Test func incrementalChunksAreUnchangedUnlessDirty() {
        let allocation = [Extent(offset: 0, length: 8 * Self.mib, state: .data), Extent(offset: 8 * Self.mib, length: 8 * Self.mib, state: .hole)]
        let dirty = [
            Extent(offset: 0, length: 4 * Self.mib, state: .clean),
            Extent(offset: 4 * Self.mib, length: 64 << 10, state: .dirty),
            Extent(offset: 4 * Self.mib + (64 << 10), length: 8 * Self.mib - (64 << 10), state: .clean),
            Extent(offset: 12 * Self.mib, length: 64 << 10, state: .dirty),
            Extent(offset: 12 * Self.mib + (64 << 10), length: 4 * Self.mib - (64 << 10), state: .clean),
        ]
        let chunks = ChunkPlan.chunks(in: 0..<16 * Self.mib, chunkSize: Self.chunk, allocation: allocation, dirty: dirty)
        #expect(Self.kinds(chunks) == [.unchanged, .data, .unchanged, .zero])
    }

    /// The bitmap's granularity (64 KiB here) decides: a dirty granule that ends exactly on a chunk
    /// boundary leaves the next chunk unchanged; one that starts a byte before the boundary makes
    /// both dirty.
    @Test func dirtyGranulesAtChunkBoundaries() {
        let granule: UInt64 = 64 << 10
        let allocation = [Extent(offset: 0, length: 16 * Self.mib, state: .data)]
        let endingOnTheBoundary = [
            Extent(offset: 0, length: 4 * Self.mib - granule, state: .clean),
            Extent(offset: 4 * Self.mib - granule, length: granule, state: .dirty),
            Extent(offset: 4 * Self.mib, length: 12 * Self.mib, state: .clean),
        ]
        #expect(Self.kinds(ChunkPlan.chunks(in: 0..<16 * Self.mib, chunkSize: Self.chunk, allocation: allocation, dirty: endingOnTheBoundary))
            == [.data, .unchanged, .unchanged, .unchanged])
        let crossingTheBoundary = [
            Extent(offset: 0, length: 8 * Self.mib - granule / 2, state: .clean),
            Extent(offset: 8 * Self.mib - granule / 2, length: granule, state: .dirty),
            Extent(offset: 8 * Self.mib + granule / 2, length: 8 * Self.mib - granule / 2, state: .clean),
        ]
        #expect(Self.kinds(ChunkPlan.chunks(in: 0..<16 * Self.mib, chunkSize: Self.chunk, allocation: allocation, dirty: crossingTheBoundary))
            == [.unchanged, .data, .data, .unchanged])
    }

    /// A bitmap that says nothing of a range counts it as dirty.
    @Test func aBitmapGapCountsAsDirty() {
        let allocation = [Extent(offset: 0, length: 8 * Self.mib, state: .data)]
        let dirty = [Extent(offset: 0, length: 4 * Self.mib, state: .clean)]
        #expect(Self.kinds(ChunkPlan.chunks(in: 0..<8 * Self.mib, chunkSize: Self.chunk, allocation: allocation, dirty: dirty)) == [.unchanged, .data])
    }

    /// NBD's flags: zero (2) reads as zeros, with hole (1) when unallocated; a hole without the zero
    /// flag must be read. Bit 0 of a dirty bitmap's flags is dirty.
    @Test(arguments: [
        (UInt32(0), Extent.State.data), (1, .data), (2, .zero), (3, .hole),
    ])
    func allocationFlags(flags: UInt32, state: Extent.State) {
        #expect(Extent(offset: 0, length: 1, flags: flags, context: .allocation).state == state)
    }

    @Test func bitmapFlags() {
        #expect(Extent(offset: 0, length: 1, flags: 0, context: .dirtyBitmap("b")).state == .clean)
        #expect(Extent(offset: 0, length: 1, flags: 1, context: .dirtyBitmap("b")).state == .dirty)
        #expect(MetaContext.dirtyBitmap("changed-vda").name == "qemu:dirty-bitmap:changed-vda")
        #expect(MetaContext.allocation.name == "base:allocation")
    }
}
