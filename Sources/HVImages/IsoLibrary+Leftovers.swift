import Glibc
import HVSystem
import Logging

extension IsoLibrary {
    /// A temporary file the library was writing when the broker stopped.
    public struct Leftover: Sendable, Hashable {
        public var name: String
        public var bytes: UInt64
    }

    /// The prefixes of the library's own temporary files (`createUnique`): never an image name,
    /// which can't start with a dot.
    static let temporaryPrefixes = [".upload-", ".record-", ".signature-"]

    /// Removes the temporary files an interrupted `add` left (a copy cut short, a record not yet
    /// renamed into place) and returns what was removed. Call it only while no `add` runs: at the
    /// broker's start, before it serves.
    public func removeLeftovers() -> [Leftover] {
        guard let library = try? Descriptor.openDirectory(directory), let names = try? library.entryNames() else { return [] }
        var removed: [Leftover] = []
        for name in names.sorted() where Self.temporaryPrefixes.contains(where: { name.hasPrefix($0) }) {
            guard let info = try? library.entryStatus(name), info.isRegularFile else { continue }
            guard (try? library.removeEntry(name)) != nil else {
                logger.warning("a partial upload could not be removed", metadata: ["file": "\(directory)/\(name)"])
                continue
            }
            removed.append(Leftover(name: name, bytes: UInt64(info.st_blocks) * 512))
        }
        if !removed.isEmpty { try? Descriptor.syncDirectory(directory) }
        return removed
    }
}
