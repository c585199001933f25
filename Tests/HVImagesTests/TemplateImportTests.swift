import Foundation
import Glibc
import HVImages
import HVProtocol
import HVSystem
import HVTestSupport
import Testing

private let qemuImg = "/usr/bin/qemu-img"

/// `TemplateImport` with the real qemu-img: what it keeps, and that every refusal keeps nothing,
/// not even a temporary file.
@Suite(.enabled(if: installed(.qemuImg), "qemu-img is not installed (Debian package qemu-utils)"))
struct TemplateImportTests {
    /// Where the caller's files are.
    let source: TemporaryDirectory
    /// The image pool's directory.
    let pool: TemporaryDirectory
    let importer: TemplateImport

    init() throws {
        source = try TemporaryDirectory("hv-import-source")
        pool = try TemporaryDirectory("hv-import-pool")
        importer = TemplateImport(directory: pool.path, probe: ImageProbe(), policy: ImagePolicy(maximumVirtualSize: 1 << 30))
    }

    /// A qcow2 image in the caller's directory, of 64 MiB, holding 64 KiB of random data (`data`)
    /// or made with `qemu-img create` and `options`.
    private func qcow2(_ name: String, _ options: [String] = [], size: String = "64M", data: Bool = true) throws -> String {
        let path = source.file(name)
        guard data else {
            try mustRun([qemuImg, "create", "-q", "-f", "qcow2"] + options + [path, size])
            return path
        }
        let raw = try source.write(name + ".raw", randomBytes(64 << 10))
        guard truncate(raw, 64 << 20) == 0 else { throw SetupError("cannot grow \(raw)") }
        try mustRun([qemuImg, "convert", "-q", "-f", "raw", "-O", "qcow2", raw, path])
        return path
    }

    private func importing(
        _ path: String, as name: String = "cloud", sha256: String? = nil, format: ImageFormat? = .qcow2, maximumBytes: UInt64 = 1 << 30,
        claim: (UInt64) throws(ImageError) -> Void = { _ in }
    ) throws -> TemplateImport.Imported {
        let file = try openForReading(path)
        return try importer.run(
            from: file, name: name, expectedSHA256: try sha256 ?? sha256sum(path), format: format, maximumBytes: maximumBytes,
            claimSpace: claim
        )
    }

