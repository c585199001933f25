import Glibc
import HVSystem
import Testing

/// The allocator controls reach glibc's allocator: they are not the no-ops kept for other C
/// libraries.
struct AllocatorTests {
    /// 64 MiB freed in small blocks stays with the process until it is handed back.
    @Test func freedMemoryIsHandedBack() throws {
        #if canImport(Glibc)
        var blocks: [UnsafeMutableRawPointer] = []
        for _ in 0..<(1 << 20) {
            let block = try #require(malloc(64))
            memset(block, 1, 64)
            blocks.append(block)
        }
        for block in blocks { free(block) }
        #expect(Allocator.returnFreedMemory(), "malloc_trim handed nothing back after 64 MiB were freed")
        #endif
    }
}
