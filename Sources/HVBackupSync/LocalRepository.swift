import Foundation

/// What of a local repository is copied, read in the order that keeps a copy whole: first the
/// complete backups (those with a manifest; a backup is complete only once every chunk it names
/// is on disk), then the chunks. A backup committed after the first step is left for the next
/// copy; a chunk written after it is copied, unused, until then.
///
/// Not copied: chunks set aside as bad (`<digest>.bad`), partial and deleting backups, writer
/// registrations and temporary files; `repository.lock` is copied empty, and `writers/` and
/// `tmp/` are made, so the copy opens as a repository.
struct LocalRepository {
    static let configurationFile = "repository.json"
    static let lockFile = "repository.lock"
    static let manifestFile = "manifest.json"
    /// Inside `backups/`: an empty file for each backup deleted here (`Repository.deletedDirectory`).
    static let deletedDirectory = ".deleted"

    /// The path of backup `id`'s manifest, relative to the repository's root.
    static func manifestPath(_ id: String) -> String { "backups/\(id)/\(manifestFile)" }

    /// `repository.json`, byte for byte.
    var configuration: [UInt8]
    /// Each complete backup's files, by path inside the repository (`backups/<id>/vda.fidx`), with sizes.
    var backups: [String: [String: Int64]]
    /// Each chunk, by path inside the repository (`chunks/ab/cd/<digest>`), with its size.
    var chunks: [String: Int64]
    /// The backups deleted here (`backups/.deleted/<id>`): the only ones a copy that follows the
    /// repository removes.
    var deleted: Set<String>

    static func read(_ root: String) throws(SyncError) -> LocalRepository {
        let files = FileManager.default
        func contents(_ relative: String) throws(SyncError) -> [String] {
            do {
                return try files.contentsOfDirectory(atPath: root + "/" + relative).sorted()
            } catch {
                throw SyncError(.localUnreadable, "cannot list \(root)/\(relative): \(error.localizedDescription)", fix: "check that the repository is mounted and whole")
            }
        }
        func size(_ relative: String) -> Int64? {
            var info = stat()
            guard stat(root + "/" + relative, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return Int64(info.st_size)
        }
        guard let data = files.contents(atPath: root + "/" + configurationFile) else {
            throw SyncError(.localUnreadable, "\(root) is not a backup repository: it has no \(configurationFile)", fix: "check the repository's path in the backup configuration")
        }
        var backups: [String: [String: Int64]] = [:]
        for id in try contents("backups") where !id.hasPrefix(".") {
            guard size(manifestPath(id)) != nil else { continue }
            var backup: [String: Int64] = [:]
            for name in try contents("backups/\(id)") where !name.hasPrefix(".") {
                if let bytes = size("backups/\(id)/\(name)") { backup["backups/\(id)/\(name)"] = bytes }
            }
            backups[id] = backup
        }
        var chunks: [String: Int64] = [:]
        for first in try contents("chunks") where isHex(first, length: 2) {
            for second in try contents("chunks/\(first)") where isHex(second, length: 2) {
                for name in try contents("chunks/\(first)/\(second)") where isHex(name, length: 64) {
                    let path = "chunks/\(first)/\(second)/\(name)"
                    if let bytes = size(path) { chunks[path] = bytes }
                }
            }
        }
        var deleted: Set<String> = []
        let deletedPath = "backups/" + deletedDirectory
        if files.fileExists(atPath: root + "/" + deletedPath) {
            deleted = Set(try contents(deletedPath).filter { !$0.hasPrefix(".") })
        }
        return LocalRepository(configuration: Array(data), backups: backups, chunks: chunks, deleted: deleted)
    }

    private static func isHex(_ name: String, length: Int) -> Bool {
        name.utf8.count == length && name.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
