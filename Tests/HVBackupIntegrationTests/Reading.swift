import HVBackup
import Synchronization
import Testing

/// A disk as a backup read it: its bytes (zeros where a chunk was zero or unchanged), and what
/// each chunk was.
struct ReadDisk {
    var image: [UInt8]
    var kinds: [ChunkKind] = []
    var dataIndexes: [Int] { kinds.indices.filter { kinds[$0] == .data } }
}

/// The chunk size these tests read with: their disks' layouts are written in 4 MiB steps.
let testChunkSize = 4 << 20

/// Reads `source` in chunks of `chunkSize` and puts each disk together from its chunks.
func readDisks(
    _ source: DiskSource, chunkSize: Int = testChunkSize, observer: BackupObserver = .none, each: (DiskChunk) throws -> Void = { _ in }
) throws -> (disks: [String: ReadDisk], summary: BackupSummary) {
    var disks: [String: ReadDisk] = [:]
    let summary = try source.read(chunkSize: chunkSize, observer: observer) { chunk in
        var disk = disks[chunk.disk] ?? ReadDisk(image: [UInt8](repeating: 0, count: Int(chunk.diskSize)))
        #expect(chunk.index == disk.kinds.count, "chunks come in order")
        switch chunk.content {
        case .zero: disk.kinds.append(.zero)
        case .unchanged: disk.kinds.append(.unchanged)
        case .data(let bytes):
            #expect(bytes.count == chunk.length)
            disk.image.withUnsafeMutableBytes {
                UnsafeMutableRawBufferPointer(rebasing: $0[Int(chunk.offset)..<Int(chunk.offset) + bytes.count]).copyMemory(from: bytes)
            }
            disk.kinds.append(.data)
        }
        disks[chunk.disk] = disk
        try each(chunk)
    }
    return (disks, summary)
}

/// `text` repeated to `length` bytes.
func pattern(_ text: String, length: Int) -> [UInt8] {
    let unit = Array(text.utf8)
    return (0..<length).map { unit[$0 % unit.count] }
}

/// A switch another closure turns on.
final class Switch: Sendable {
    private let value = Atomic<Bool>(false)
    var isOn: Bool { value.load(ordering: .relaxed) }
    func turnOn() { value.store(true, ordering: .relaxed) }
}
