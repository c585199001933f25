import Foundation
import HVProtocol

/// What a backup holds (`backups/<id>/manifest.json`): the machine, when, what it was made from,
/// the machine's definition as the caller gave it, and one entry per disk.
public struct BackupManifest: Codable, Hashable, Sendable {
    /// The manifest format this library writes.
    public static let currentFormat = 1

    public var format: Int
    public var id: String
    public var machine: String
    /// When the backup started.
    public var time: Date
    /// The backup whose unchanged chunks this one reused, for an incremental backup.
    public var parent: String?
    /// The disk checkpoint the next incremental backup starts from, as the caller named it.
    public var checkpoint: String?
    /// Whether the guest's file systems were frozen while the disks were read.
    public var frozen: Bool
    /// The machine's spec record, as the caller gave it.
    public var spec: String
    /// The machine's domain XML, as the caller gave it.
    public var domainXML: String
    public var disks: [Disk]
    /// The results of boot tests (`Repository.recordBootTest`), oldest first; the last
    /// `maximumVerifications` are kept. Absent until the first.
    public var bootTests: [BackupBootTest]?

    /// One disk of a backup.
    public struct Disk: Codable, Hashable, Sendable {
        /// The disk's target name in the machine (`vda`).
        public var target: String
        /// The disk's virtual size in bytes.
        public var size: UInt64
        /// The disk's image format (`qcow2`, `raw`), as the caller gave it.
        public var format: String
        public var chunkCount: Int
        /// The bytes the caller handed in (chunks kept from the parent or declared zero cost nothing).
        public var bytesRead: UInt64
        /// The bytes of the chunks this backup stored first; chunks already there are not counted.
        public var bytesStored: UInt64
        /// The index file's name in the backup's directory (`vda.fidx`).
        public var index: String
        /// The results of `Repository.verify`, oldest first; the last `maximumVerifications` are kept.
        public var verifications: [Verification]
    }

    /// The outcome of one verification of a disk.
    public struct Verification: Codable, Hashable, Sendable {
        public var time: Date
        public var ok: Bool
        /// The index entries checked.
        public var chunks: Int
        /// Entries whose chunk did not hash to its name or could not be decrypted.
        public var bad: Int
        /// Entries whose chunk was absent.
        public var missing: Int
        /// For a failure, the first `maximumProblems` bad or missing chunks, each named by backup,
        /// disk and chunk. Absent in results recorded before problems were kept.
        public var problems: [String]?
    }

    /// How many problems a verification result keeps.
    public static let maximumProblems = 16

    /// How many verification results a disk keeps.
    public static let maximumVerifications = 16

    public func disk(_ target: String) -> Disk? { disks.first { $0.target == target } }

    static func decode(_ bytes: [UInt8]) -> BackupManifest? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.userInfo[BackupBootTest.timeAsDate] = true
        return try? decoder.decode(BackupManifest.self, from: Data(bytes))
    }

    var encoded: [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.userInfo[BackupBootTest.timeAsDate] = true
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        // Plain strings, dates and integers always encode.
        return Array((try? encoder.encode(self)) ?? Data())
    }
}
