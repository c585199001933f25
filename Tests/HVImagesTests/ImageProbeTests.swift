import Foundation
import HVImages
import HVProtocol
import Testing

private let qemuImg = "/usr/bin/qemu-img"

@Suite(.enabled(if: installed(.qemuImg), "qemu-img is not installed (Debian package qemu-utils)"))
struct ImageProbeTests {
    let directory: TemporaryDirectory
    let probe = ImageProbe()
    let policy = ImagePolicy(maximumVirtualSize: 1 << 30)

    init() throws { directory = try TemporaryDirectory() }

    private func qcow2(_ name: String, _ options: [String] = [], size: String = "1M") throws -> String {
        let path = directory.file(name)
        try mustRun([qemuImg, "create", "-q", "-f", "qcow2"] + options + [path, size])
        return path
    }

    @Test func aBackingFileOnShadowIsRefused() throws {
        let path = try qcow2("shadow.qcow2", ["-u", "-F", "raw", "-b", "/etc/shadow"])
        let image = try probe.probe(path: path, format: .qcow2)
        #expect(image.backingFilename == "/etc/shadow")
        #expect(image.fullBackingFilename == "/etc/shadow")
        let error = #expect(throws: ImageError.self) { try policy.checkImported(image) }
        #expect(error?.code == .unsafeImage)
        #expect(error?.reason.contains("'/etc/shadow'") == true)
        #expect(error?.reason.contains("a backing file lets an image read other files on the host") == true)
        #expect(error?.hvError.code == .invalidParameter)
    }

    @Test func aRelativeBackingFileIsReportedResolved() throws {
        try directory.write("base.raw", [UInt8](repeating: 0, count: 4096))
        let path = try qcow2("overlay.qcow2", ["-u", "-F", "raw", "-b", "base.raw"])
        let image = try probe.probe(path: path, format: .qcow2)
        #expect(image.backingFilename == "base.raw")
        #expect(image.fullBackingFilename == directory.file("base.raw"))
        #expect(throws: ImageError.self) { try policy.checkImported(image) }
    }

    @Test func anExternalDataFileIsRefused() throws {
        let data = directory.file("data.raw")
        let path = try qcow2("external.qcow2", ["-o", "data_file=\(data)"])
        let image = try probe.probe(path: path, format: .qcow2)
        #expect(image.dataFile == data)
        #expect(image.backingFilename == nil)
        let error = #expect(throws: ImageError.self) { try policy.checkImported(image) }
        #expect(error?.code == .unsafeImage)
        #expect(error?.reason.contains("external file '\(data)'") == true)
    }

    @Test func aSelfContainedQcow2IsAccepted() throws {
        let path = try qcow2("plain.qcow2", size: "64M")
        let image = try probe.probe(path: path, format: .qcow2)
        #expect(image.format == "qcow2")
        #expect(image.virtualSize == 64 << 20)
        #expect(image.detectedFormat == "qcow2")
        try policy.checkImported(image)
    }

    @Test func aRawFileProbedAsRawIsAccepted() throws {
        let path = try directory.write("disk.raw", [UInt8](repeating: 0, count: 1 << 20))
        let image = try probe.probe(path: path, format: .raw)
        #expect(image.format == "raw")
        #expect(image.virtualSize == 1 << 20)
        #expect(image.detectedFormat == nil)
        try policy.checkImported(image)
    }

    @Test func aQcow2DeclaredRawIsRefused() throws {
        let path = try qcow2("disguised.img", ["-u", "-F", "raw", "-b", "/etc/shadow"])
        let image = try probe.probe(path: path, format: .raw)
        // With the format stated, qemu-img does not look inside: it reports raw and no backing file.
        #expect(image.format == "raw")
        #expect(image.backingFilename == nil)
        #expect(image.detectedFormat == "qcow2")
        let error = #expect(throws: ImageError.self) { try policy.checkImported(image) }
        #expect(error?.code == .unsafeImage)
        #expect(error?.reason.contains("is a qcow2 image but was declared raw") == true)
    }