    /// The pool holds exactly `names`: no temporary file is left beside them.
    private func expectPool(_ names: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try pool.names() == names, sourceLocation: sourceLocation)
    }

    @Test func aSelfContainedQcow2IsKeptReadOnlyAndByteForByte() throws {
        let path = try qcow2("debian.qcow2")
        let imported = try importing(path)
        #expect(imported.name == "cloud" && imported.sourceFormat == .qcow2 && imported.virtualSize == 64 << 20)
        let digest = try sha256sum(path)
        #expect(imported.sha256 == digest)
        #expect(try sha256sum(pool.file("cloud")) == imported.sha256)
        var info = stat()
        #expect(stat(pool.file("cloud"), &info) == 0 && info.st_mode & 0o777 == 0o444)
        #expect(imported.allocated == UInt64(info.st_blocks) * 512)
        try expectPool(["cloud"])
    }

    @Test func aChecksumMismatchNamesBothSumsAndKeepsNothing() throws {
        let path = try qcow2("debian.qcow2")
        let wrong = String(repeating: "ab", count: 32)
        let error = #expect(throws: ImageError.self) { try importing(path, sha256: wrong) }
        #expect(error?.code == .checksumMismatch)
        let digest = try sha256sum(path)
        #expect(error?.reason.contains(digest) == true && error?.reason.contains(wrong) == true, "\(String(describing: error))")
        try expectPool([])
    }

    @Test func aBackingFileIsRefused() throws {
        let base = try qcow2("base.qcow2", data: false)
        let path = try qcow2("overlay.qcow2", ["-u", "-F", "qcow2", "-b", base], data: false)
        let error = #expect(throws: ImageError.self) { try importing(path) }
        #expect(error?.code == .unsafeImage)
        #expect(error?.reason.contains("cloud has the backing file '\(base)'") == true, "\(String(describing: error))")
        #expect(error?.hvError.code == .invalidParameter)
        try expectPool([])
    }

    @Test func anExternalDataFileIsRefused() throws {
        let path = try qcow2("external.qcow2", ["-o", "data_file=\(source.file("external.data"))"], data: false)
        let error = #expect(throws: ImageError.self) { try importing(path) }
        #expect(error?.code == .unsafeImage)
        #expect(error?.reason.contains("external file") == true, "\(String(describing: error))")
        try expectPool([])
    }

    @Test func aRawFileDeclaredQcow2IsRefused() throws {
        let path = try source.write("plain.img", randomBytes(1 << 20))
        let error = #expect(throws: ImageError.self) { try importing(path, format: .qcow2) }
        #expect(error?.code == .unsafeImage)
        #expect(error?.reason.contains("declared qcow2 but has no qcow2 header") == true, "\(String(describing: error))")
        try expectPool([])
    }

    @Test func aQcow2DeclaredRawIsRefused() throws {
        let path = try qcow2("debian.qcow2")
        let error = #expect(throws: ImageError.self) { try importing(path, format: .raw) }
        #expect(error?.code == .unsafeImage)
        #expect(error?.reason.contains("is a qcow2 image but was declared raw") == true, "\(String(describing: error))")
        try expectPool([])
    }

    /// A raw disk is stored as a self-contained qcow2 with the same guest contents; its checksum
    /// is the one of the bytes handed over.
    @Test func aRawImageIsStoredAsQcow2() throws {
        var bytes = [UInt8](repeating: 0, count: 8 << 20)
        bytes.replaceSubrange(0..<4096, with: randomBytes(4096))
        let path = try source.write("disk.img", bytes)
        let imported = try importing(path, format: nil)
        let digest = try sha256sum(path)
        #expect(imported.sourceFormat == .raw && imported.sha256 == digest && imported.virtualSize == 8 << 20)
        #expect(try ImageProbe().probe(path: pool.file("cloud"), format: .qcow2).format == "qcow2")
        try mustRun([qemuImg, "compare", "-f", "raw", "-F", "qcow2", path, pool.file("cloud")])
        try expectPool(["cloud"])
    }

    @Test func anUndeclaredQcow2IsReadAsQcow2() throws {
        let imported = try importing(try qcow2("debian.qcow2"), format: nil)
        #expect(imported.sourceFormat == .qcow2)
    }

    @Test func aVirtualSizeOverTheLimitIsRefused() throws {
        let path = try qcow2("huge.qcow2", size: "2G", data: false)
        let error = #expect(throws: ImageError.self) { try importing(path) }
        #expect(error?.code == .tooLarge)
        try expectPool([])
    }

    @Test func aFileOverTheSizeLimitIsRefusedBeforeItIsRead() throws {
        let path = try qcow2("debian.qcow2")
        let error = #expect(throws: ImageError.self) { try importing(path, maximumBytes: 4096) }
        #expect(error?.code == .tooLarge && error?.reason.contains("the image pool accepts at most") == true, "\(String(describing: error))")
        try expectPool([])
    }

    @Test func anExistingNameIsNeverReplaced() throws {
        try pool.write("cloud", [1, 2, 3])
        let error = #expect(throws: ImageError.self) { try importing(try qcow2("debian.qcow2")) }
        #expect(error?.code == .alreadyExists && error?.fix?.contains("hv pool delete-volume cloud") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: pool.file("cloud"))) == Data([1, 2, 3]))
        try expectPool(["cloud"])
    }

    /// The space is claimed before the copy with what the file holds and again with what the
    /// template occupies; a refusal of the second keeps nothing.
    @Test func aRefusedClaimKeepsNothing() throws {
        let path = try qcow2("debian.qcow2")
        var claims: [UInt64] = []
        let error = #expect(throws: ImageError.self) {
            try importing(path) { bytes throws(ImageError) in
                claims.append(bytes)
                if claims.count == 2 { throw ImageError(.quotaExceeded, "over the group's images") }
            }
        }
        #expect(error?.code == .quotaExceeded)
        #expect(claims.count == 2 && claims.allSatisfy { $0 > 0 }, "\(claims)")
        try expectPool([])
    }

    @Test func removeLeftoversTakesOnlyTemporaryFiles() throws {
        try pool.write(".upload-1a2b", [0])
        try pool.write(".convert-3c", [0])
        try pool.write("kept.qcow2", [0])
        #expect(Set(importer.removeLeftovers().map(\.name)) == [".upload-1a2b", ".convert-3c"])
        try expectPool(["kept.qcow2"])
    }
}
