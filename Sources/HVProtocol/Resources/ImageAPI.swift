/// Sent on the upload socket with an open, readable descriptor of a qcow2 or raw disk image, which
/// the broker keeps in its image pool as a template (`Image.Import`).
public struct ImageImportParameters: Codable, Sendable, Hashable {
    /// The template's name: the volume name a spec's `template:` names.
    public var name: String
    public var sha256: String
    /// `qcow2` or `raw`; when absent, the image's first bytes decide (qcow2 if they say so, else raw).
    public var format: String?
    /// The group the template is charged to; the caller's group when absent.
    public var group: String?
    /// Where the caller downloaded it from, for the record.
    public var source: String?

    public init(name: String, sha256: String, format: String? = nil, group: String? = nil, source: String? = nil) {
        self.name = name
        self.sha256 = sha256
        self.format = format
        self.group = group
        self.source = source
    }

    /// The disk image formats `format` may name.
    public static let formats = ["qcow2", "raw"]

    /// Refuses what the broker would refuse before it reads a byte of the file.
    public func validate() throws(HVError) {
        try VolumeName.validate(name)
        try Sha256Text.validate(sha256)
        if let format, !Self.formats.contains(format) {
            throw .invalidParameter("format", "format must be qcow2 or raw, got '\(VmName.printable(format))'", fix: "pass --format qcow2 or --format raw")
        }
        if let group, GroupNameText.problem(with: group) != nil {
            throw .invalidParameter(
                "group", "'\(VmName.printable(group))' is not a group name", fix: "give a group you are in, as 'id -Gn' prints it"
            )
        }
        if let source, source.utf8.count > 2048 {
            throw .invalidParameter("source", "source is longer than 2048 characters", fix: "give the URL the image came from")
        }
    }
}

/// A template brought in by `Image.Import`.
public struct ImportedImageInfo: Codable, Sendable, Hashable {
    /// The template's volume name, for a spec's `template:`.
    public var name: String
    /// The pool it is a volume of.
    public var pool: String
    /// The format it was handed over in; raw images are stored as qcow2.
    public var sourceFormat: String
    /// The size its guests see.
    public var virtualSize: ByteSize
    /// What it occupies on disk, charged to `group`.
    public var allocated: ByteSize
    /// The SHA-256 of the bytes handed over, as checked.
    public var sha256: String
    public var group: String
    public var source: String?

    public init(
        name: String, pool: String, sourceFormat: String, virtualSize: ByteSize, allocated: ByteSize, sha256: String, group: String,
        source: String?
    ) {
        self.name = name
        self.pool = pool
        self.sourceFormat = sourceFormat
        self.virtualSize = virtualSize
        self.allocated = allocated
        self.sha256 = sha256
        self.group = group
        self.source = source
    }
}

public struct ImageImportReply: Codable, Sendable, Hashable {
    public var image: ImportedImageInfo
    public init(image: ImportedImageInfo) { self.image = image }
}

/// Unix group names as `groupadd` accepts them: a letter, digit or `_` first, then letters,
/// digits, `_`, `-` and `.`, at most 32 characters (a trailing `$` for machine accounts).
public enum GroupNameText {
    /// What is wrong with `name` as a group name, or nil when it is one.
    public static func problem(with name: String) -> String? {
        let bytes = Array(name.utf8)
        guard (1...32).contains(bytes.count) else { return "a group name has 1 to 32 characters" }
        func allowed(_ byte: UInt8, first: Bool) -> Bool {
            (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x5F
                || (!first && (byte == 0x2D || byte == 0x2E))
        }
        guard allowed(bytes[0], first: true) else { return "a group name starts with a letter, a digit or '_'" }
        for (index, byte) in bytes.enumerated().dropFirst() where !allowed(byte, first: false) {
            if byte == 0x24, index == bytes.count - 1 { continue }
            return "a group name has only letters, digits, '_', '-' and '.'"
        }
        return nil
    }
}
