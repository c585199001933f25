import Glibc
import HVProtocol
import HVSystem
import Logging

/// Brings a disk image a caller handed over (an open descriptor) into a directory of volumes as a
/// read-only qcow2 template, checked the way every template is: its SHA-256 on the bytes stored,
/// then `ImageProbe` (qemu-img under prlimit, the format stated) and `ImagePolicy` (no backing
/// file, no external data file, the declared format, a bounded virtual size). A raw image is
/// converted to qcow2, since templates are qcow2 and their overlays say so.
///
/// The copy is made in a private temporary file in the directory (`.upload-…`, removed by
/// `removeLeftovers` after a crash) and only linked under its name once every check passed; an
/// existing entry of that name is never replaced. The methods block; run them on a thread pool.
public struct TemplateImport: Sendable {
    /// The directory the template is kept in: the image pool's.
    public let directory: String
    public var probe: ImageProbe
    /// The checks a probed image must pass (its `maximumVirtualSize`).
    public var policy: ImagePolicy
    public var logger: Logger
    /// The longest a raw image's conversion to qcow2 may take.
    public var conversionTimeout: Duration = .seconds(3600)

    public init(directory: String, probe: ImageProbe, policy: ImagePolicy, logger: Logger? = nil) {
        self.directory = directory
        self.probe = probe
        self.policy = policy
        self.logger = logger ?? probe.runner.logger
    }

    /// What an import kept.
    public struct Imported: Sendable, Hashable {
        public var name: String
        /// The format the image was handed over in.
        public var sourceFormat: ImageFormat
        public var sha256: String
        /// The bytes handed over.
        public var size: UInt64
        /// What the template occupies on disk.
        public var allocated: UInt64
        public var virtualSize: UInt64
    }

    /// Copies the regular file open as `descriptor` into the directory as the template `name`,
    /// keeping it only if the copy's SHA-256 is `expectedSHA256` and the image passes the checks.
    /// When it throws, nothing was placed under `name`.
    ///
    /// - Parameters:
    ///   - format: the declared format; nil lets the image's first bytes decide (qcow2 when they
    ///     say so, else raw), which `ImagePolicy` still compares with what qemu-img reports.
    ///   - maximumBytes: files larger than this are refused before anything is read.
    ///   - observer: told how much of the file was copied; stops the copy when its caller gave up.
    ///   - claimSpace: asked whether the template may take this many bytes, before the copy with
    ///     what the file holds and again before it is kept with what it occupies; each call stands
    ///     for the whole template and replaces the one before. A refusal keeps nothing.
    public func run(
        from descriptor: Descriptor, name: String, expectedSHA256: String, format: ImageFormat?, maximumBytes: UInt64,
        observer: CopyObserver = .none, claimSpace: (_ bytes: UInt64) throws(ImageError) -> Void = { _ in }
    ) throws(ImageError) -> Imported {
        do throws(HVError) {
            try VolumeName.validate(name)
        } catch {
            throw ImageError(error, parameter: "name")
        }
        let expected = try SHA256Text.normalize(expectedSHA256)
        let size = try Upload.checkFile(
            descriptor, maximumBytes: maximumBytes, accepter: "the image pool",
            fix: "use a smaller image, or ask the administrator to raise limits.disk"
        )
        let folder = try Descriptor.openDirectory(directory)
        guard try io({ try folder.entryStatus(name) }) == nil else { throw Self.exists(name) }
        try claimSpace(Holes.dataBytes(of: descriptor, size: size))

        var temporaries: [String] = []
        defer { for temporary in temporaries { try? folder.removeEntry(temporary) } }
        let (copyName, copy) = try io { try folder.createUnique(prefix: ".upload") }
        temporaries.append(copyName)
        let hashed = try hashedCopy(from: descriptor, expectedSize: size, to: copy, observer: observer)
        guard hashed.sha256 == expected else {
            throw ImageError(
                .checksumMismatch,
                "the SHA-256 of what the broker stored is \(hashed.sha256) but \(expected) was expected; nothing was kept",
                fix: "check the checksum published with the image and download it again", parameter: "sha256"
            )
        }
        try io { try copy.sync() }
        let detected = FormatSignature.detect(hashed.header)
        if format == .qcow2, detected != ImageFormat.qcow2.rawValue {
            throw ImageError(
                .unsafeImage,
                "\(name) was declared qcow2 but \(detected.map { "is a \($0) image" } ?? "has no qcow2 header"); nothing was kept",
                fix: "declare its real format (--format raw for a plain disk image)", parameter: "format"
            )
        }
        let declared = format ?? (detected == ImageFormat.qcow2.rawValue ? .qcow2 : .raw)
        var info = try check(copyName, as: declared, for: name)

        var keptName = copyName
        if declared == .raw {
            let (convertedName, _) = try io { try folder.createUnique(prefix: ".convert") }
            temporaries.append(convertedName)
            try convert(copyName, to: convertedName)
            info = try check(convertedName, as: .qcow2, for: name)
            try io { try folder.removeEntry(copyName) }
            keptName = convertedName
        }
        let kept = try io { try folder.openAt(keptName, O_RDONLY | O_NOFOLLOW) }
        let allocated = try Upload.place(
            kept, named: keptName, in: folder, as: name, mode: 0o444, claimSpace: claimSpace, exists: Self.exists(name)
        )
        // Placed: from here nothing throws, so an error always means nothing was placed. The
        // temporary name goes in the `defer`; a failed flush of the directory is only logged.
        do throws(SystemError) {
            try folder.sync()
        } catch {
            logger.warning("the image directory could not be flushed after an import", metadata: ["error": "\(error)"])
        }
        logger.info(
            "imported a template",
            metadata: [
                "template": "\(name)", "sha256": "\(hashed.sha256)", "format": "\(declared.rawValue)", "size": "\(hashed.byteCount)",
                "allocated": "\(allocated)", "virtual_size": "\(info.virtualSize)",
            ]
        )
        return Imported(
            name: name, sourceFormat: declared, sha256: hashed.sha256, size: hashed.byteCount, allocated: allocated,
            virtualSize: info.virtualSize
        )
    }

    /// Probes the directory's entry `entry` as `format` and applies the policy; errors name the
    /// template (`name`), not the temporary file.
    private func check(_ entry: String, as format: ImageFormat, for name: String) throws(ImageError) -> ImageInfo {
        var info = try probe.probe(path: directory + "/" + entry, format: format)
        info.path = name
        try policy.checkImported(info)
        return info
    }

    /// `qemu-img convert -f raw -O qcow2`, under the probe's address-space limit; holes stay holes.
    private func convert(_ source: String, to destination: String) throws(ImageError) {
        let qemuImg = try probe.runner.locator.locate(.qemuImg)
        let output = try probe.runner.run(
            .prlimit,
            ["--as=\(probe.addressSpaceLimit)", "--", qemuImg, "convert", "-f", "raw", "-O", "qcow2", directory + "/" + source, directory + "/" + destination],
            timeout: conversionTimeout
        )
        guard output.succeeded else { throw output.failure("converting the raw image to qcow2") }
    }

    /// Removes the temporary files an interrupted import left, and returns what was removed.
    /// Call it only while no import runs: at the broker's start, before it serves.
    public func removeLeftovers() -> [Leftover] {
        Upload.removeLeftovers(in: directory, logger: logger)
    }

    private static func exists(_ name: String) -> ImageError {
        ImageError(
            .alreadyExists, "the image pool already has a volume named '\(name)'",
            fix: "choose another --name, or delete the old one first with 'hv pool delete-volume \(name)'", parameter: "name"
        )
    }
}
