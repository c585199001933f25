import Crypto
import Foundation
import Glibc
@testable import HVBackupStore
import HVSystem
import HVTestSupport
import Testing

/// An encrypted repository reveals nothing of what it holds to whoever copies its files, and
/// opens only with its key.
@Suite struct EncryptionTests {
    let scratch: Scratch
    let key: KeyFile

    init() throws {
        scratch = try Scratch()
        key = try KeyFile.generate(at: scratch.file("backup.key"))
    }

    /// Every byte of every file of the repository is searched for the machine's name, its spec,
    /// its domain XML, the disk's contents and the key: none is there, and no chunk is named by
    /// the SHA-256 of its contents. The backup still lists and restores with the key.
    @Test func noPlaintextOrMachineNameAppearsInTheRepository() throws {
        let repository = try scratch.create(key: key)
        let machine = "secret-machine-7f3a"
        let marker = Array("PLAINTEXT-MARKER-0123456789".utf8)
        // Each chunk starts with the marker, so any chunk stored in the clear would show it.
        var disk: [UInt8] = []
        for _ in 0..<6 { disk += marker + randomBytes(4096 - marker.count) }
        disk += [UInt8](repeating: 0, count: 4096)
        let writer = try BackupWriter.begin(in: repository, machine: machine)
        try writeDisk(writer, target: "vda", image: disk, previous: nil, chunkSize: 4096)
        let manifest = try writer.commit(spec: "SPEC-MARKER-91 \(machine)", domainXML: "<domain>DOMAIN-MARKER</domain>", frozen: true)

        let keyBytes = Array(try Data(contentsOf: URL(fileURLWithPath: scratch.file("backup.key"))))
        let needles: [(String, [UInt8])] = [
            ("the machine name", Array(machine.utf8)), ("the disk's contents", marker), ("the spec", Array("SPEC-MARKER-91".utf8)),
            ("the domain XML", Array("DOMAIN-MARKER".utf8)), ("the key", keyBytes), ("the disk format", Array("qcow2".utf8)),
        ]
        let names = files(below: repository.path)
        #expect(names.count >= 9, "\(names)")
        for name in names {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: repository.path + "/" + name)))
            for (what, needle) in needles {
                #expect(!contains(bytes, needle), "\(name) holds \(what)")
            }
            #expect(!contains(Array(name.utf8), Array(machine.utf8)))
        }
        for index in 0..<7 {
            let plainName = SHA256.hash(data: Array(chunk(disk, index, size: 4096))).map { String(format: "%02x", $0) }.joined()
            #expect(!names.contains { $0.hasSuffix(plainName) }, "chunk \(index) is named by the SHA-256 of its contents")
        }
        let zeroChunk = try #require(try digests(repository, manifest.id, disk: "vda").last)
        let stored = Array(try Data(contentsOf: URL(fileURLWithPath: chunkPath(repository, zeroChunk))))
        #expect(stored.count == 4096 + 28 && stored.contains { $0 != 0 }, "the zero chunk is stored encrypted too")

        let reopened = try Repository.open(at: repository.path, key: try KeyFile.load(scratch.file("backup.key")))
        #expect(try reopened.backups().map(\.machine) == [machine], "listing decrypts the manifests")
        #expect(try reopened.manifest(manifest.id).spec == "SPEC-MARKER-91 \(machine)")
        #expect(try restore(reopened, manifest.id, disk: "vda", into: scratch.file("restored")) == disk)
        #expect(try reopened.verify(manifest.id).ok)
    }

    /// Another key, no key, or a key for a repository that is not encrypted: each is refused
    /// before anything is read.
    @Test func theWrongKeyOrNoKeyIsRefused() throws {
        let repository = try scratch.create(key: key)
        try backUp(repository, disks: [("vda", image(chunks: 2))])
        let other = try KeyFile.generate(at: scratch.file("other.key"))
        #expect(other.fingerprint != key.fingerprint)
        let wrong = #expect(throws: BackupError.self) { try Repository.open(at: repository.path, key: other) }
        #expect(wrong?.code == .wrongKey && wrong?.reason.contains(key.fingerprint) == true)
        #expect((#expect(throws: BackupError.self) { try Repository.open(at: repository.path) })?.code == .keyRequired)
        #expect(try Repository.open(at: repository.path, key: key).keyFingerprint == key.fingerprint)

        let plain = try Repository.create(at: scratch.file("plain"))
        #expect((#expect(throws: BackupError.self) { try Repository.open(at: plain.path, key: key) })?.code == .wrongKey)
        let configuration = try String(contentsOfFile: repository.path + "/repository.json", encoding: .utf8)
        #expect(configuration.contains("aes-256-gcm") && configuration.contains(key.fingerprint))
    }

    /// A chunk file copied over another chunk's name does not open under that name.
    @Test func aChunkMovedToAnotherNameIsBad() throws {
        let repository = try scratch.create(key: key)
        let manifest = try backUp(repository, disks: [("vda", image(chunks: 3))])
        let chunks = try digests(repository, manifest.id, disk: "vda")
        try FileManager.default.removeItem(atPath: chunkPath(repository, chunks[1]))
        try FileManager.default.copyItem(atPath: chunkPath(repository, chunks[0]), toPath: chunkPath(repository, chunks[1]))
        let report = try repository.verify(manifest.id)
        #expect(report.problems.map(\.chunkIndex) == [1])
        #expect(report.problems.first?.reason.contains("does not decrypt") == true, "\(report.problems)")
    }

    /// A key file is 32 random bytes only its owner can read; it is never overwritten, and one
    /// open to others or of the wrong length is refused.
    @Test func keyFilesArePrivateAndChecked() throws {
        let path = scratch.file("backup.key")
        var info = stat()
        stat(path, &info)
        #expect(info.st_mode & 0o777 == 0o600 && info.st_size == 32)
        #expect(try KeyFile.load(path).fingerprint == key.fingerprint)
        #expect((#expect(throws: BackupError.self) { try KeyFile.generate(at: path) })?.code == .alreadyExists)
        #expect(try KeyFile.load(path).fingerprint == key.fingerprint, "the key is still the one generated")
        chmod(path, 0o644)
        #expect((#expect(throws: BackupError.self) { try KeyFile.load(path) })?.code == .invalidArgument)
        let short = scratch.file("short.key")
        try put(short, randomBytes(16))
        #expect((#expect(throws: BackupError.self) { try KeyFile.load(short) })?.code == .invalidArgument)
        #expect((#expect(throws: BackupError.self) { try KeyFile.load(scratch.file("absent.key")) })?.code == .notFound)
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        Data(haystack).range(of: Data(needle)) != nil
    }
}