    @Test func aRawFileDeclaredQcow2FailsToProbe() throws {
        let path = try directory.write("disk.raw", [UInt8](repeating: 0, count: 65536))
        let error = #expect(throws: ImageError.self) { try probe.probe(path: path, format: .qcow2) }
        #expect(error?.code == .toolFailed)
        #expect(error?.reason.contains("not in qcow2 format") == true)
    }

    @Test func anImageOverTheSizeLimitIsRefused() throws {
        let path = try qcow2("huge.qcow2", size: "2G")
        let image = try probe.probe(path: path, format: .qcow2)
        let error = #expect(throws: ImageError.self) { try policy.checkImported(image) }
        #expect(error?.code == .tooLarge)
        #expect(error?.reason.contains("2 GiB") == true)
        #expect(error?.hvError.code == .quotaExceeded)
    }

    @Test func qemuImgRunsUnderResourceLimits() throws {
        let path = try qcow2("plain.qcow2")
        // 16 MiB of address space is too little for qemu-img even to start: the limit is applied.
        let starved = ImageProbe(addressSpaceLimit: 16 << 20)
        let error = #expect(throws: ImageError.self) { try starved.probe(path: path, format: .qcow2) }
        #expect(error?.code == .toolFailed)
        #expect(try probe.probe(path: path, format: .qcow2).format == "qcow2")
    }

    @Test func symlinksRelativePathsAndMissingFilesAreRefused() throws {
        let target = try qcow2("target.qcow2")
        let link = directory.file("link.qcow2")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(throws: ImageError.self) { try probe.probe(path: link, format: .qcow2) }
        let relative = #expect(throws: ImageError.self) { try probe.probe(path: "target.qcow2", format: .qcow2) }
        #expect(relative?.code == .invalidParameter)
        let missing = #expect(throws: ImageError.self) { try probe.probe(path: directory.file("none"), format: .raw) }
        #expect(missing?.code == .notFound)
    }
}

@Suite struct ImageInfoTests {
    @Test func parsesQemuImgReport() throws {
        let json = """
            {"virtual-size": 1048576, "filename": "z.qcow2", "format": "qcow2", "actual-size": 200704,
             "format-specific": {"type": "qcow2", "data": {"compat": "1.1", "data-file": "d.raw"}},
             "backing-filename": "b.raw", "full-backing-filename": "/images/b.raw", "dirty-flag": false}
            """
        let image = try ImageInfo(qemuImgJSON: Array(json.utf8), path: "/images/z.qcow2", declaredFormat: .qcow2)
        #expect(image.virtualSize == 1_048_576)
        #expect(image.actualSize == 200_704)
        #expect(image.format == "qcow2")
        #expect(image.backingFilename == "b.raw")
        #expect(image.fullBackingFilename == "/images/b.raw")
        #expect(image.dataFile == "d.raw")
    }

    @Test func refusesAMalformedReport() {
        #expect(throws: ImageError.self) {
            try ImageInfo(qemuImgJSON: Array(#"{"format": "raw"}"#.utf8), path: "/x", declaredFormat: .raw)
        }
    }

    @Test func detectsFormatsByMagicBytes() {
        #expect(FormatSignature.detect([0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]) == "qcow2")
        #expect(FormatSignature.detect([0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 1]) == "qcow")
        #expect(FormatSignature.detect(Array("KDMV".utf8) + [1, 0, 0, 0]) == "vmdk")
        #expect(FormatSignature.detect([UInt8](repeating: 0, count: 0x40) + [0x7F, 0x10, 0xDA, 0xBE]) == "vdi")
        #expect(FormatSignature.detect(Array("LUKS".utf8) + [0xBA, 0xBE, 0, 2]) == "luks")
        #expect(FormatSignature.detect([UInt8](repeating: 0, count: 512)) == nil)
        #expect(FormatSignature.detect(Array("QFI".utf8)) == nil)
    }
}
