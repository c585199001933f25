import Foundation

/// What the broker recorded when it added an image to the ISO library (the sidecar
/// `.NAME.iso.json` next to `NAME.iso`).
public struct IsoRecord: Codable, Sendable, Hashable {
    /// The SHA-256 of the image as added, 64 lowercase hex digits.
    public var sha256: String
    /// The size in bytes as added.
    public var size: UInt64
    public var addedAt: Date
    /// The uid of the user who added it.
    public var addedBy: UInt32
    /// Where the user said the image came from (a URL), if given.
    public var source: String?
    /// Whether a detached signature was checked with gpgv against the admin's keyring.
    public var signatureVerified: Bool
    /// The group the image is charged to (`groups.NAME.images` in the host policy): the one the
    /// user who added it makes machines for. Nil for an image found in the folder, or recorded
    /// before groups were: it counts toward the library's total only.
    public var group: String?

    public init(
        sha256: String, size: UInt64, addedAt: Date, addedBy: UInt32, source: String?, signatureVerified: Bool,
        group: String? = nil
    ) {
        self.sha256 = sha256
        self.size = size
        self.addedAt = addedAt
        self.addedBy = addedBy
        self.source = source
        self.signatureVerified = signatureVerified
        self.group = group
    }

    enum CodingKeys: String, CodingKey {
        case sha256, size, source, group
        case addedAt = "added_at"
        case addedBy = "added_by"
        case signatureVerified = "signature_verified"
    }
}

/// An image in the ISO library.
public struct IsoEntry: Sendable, Hashable {
    /// The file name, such as `debian-12.iso`.
    public var name: String
    /// The file's current size in bytes.
    public var size: UInt64
    /// What the file occupies on disk now, in bytes (its blocks): less than `size` when it has holes.
    public var allocated: UInt64
    /// What was recorded when it was added; nil for a file an administrator placed there by hand.
    public var record: IsoRecord?

    public init(name: String, size: UInt64, allocated: UInt64, record: IsoRecord?) {
        self.name = name
        self.size = size
        self.allocated = allocated
        self.record = record
    }
}

/// The result of recomputing a library image's SHA-256.
public struct IsoVerification: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, Codable {
        /// The image still has the checksum recorded when it was added.
        case intact
        /// The image's checksum differs from the recorded one.
        case modified
        /// Nothing was recorded for the image (it was placed there by hand).
        case unrecorded
    }

    public var name: String
    public var status: Status
    /// The checksum recorded when the image was added, if any.
    public var recordedSHA256: String?
    /// The checksum computed now.
    public var actualSHA256: String
    /// The size read now, in bytes.
    public var size: UInt64

    public init(name: String, status: Status, recordedSHA256: String?, actualSHA256: String, size: UInt64) {
        self.name = name
        self.status = status
        self.recordedSHA256 = recordedSHA256
        self.actualSHA256 = actualSHA256
        self.size = size
    }
}
