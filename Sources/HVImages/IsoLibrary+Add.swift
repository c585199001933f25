import Foundation
import Glibc
import HVProtocol
import HVSystem
import Logging

extension IsoLibrary {
    /// The largest detached signature accepted, in bytes.
    public static let maximumSignatureBytes = 64 << 10

    /// Copies the regular file open as `descriptor` into the library as `name`, keeping it only if
    /// its SHA-256 is `expectedSHA256` and, when `signature` is given, gpgv accepts the detached
    /// signature against `keyring`. On any refusal nothing is kept.
    ///
    /// The file is read with pread from offset 0 (its file offset is ignored) into a private
    /// temporary file in the library directory, hashed on the way, and must be exactly as long as
    /// it was when the copy started. The copy keeps the file's holes: its all-zero blocks are not
    /// written, so a sparse file stays small on disk. An existing entry of the same name is never
    /// replaced.
    ///
    /// - Parameters:
    ///   - descriptor: an open, readable descriptor; the caller keeps ownership.
    ///   - maximumBytes: files larger than this are refused before anything is read.
    ///   - addedBy: the uid recorded as having added the image.
    ///   - group: the group recorded as the image's owner, which its bytes are charged to.
    ///   - source: where the image came from (a URL), recorded as given.
    ///   - observer: told how much of the file was copied; stops the copy when its caller gave up.
    ///   - claimSpace: asked whether the image may take this many bytes: before the copy with what
    ///     the file holds (its data extents, not its holes), and again before the image is kept
    ///     with what the copy occupies on disk. Each call stands for the image's whole size and
    ///     replaces the one before; a refusal (`quotaExceeded`) keeps nothing.
    @discardableResult
    public func add(
        from descriptor: Descriptor, name: String, expectedSHA256: String, maximumBytes: UInt64,
        signature: Data? = nil, keyring: String? = nil, addedBy: UInt32, group: String? = nil, source: String? = nil,
        observer: CopyObserver = .none, claimSpace: (_ bytes: UInt64) throws(ImageError) -> Void = { _ in }
    ) throws(ImageError) -> IsoEntry {
        try Self.validate(name)
        let expected = try SHA256Text.normalize(expectedSHA256)
        if let source { try Upload.checkSource(source) }
        var verifier: SignatureVerifier?
        if let signature {
            verifier = try SignatureVerifier(runner: runner, keyring: keyring)
            try SignatureVerifier.checkSize(signature)
        }
        let size = try Upload.checkFile(
            descriptor, maximumBytes: maximumBytes, accepter: "the ISO library", fix: "ask the administrator to raise the ISO size limit"
        )

        let library = try Descriptor.openDirectory(directory)
        guard try io({ try library.entryStatus(name) }) == nil else { throw Self.exists(name) }
        try claimSpace(Holes.dataBytes(of: descriptor, size: size))
        let (temporaryName, temporary) = try io { try library.createUnique(prefix: ".upload") }
        var kept = false
        defer { if !kept { try? library.removeEntry(temporaryName) } }

        let copy = try hashedCopy(from: descriptor, expectedSize: size, to: temporary, observer: observer)
        guard copy.sha256 == expected else {
            throw ImageError(
                .checksumMismatch,
                "the file's SHA-256 is \(copy.sha256) but \(expected) was expected; nothing was kept",
                fix: "check the checksum published with the image and download it again", parameter: "sha256"
            )
        }
        if let format = FormatSignature.detect(copy.header) {
            throw ImageError(
                .unsafeImage, "the file is a \(format) disk image, not an installation image; nothing was kept",
                fix: "add disk images as templates, not to the ISO library", parameter: "file"
            )
        }
        if let verifier, let signature {
            try verifier.verify(signature: signature, fileNamed: temporaryName, in: directory, library: library)
        }
        let allocated = try Upload.place(
            temporary, named: temporaryName, in: library, as: name, mode: 0o644, claimSpace: claimSpace, exists: Self.exists(name)
        )
        let record = IsoRecord(
            sha256: copy.sha256, size: copy.byteCount, addedAt: Self.now(), addedBy: addedBy, source: source,
            signatureVerified: verifier != nil, group: group
        )
        do throws(ImageError) {
            try writeRecord(record, for: name, in: library)
        } catch {
            try? library.removeEntry(name)
            throw error
        }
        kept = true
        try io { try library.removeEntry(temporaryName) }
        try io { try library.sync() }
        logger.info(
            "added an ISO image",
            metadata: [
                "iso": "\(name)", "sha256": "\(copy.sha256)", "uid": "\(addedBy)", "group": "\(group ?? "none")",
                "signed": "\(verifier != nil)", "size": "\(copy.byteCount)", "allocated": "\(allocated)",
            ]
        )
        return IsoEntry(name: name, size: copy.byteCount, allocated: allocated, record: record)
    }

    /// The current time in whole seconds, as the record stores it.
    private static func now() -> Date {
        Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    }

    /// Writes the sidecar atomically: a temporary file, flushed, renamed over the old one.
    func writeRecord(_ record: IsoRecord, for name: String, in library: Descriptor) throws(ImageError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let bytes: [UInt8]
        do {
            bytes = Array(try encoder.encode(record))
        } catch {
            throw ImageError(.ioFailed, "cannot encode the record of \(name): \(error)")
        }
        let (temporaryName, file) = try io { try library.createUnique(prefix: ".record") }
        do throws(ImageError) {
            try io { try file.writeAll(bytes) }
            guard fchmod(file.raw, 0o644) == 0 else { throw ioError("set the mode of the record of \(name)") }
            try io { try file.sync() }
            try io { try library.rename(temporaryName, to: Self.recordName(name)) }
        } catch {
            try? library.removeEntry(temporaryName)
            throw error
        }
    }

    private static func exists(_ name: String) -> ImageError {
        ImageError(
            .alreadyExists, "the ISO library already has an image named '\(name)'",
            fix: "choose another name, or remove the old image first with 'hv iso remove \(name)'", parameter: "name"
        )
    }
}
