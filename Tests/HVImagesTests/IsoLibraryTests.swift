import Foundation
import Glibc
import HVImages
import HVProtocol
import HVSystem
import HVTestSupport
import Testing

@Suite struct IsoLibraryTests {
    let sources: TemporaryDirectory
    let directory: TemporaryDirectory
    let library: IsoLibrary

    init() throws {
        sources = try TemporaryDirectory("hv-iso-sources")
        directory = try TemporaryDirectory("hv-isos")
        library = IsoLibrary(directory: directory.path)
    }

    /// A source file of random content, its sha256sum and an open descriptor to it.
    private func source(_ bytes: [UInt8] = randomBytes(300_000)) throws -> (path: String, sha256: String, fd: Descriptor) {
        let path = try sources.write("download-\(UUID().uuidString)", bytes)
        return (path, try sha256sum(path), try openForReading(path))
    }

    @Test func theRightChecksumIsKept() throws {
        let file = try source()
        // The file offset is not trusted: the copy starts at 0 wherever the descriptor points.
        lseek(file.fd.raw, 0, SEEK_END)
        let entry = try library.add(
            from: file.fd, name: "debian-12.iso", expectedSHA256: file.sha256.uppercased(), maximumBytes: 1 << 20,
            addedBy: 1000, source: "https://example.org/debian-12.iso"
        )
        #expect(entry.name == "debian-12.iso")
        #expect(entry.size == 300_000)
        #expect(entry.record?.sha256 == file.sha256)
        #expect(entry.record?.addedBy == 1000)
        #expect(entry.record?.signatureVerified == false)
        #expect(try directory.names() == [".debian-12.iso.json", "debian-12.iso"])
        #expect(try sha256sum(directory.file("debian-12.iso")) == file.sha256)
        let mode = try FileManager.default.attributesOfItem(atPath: directory.file("debian-12.iso"))[.posixPermissions]
        #expect(mode as? Int == 0o644)

        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.file(".debian-12.iso.json"))))
        let fields = try #require(record as? [String: Any])
        #expect(fields["sha256"] as? String == file.sha256)
        #expect(fields["size"] as? Int == 300_000)
        #expect(fields["added_by"] as? Int == 1000)
        #expect(fields["source"] as? String == "https://example.org/debian-12.iso")
        #expect(fields["signature_verified"] as? Bool == false)
        #expect(fields["added_at"] is String)

        let listed = try library.list()
        #expect(listed.map(\.name) == ["debian-12.iso"])
        #expect(listed.first?.record == entry.record)
        #expect(try library.path(of: "debian-12.iso") == directory.file("debian-12.iso"))
        #expect(try library.verify("debian-12.iso").status == .intact)
    }

    @Test func aWrongChecksumKeepsNothing() throws {
        let file = try source()
        let wrong = String(repeating: "ab", count: 32)
        let error = #expect(throws: ImageError.self) {
            try library.add(from: file.fd, name: "debian-12.iso", expectedSHA256: wrong, maximumBytes: 1 << 20, addedBy: 0)
        }
        #expect(error?.code == .checksumMismatch)
        #expect(error?.reason.contains(file.sha256) == true)
        #expect(error?.reason.contains(wrong) == true)
        #expect(error?.hvError.code == .invalidParameter)
        #expect(try directory.names() == [])
        #expect(try library.list() == [])
    }

    @Test(arguments: ["xyz", String(repeating: "a", count: 63), String(repeating: "g", count: 64), ""])
    func anInvalidChecksumIsRefusedBeforeAnything(_ checksum: String) throws {
        let file = try source()
        let error = #expect(throws: ImageError.self) {
            try library.add(from: file.fd, name: "a.iso", expectedSHA256: checksum, maximumBytes: 1 << 20, addedBy: 0)
        }
        #expect(error?.code == .invalidParameter)
        #expect(error?.parameter == "sha256")
        #expect(try directory.names() == [])
    }

    @Test(arguments: ["../etc/passwd.iso", "debian.img", ".hidden.iso", "a/b.iso", ".iso"])
    func anInvalidNameIsRefused(_ name: String) throws {
        let file = try source()
        let error = #expect(throws: ImageError.self) {
            try library.add(from: file.fd, name: name, expectedSHA256: file.sha256, maximumBytes: 1 << 20, addedBy: 0)
        }
        #expect(error?.code == .invalidParameter)
        #expect(error?.parameter == "name")
        #expect(try directory.names() == [])
    }

    @Test func anOversizeFileIsRefusedBeforeReading() throws {
        // A sparse 64 GiB file: reading it would take minutes, so a quick refusal shows nothing was read.
        let path = sources.file("huge.iso")
        try mustRun(["/usr/bin/truncate", "-s", "64G", path])
        let fd = try openForReading(path)
        let error = #expect(throws: ImageError.self) {
            try library.add(from: fd, name: "huge.iso", expectedSHA256: String(repeating: "0", count: 64), maximumBytes: 1 << 30, addedBy: 0)
        }
        #expect(error?.code == .tooLarge)
        #expect(error?.reason.contains("64 GiB") == true)
        #expect(error?.reason.contains("1 GiB") == true)
        #expect(try directory.names() == [])
    }

    @Test func aDirectoryOrPipeIsRefused() throws {
        let directoryFD = try Descriptor.open(sources.path, O_RDONLY | O_DIRECTORY)
        let checksum = String(repeating: "0", count: 64)
        let onDirectory = #expect(throws: ImageError.self) {
            try library.add(from: directoryFD, name: "a.iso", expectedSHA256: checksum, maximumBytes: 1 << 20, addedBy: 0)
        }
        #expect(onDirectory?.reason.contains("a directory, not a regular file") == true)

        let pipe = try Descriptor.pipe()
        let onPipe = #expect(throws: ImageError.self) {
            try library.add(from: pipe.read, name: "a.iso", expectedSHA256: checksum, maximumBytes: 1 << 20, addedBy: 0)
        }
        #expect(onPipe?.code == .invalidParameter)
        #expect(onPipe?.reason.contains("a pipe, not a regular file") == true)
        #expect(try directory.names() == [])
    }

    @Test func aFileThatChangesWhileCopiedIsRefused() throws {
        // /proc files report size 0 but have content: the copy is longer than the size fstat gave.
        let fd = try openForReading("/proc/self/status")
        let error = #expect(throws: ImageError.self) {
            try library.add(from: fd, name: "a.iso", expectedSHA256: String(repeating: "0", count: 64), maximumBytes: 1 << 20, addedBy: 0)
        }
        #expect(error?.code == .fileChanged)
        #expect(try directory.names() == [])
    }

    @Test func anExistingNameIsNeverReplaced() throws {
        let first = try source()
        let second = try source()
        try library.add(from: first.fd, name: "a.iso", expectedSHA256: first.sha256, maximumBytes: 1 << 20, addedBy: 0)
        let error = #expect(throws: ImageError.self) {
            try library.add(from: second.fd, name: "a.iso", expectedSHA256: second.sha256, maximumBytes: 1 << 20, addedBy: 0)
        }
        #expect(error?.code == .alreadyExists)
        #expect(error?.hvError.code == .alreadyExists)
        #expect(try sha256sum(directory.file("a.iso")) == first.sha256)
        #expect(try directory.names() == [".a.iso.json", "a.iso"])
    }

    @Test func aDiskImageIsNotAnInstallationImage() throws {
        let file = try source([0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3] + randomBytes(4096))
        let error = #expect(throws: ImageError.self) {
            try library.add(from: file.fd, name: "a.iso", expectedSHA256: file.sha256, maximumBytes: 1 << 20, addedBy: 0)
        }
        #expect(error?.code == .unsafeImage)
        #expect(error?.reason.contains("qcow2") == true)
        #expect(try directory.names() == [])
    }

    @Test func aSignatureWithoutAKeyringIsRefused() throws {
        let file = try source()
        let error = #expect(throws: ImageError.self) {
            try library.add(
                from: file.fd, name: "a.iso", expectedSHA256: file.sha256, maximumBytes: 1 << 20,
                signature: Data("signature".utf8), keyring: nil, addedBy: 0
            )
        }
        #expect(error?.code == .notConfigured)
        #expect(try directory.names() == [])
    }

    @Test func tamperingIsDetected() throws {
        let file = try source()
        try library.add(from: file.fd, name: "a.iso", expectedSHA256: file.sha256, maximumBytes: 1 << 20, addedBy: 0)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("a.iso")))
        try handle.seek(toOffset: 1000)
        try handle.write(contentsOf: Data("tampered".utf8))
        try handle.close()
        let verification = try library.verify("a.iso")
        #expect(verification.status == .modified)
        #expect(verification.recordedSHA256 == file.sha256)
        #expect(verification.actualSHA256 == (try sha256sum(directory.file("a.iso"))))
        #expect(verification.actualSHA256 != file.sha256)
    }

    /// An image copied into the folder by hand is hashed and recorded the first time it is listed:
    /// a checksum, the time it was copied in (not 1970), and from then on tampering is detected.
    @Test func filesPlacedByHandAreRecordedOnFirstSight() throws {
        let path = try directory.write("manual.iso", Array("by hand".utf8))
        try directory.write("notes.txt", Array("not an image".utf8))
        try FileManager.default.createSymbolicLink(atPath: directory.file("link.iso"), withDestinationPath: "/etc/shadow")
        let copiedAt = try #require(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        let entries = try library.list()
        #expect(entries.map(\.name) == ["manual.iso"])
        let record = try #require(entries.first?.record)
        #expect(record.sha256 == (try sha256sum(path)))
        #expect(record.size == 7)
        #expect(abs(record.addedAt.timeIntervalSince(copiedAt)) < 1, "the date it was copied in, not 1970")
        #expect(record.addedBy == getuid() && record.source == nil && !record.signatureVerified)
        #expect(FileManager.default.fileExists(atPath: directory.file(".manual.iso.json")))
        #expect(try library.verify("manual.iso").status == .intact)
        #expect(try library.list().first?.record == record, "recorded once")
        try "by hand, changed".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try library.verify("manual.iso").status == .modified)
    }

    @Test func symlinksAreNeverEntries() throws {
        try FileManager.default.createSymbolicLink(atPath: directory.file("link.iso"), withDestinationPath: "/etc/shadow")
        let error = #expect(throws: ImageError.self) { try library.path(of: "link.iso") }
        #expect(error?.reason.contains("a symbolic link") == true)
        #expect(throws: ImageError.self) { try library.verify("link.iso") }
        #expect(throws: ImageError.self) { try library.remove("link.iso") }
        #expect(FileManager.default.fileExists(atPath: "/etc/shadow"))
    }

    @Test func removeDeletesTheImageAndItsRecord() throws {
        let file = try source()
        try library.add(from: file.fd, name: "a.iso", expectedSHA256: file.sha256, maximumBytes: 1 << 20, addedBy: 0)
        try library.remove("a.iso")
        #expect(try directory.names() == [])
        let error = #expect(throws: ImageError.self) { try library.remove("a.iso") }
        #expect(error?.code == .notFound)
        #expect(error?.hvError.code == .notFound)
        #expect(throws: ImageError.self) { try library.path(of: "a.iso") }
    }
}
