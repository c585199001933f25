import Foundation
import Glibc
import HVProtocol
import HVSystem
import Logging

/// The broker's directory of installation images (for example `/var/lib/hypervisor/isos`, mode
/// 0755): each image `NAME.iso` (mode 0644) with a sidecar `.NAME.iso.json` recording its
/// checksum and origin. Every operation works relative to the open directory and never follows
/// a symlink inside it.
///
/// The methods block (file I/O, hashing, gpgv); callers run them on a thread pool.
public struct IsoLibrary: Sendable {
    /// The library directory.
    public let directory: String
    /// Runs gpgv for signature checks.
    public var runner: ProcessRunner
    public var logger: Logger

    /// The largest sidecar the library reads.
    static let maximumRecordBytes = 64 << 10

    public init(directory: String, runner: ProcessRunner = ProcessRunner(), logger: Logger? = nil) {
        self.directory = directory
        self.runner = runner
        self.logger = logger ?? runner.logger
    }

    /// Creates the library directory (mode 0755) if it does not exist.
    public func createDirectory() throws(ImageError) {
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else { throw ioError("create \(directory)") }
        guard chmod(directory, 0o755) == 0 else { throw ioError("set the mode of \(directory)") }
    }

    /// The library's images, sorted by name. Files whose names are not valid image names, and
    /// anything but regular files, are not entries. An image an administrator copied into the
    /// folder by hand is recorded on first sight (see `recordFound`), so it gets a checksum and a
    /// date like any other, and a later change to it is detected.
    public func list() throws(ImageError) -> [IsoEntry] {
        try entries { name, library in readRecord(name, in: library) ?? recordFound(name, in: library) }
    }

    /// The library's images as they are stored now, for totals: like `list`, but an image without
    /// a record is left unrecorded (nothing is hashed), so this is quick.
    public func storedImages() throws(ImageError) -> [IsoEntry] {
        try entries { name, library in readRecord(name, in: library) }
    }

    /// Every entry with its size, what it occupies on disk, and the record `record` finds.
    private func entries(_ record: (String, Descriptor) -> IsoRecord?) throws(ImageError) -> [IsoEntry] {
        let library = try Descriptor.openDirectory(directory)
        var entries: [IsoEntry] = []
        for name in try io({ try library.entryNames() }).sorted() where Self.isEntryName(name) {
            guard let info = try io({ try library.entryStatus(name) }), info.isRegularFile else { continue }
            entries.append(
                IsoEntry(name: name, size: UInt64(info.st_size), allocated: Holes.allocatedBytes(info), record: record(name, library))
            )
        }
        return entries
    }

    /// Hashes an image that has no record and records it: its SHA-256, its size, the time it was
    /// last written (when it was copied in) and its owner as the one who added it. Nil when it
    /// can't be read, or changed while it was hashed.
    func recordFound(_ name: String, in library: Descriptor) -> IsoRecord? {
        do throws(ImageError) {
            let file = try io { try library.openAt(name, O_RDONLY | O_NONBLOCK) }
            let before = try io { try file.status() }
            guard before.isRegularFile else { return nil }
            let hashed = try hashedCopy(from: file)
            let after = try io { try file.status() }
            guard hashed.byteCount == UInt64(after.st_size), after.st_mtim.tv_sec == before.st_mtim.tv_sec,
                after.st_mtim.tv_nsec == before.st_mtim.tv_nsec
            else { return nil }
            let record = IsoRecord(
                sha256: hashed.sha256, size: hashed.byteCount, addedAt: Date(timeIntervalSince1970: TimeInterval(after.st_mtim.tv_sec)),
                addedBy: after.st_uid, source: nil, signatureVerified: false
            )
            try writeRecord(record, for: name, in: library)
            logger.notice("recorded an image found in the library", metadata: ["name": "\(name)", "sha256": "\(hashed.sha256)"])
            return record
        } catch {
            logger.warning("an image found in the library could not be recorded", metadata: ["name": "\(name)", "error": "\(error)"])
            return nil
        }
    }

    /// The absolute path of the image `name`; it must be a regular file, never a symlink.
    public func path(of name: String) throws(ImageError) -> String {
        try Self.validate(name)
        let library = try Descriptor.openDirectory(directory)
        _ = try Self.regularEntry(name, in: library)
        return directory + "/" + name
    }

    /// Recomputes the image's SHA-256 and compares it with the recorded one, telling `observer`
    /// how far it got.
    public func verify(_ name: String, observer: CopyObserver = .none) throws(ImageError) -> IsoVerification {
        try Self.validate(name)
        let library = try Descriptor.openDirectory(directory)
        _ = try Self.regularEntry(name, in: library)
        // O_NONBLOCK: should the entry be swapped for a FIFO meanwhile, opening it must not hang.
        let file = try io { try library.openAt(name, O_RDONLY | O_NONBLOCK) }
        let info = try io { try file.status() }
        guard info.isRegularFile else { throw Self.notAnImage(name, info) }
        let hashed = try hashedCopy(from: file, total: UInt64(info.st_size), observer: observer)
        let recorded = readRecord(name, in: library)?.sha256
        let status: IsoVerification.Status =
            recorded == nil ? .unrecorded : recorded == hashed.sha256 ? .intact : .modified
        return IsoVerification(
            name: name, status: status, recordedSHA256: recorded, actualSHA256: hashed.sha256, size: hashed.byteCount
        )
    }

    /// Removes the image and its record.
    public func remove(_ name: String) throws(ImageError) {
        try Self.validate(name)
        let library = try Descriptor.openDirectory(directory)
        _ = try Self.regularEntry(name, in: library)
        try io { try library.removeEntry(name) }
        try io { try library.removeEntry(Self.recordName(name)) }
        try io { try library.sync() }
        logger.info("removed an ISO image", metadata: ["iso": "\(name)"])
    }

    // MARK: - Helpers shared with `add`

    static func validate(_ name: String) throws(ImageError) {
        do throws(HVError) {
            try IsoName.validate(name, field: "name")
        } catch {
            throw ImageError(error, parameter: "name")
        }
    }

    static func isEntryName(_ name: String) -> Bool {
        (try? IsoName.validate(name)) != nil
    }

    static func recordName(_ name: String) -> String { "." + name + ".json" }

    static func regularEntry(_ name: String, in library: Descriptor) throws(ImageError) -> stat {
        guard let info = try io({ try library.entryStatus(name) }) else {
            throw ImageError(.notFound, "the ISO library has no image named '\(name)'", fix: "run 'hv iso list' to see the images")
        }
        guard info.isRegularFile else { throw notAnImage(name, info) }
        return info
    }

    static func notAnImage(_ name: String, _ info: stat) -> ImageError {
        ImageError(
            .notFound, "'\(name)' in the ISO library is \(info.kindDescription), not an image",
            fix: "ask the administrator to replace it with the image file itself"
        )
    }

    /// The sidecar record of `name`, or nil when it is missing or unreadable.
    func readRecord(_ name: String, in library: Descriptor) -> IsoRecord? {
        let recordName = Self.recordName(name)
        guard let file = try? library.openAt(recordName, O_RDONLY | O_NONBLOCK), let info = try? file.status(),
            info.isRegularFile, info.st_size <= Self.maximumRecordBytes
        else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = try? file.read(into: &bytes, at: 0)
        guard count == bytes.count else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(IsoRecord.self, from: Data(bytes))
        } catch {
            logger.warning("an ISO library record cannot be read", metadata: ["record": "\(recordName)", "error": "\(error)"])
            return nil
        }
    }
}
