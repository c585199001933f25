/// An image in the broker's ISO library.
public struct IsoInfo: Codable, Sendable, Hashable {
    public var name: String
    /// Its length.
    public var size: ByteSize
    /// What it occupies on disk (its blocks): less than `size` when it has holes.
    public var allocated: ByteSize
    public var sha256: String
    /// Seconds since 1970.
    public var added: Int64
    public var addedBy: UInt32
    /// The group it is charged to; nil for an image placed in the library by hand.
    public var group: String?
    public var source: String?
    public var signatureVerified: Bool

    public init(
        name: String, size: ByteSize, allocated: ByteSize, sha256: String, added: Int64, addedBy: UInt32, group: String?,
        source: String?, signatureVerified: Bool
    ) {
        self.name = name
        self.size = size
        self.allocated = allocated
        self.sha256 = sha256
        self.added = added
        self.addedBy = addedBy
        self.group = group
        self.source = source
        self.signatureVerified = signatureVerified
    }
}

public struct IsoListReply: Codable, Sendable, Hashable {
    public var isos: [IsoInfo]
    /// What the library and the caller's group occupy, against the host policy's totals.
    public var usage: ImageUsage?

    public init(isos: [IsoInfo], usage: ImageUsage? = nil) {
        self.isos = isos
        self.usage = usage
    }
}

/// What stored images occupy on disk against the host policy's totals: the whole ISO library
/// against `iso.max_total`, and the images charged to one group against `groups.NAME.images`.
public struct ImageUsage: Codable, Sendable, Hashable {
    public var library: ByteSize
    /// Nil when the library's total is not limited.
    public var libraryLimit: ByteSize?
    /// The group the caller's images are charged to.
    public var group: String
    public var groupImages: ByteSize
    /// Nil when the group's images are not limited.
    public var groupLimit: ByteSize?

    public init(library: ByteSize, libraryLimit: ByteSize?, group: String, groupImages: ByteSize, groupLimit: ByteSize?) {
        self.library = library
        self.libraryLimit = libraryLimit
        self.group = group
        self.groupImages = groupImages
        self.groupLimit = groupLimit
    }
}

/// Sent on the upload socket together with an open, readable descriptor of the image.
public struct IsoAddParameters: Codable, Sendable, Hashable {
    public var name: String
    public var sha256: String
    /// Where the caller downloaded it from, for the record.
    public var source: String?
    /// A detached OpenPGP signature, base64, checked with gpgv against the admin's keyring.
    public var signature: String?

    public init(name: String, sha256: String, source: String? = nil, signature: String? = nil) {
        self.name = name
        self.sha256 = sha256
        self.source = source
        self.signature = signature
    }
}

public struct IsoNameParameters: Codable, Sendable, Hashable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct IsoReply: Codable, Sendable, Hashable {
    public var iso: IsoInfo
    public init(iso: IsoInfo) { self.iso = iso }
}

public struct IsoVerifyReply: Codable, Sendable, Hashable {
    public var name: String
    public var intact: Bool
    public var expected: String
    public var actual: String
    public init(name: String, intact: Bool, expected: String, actual: String) {
        self.name = name
        self.intact = intact
        self.expected = expected
        self.actual = actual
    }
}

/// SHA-256 digests as the library takes them: 64 hex digits.
public enum Sha256Text {
    public static func validate(_ text: String, field: String = "sha256") throws(HVError) {
        guard text.count == 64, text.allSatisfy(\.isHexDigit) else {
            throw .invalidParameter(
                field, "\(field) must be 64 hexadecimal digits (a SHA-256 digest), got \(text.count) characters",
                fix: "copy the image's SHA-256 from the publisher's SHA256SUMS file, or run 'sha256sum FILE'"
            )
        }
    }
}

/// How far a long job (hashing, copying) got, sent before the result of a `more` call.
public struct ProgressReply: Codable, Sendable, Hashable {
    public var progress: WorkProgress

    public init(progress: WorkProgress) {
        self.progress = progress
    }
}

/// Bytes done so far, of `total` when known; `phase` says what a job of several steps is doing
/// (a backup: `reading vda`, a restore: `writing vda`).
public struct WorkProgress: Codable, Sendable, Hashable {
    public var done: Int64
    public var total: Int64?
    public var phase: String?

    public init(done: Int64, total: Int64?, phase: String? = nil) {
        self.done = done
        self.total = total
        self.phase = phase
    }
}
