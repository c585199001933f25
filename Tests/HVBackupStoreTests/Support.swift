import Foundation
import Glibc
@testable import HVBackupStore
import HVSystem
import HVTestSupport
import Synchronization

/// A private directory for a repository and its neighbours (key files, restored disks), removed
/// with everything in it when released.
final class Scratch {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory("hv-backup")
    }

    deinit { directory.remove() }

    /// Where the repository goes.
    var repository: String { directory.path + "/repository" }

    func file(_ name: String) -> String { directory.file(name) }

    /// A new repository of `chunkSize`-byte chunks, encrypted with `key` when one is given.
    func create(chunkSize: Int = 4096, key: KeyFile? = nil) throws -> Repository {
        try Repository.create(at: repository, chunkSize: chunkSize, key: key)
    }
}

/// Some bytes that differ from test to test.
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < count {
            let word = generator.next() as UInt64
            withUnsafeBytes(of: word) { wordBytes in
                for byte in wordBytes where offset < count {
                    buffer[offset] = byte
                    offset += 1
                }
            }
        }
    }
    return bytes
}

/// The bytes of chunk `index` of `image`, cut into chunks of `chunkSize`.
func chunk(_ image: [UInt8], _ index: Int, size chunkSize: Int) -> ArraySlice<UInt8> {
    let start = index * chunkSize
    return image[start..<min(start + chunkSize, image.count)]
}

/// Backs up `disks` (target → image) as the caller of the library would: a chunk that is all
/// zeros is declared zero without handing it in; with a parent, a chunk equal to the parent's
/// image (`previous`) is kept from the parent, and what the writer can't keep is handed in.
@discardableResult
func backUp(
    _ repository: Repository, machine: String = "web1", disks: [(String, [UInt8])], parent: String? = nil,
    previous: [String: [UInt8]] = [:], now: Date = Date(), spec: String = "name: web1\n", checkpoint: String? = nil
) throws -> BackupManifest {
    let writer = try BackupWriter.begin(in: repository, machine: machine, parent: parent, now: now)
    for (target, image) in disks {
        try writeDisk(writer, target: target, image: image, previous: previous[target], chunkSize: repository.chunkSize)
    }
    return try writer.commit(spec: spec, domainXML: "<domain><name>\(machine)</name></domain>", frozen: true, checkpoint: checkpoint)
}

/// Hands one disk to `writer`, as `backUp` does.
func writeDisk(_ writer: BackupWriter, target: String, image: [UInt8], previous: [UInt8]?, chunkSize: Int) throws {
    try writer.beginDisk(target: target, size: UInt64(image.count), format: "qcow2")
    let count = (image.count + chunkSize - 1) / chunkSize
    for index in 0..<count {
        let bytes = chunk(image, index, size: chunkSize)
        if let previous, index * chunkSize < previous.count, chunk(previous, index, size: chunkSize) == bytes {
            for reread in try writer.keepFromParent(chunks: index..<index + 1) {
                try writer.write(chunkIndex: reread, data: Array(chunk(image, reread, size: chunkSize)))
            }
        } else if bytes.allSatisfy({ $0 == 0 }) {
            try writer.zero(chunkIndex: index)
        } else {
            try writer.write(chunkIndex: index, data: Array(bytes))
        }
    }
    try writer.finishDisk()
}

/// The disk `target` of backup `id` restored into a new file, and the file's bytes.
func restore(_ repository: Repository, _ id: String, disk target: String, into path: String) throws -> [UInt8] {
    let file = try Descriptor.open(path, O_RDWR | O_CREAT | O_TRUNC, mode: 0o600)
    try BackupReader(repository: repository, backup: id).restore(disk: target, to: file)
    return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Every regular file below `path`, relative to it, sorted.
func files(below path: String) -> [String] {
    let enumerator = FileManager.default.enumerator(atPath: path)
    var found: [String] = []
    while let name = enumerator?.nextObject() as? String {
        var info = stat()
        if lstat(path + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG { found.append(name) }
    }
    return found.sorted()
}

/// The chunk files of a repository (not those set aside as bad), relative to `chunks/`.
func chunkFiles(_ repository: Repository) -> [String] {
    files(below: repository.path + "/chunks").filter { !$0.hasSuffix(".bad") }
}

/// The path of the chunk file of `digest`.
func chunkPath(_ repository: Repository, _ digest: ChunkDigest) -> String {
    repository.path + "/chunks/" + ChunkStore.path(digest)
}

/// The digests of disk `target` of backup `id`, in order.
func digests(_ repository: Repository, _ id: String, disk target: String) throws -> [ChunkDigest] {
    let manifest = try repository.manifest(id)
    return try repository.index(id, disk: manifest.disk(target)!).digests
}

/// Sets the modification time of every chunk back by `seconds`, as if last touched that long ago.
func age(_ repository: Repository, by seconds: Int = 3600) {
    for name in files(below: repository.path + "/chunks") {
        var times = [timespec(tv_sec: time(nil) - seconds, tv_nsec: 0), timespec(tv_sec: time(nil) - seconds, tv_nsec: 0)]
        utimensat(AT_FDCWD, repository.path + "/chunks/" + name, &times, 0)
    }
}

/// Writes `bytes` to a new file at `path`, open to its owner only.
func put(_ path: String, _ bytes: [UInt8]) throws {
    let file = try Descriptor.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
    try file.writeAll(bytes)
}

/// Flips one byte in the middle of the file at `path`.
func corrupt(_ path: String) throws {
    let file = try Descriptor.open(path, O_RDWR)
    let size = Int(try file.status().st_size)
    var byte: [UInt8] = [0]
    _ = try file.read(into: &byte, at: UInt64(size / 2))
    try file.writeAll([byte[0] ^ 0xFF], at: UInt64(size / 2))
}

/// A disk image of `chunks` chunks of `chunkSize` and `tail` more bytes: random data, but for
/// the chunks in `zero`, which hold zeros.
func image(chunks: Int, chunkSize: Int = 4096, tail: Int = 0, zero: Set<Int> = []) -> [UInt8] {
    var bytes = randomBytes(chunks * chunkSize + tail)
    for index in zero {
        for offset in index * chunkSize..<min((index + 1) * chunkSize, bytes.count) { bytes[offset] = 0 }
    }
    return bytes
}

/// A value threads share, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    init(_ value: Value) { storage = Mutex(value) }

    var value: Value { storage.withLock { $0 } }

    func set(_ value: Value) { storage.withLock { $0 = value } }

    func update(_ change: (inout Value) -> Void) { storage.withLock { change(&$0) } }
}
