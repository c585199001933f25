import Glibc
import HVProtocol
import HVSystem
import Logging

/// What every file handed to the broker (an ISO image, a disk image to import) goes through
/// before it is copied, and the temporary files its copy leaves when the broker is stopped.
enum Upload {
    /// The longest source URL recorded.
    static let maximumSourceLength = 2048

    /// The descriptor's size, if it is a regular file no larger than `maximumBytes`, which
    /// `accepter` ("the ISO library") accepts at most; `fix` says how to get past that.
    static func checkFile(_ descriptor: Descriptor, maximumBytes: UInt64, accepter: String, fix: String) throws(ImageError) -> UInt64 {
        let info: stat
        do {
            info = try descriptor.status()
        } catch {
            throw ImageError(.invalidParameter, "the file descriptor cannot be inspected: \(error.reason)", parameter: "file")
        }
        guard info.isRegularFile else {
            throw ImageError(
                .invalidParameter, "the file handed over is \(info.kindDescription), not a regular file",
                fix: "download the image to a file first and hand over that file", parameter: "file"
            )
        }
        let size = UInt64(info.st_size)
        guard size <= maximumBytes else {
            throw ImageError(
                .tooLarge,
                "the file is \(ByteSize(bytes: size).readable); \(accepter) accepts at most \(ByteSize(bytes: maximumBytes).readable)",
                fix: fix, parameter: "file"
            )
        }
        return size
    }

    static func checkSource(_ source: String) throws(ImageError) {
        guard source.utf8.count <= maximumSourceLength, !source.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw ImageError(
                .invalidParameter, "the source must be at most \(maximumSourceLength) characters without control characters",
                parameter: "source"
            )
        }
    }

    /// Keeps a finished copy: gives the temporary file `temporary` (open as `file`) its `mode`,
    /// flushes it, asks `claimSpace` for what it occupies, and links it into `folder` as `name`,
    /// never replacing an entry (`exists` is the error when the name was taken meanwhile).
    /// Returns what the copy occupies; the temporary name is left for the caller to remove.
    static func place(
        _ file: Descriptor, named temporary: String, in folder: Descriptor, as name: String, mode: mode_t,
        claimSpace: (_ bytes: UInt64) throws(ImageError) -> Void, exists: ImageError
    ) throws(ImageError) -> UInt64 {
        guard fchmod(file.raw, mode) == 0 else { throw ioError("set the mode of the copy") }
        try io { try file.sync() }
        let allocated = Holes.allocatedBytes(try io { try file.status() })
        try claimSpace(allocated)
        do throws(SystemError) {
            try folder.link(temporary, as: name)
        } catch where error.code == EEXIST {
            throw exists
        } catch {
            throw ImageError(.ioFailed, error.description)
        }
        return allocated
    }

    /// The prefixes of the temporary files a copy makes (`createUnique`): never an image or volume
    /// name, which can't start with a dot.
    static let temporaryPrefixes = [".upload-", ".record-", ".signature-", ".convert-"]

    /// Removes the temporary files an interrupted copy left in `directory` and returns what was
    /// removed. Call it only while nothing copies there: at the broker's start, before it serves.
    static func removeLeftovers(in directory: String, logger: Logger) -> [Leftover] {
        guard let folder = try? Descriptor.openDirectory(directory), let names = try? folder.entryNames() else { return [] }
        var removed: [Leftover] = []
        for name in names.sorted() where temporaryPrefixes.contains(where: { name.hasPrefix($0) }) {
            guard let info = try? folder.entryStatus(name), info.isRegularFile else { continue }
            guard (try? folder.removeEntry(name)) != nil else {
                logger.warning("a partial upload could not be removed", metadata: ["file": "\(directory)/\(name)"])
                continue
            }
            removed.append(Leftover(name: name, bytes: UInt64(info.st_blocks) * 512))
        }
        if !removed.isEmpty { try? Descriptor.syncDirectory(directory) }
        return removed
    }
}

/// A temporary file a copy was writing when the broker stopped.
public struct Leftover: Sendable, Hashable {
    public var name: String
    public var bytes: UInt64
}
