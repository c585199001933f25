/// Makes a copy follow its repository's deletions (`remove_vanished` in the backup
/// configuration), once a copy has left it whole and checked:
///
/// 1. The backups the copy holds that were deleted here (pruned or deleted: each leaves its name
///    in `backups/.deleted/`) and are not here now, and what is left of one whose removal was cut
///    off (files without a manifest): their manifests first, so each backup leaves the copy's
///    listing before its indexes go, then the rest, then their empty directories. A backup the
///    copy holds that this repository never deleted stays, whatever the reason it is not here: a
///    new repository in the old one's place, a backup that can't be read here, another
///    repository's backup.
/// 2. The chunks the repository does not hold and no backup left in the copy uses. Those
///    backups' chunks are read from the repository's own indexes, so a chunk set aside as bad
///    here, whose good copy is there, stays. When one of them is not here, or can't be read here
///    (deleted while the copy ran), no chunk is removed this time.
///
/// A repository that holds no backup at all removes nothing: an empty listing is more likely a
/// mistake (another directory mounted in its place) than every backup pruned.
struct VanishedRemoval {
    var sync: RepositorySync
    var chunksInUse: @Sendable ([String]) throws -> Set<String>

    /// Files per `rclone delete` run.
    static let batchFiles = 4096

    /// `copy`: the copy's files after the copy; `kept`: the backups the repository holds, all of
    /// them in the copy now.
    func run(copy: RemoteListing, kept: [String], local: LocalRepository) throws(SyncError) -> RepositorySync.Removal {
        var removal = RepositorySync.Removal(backups: [], chunks: 0, bytes: 0, chunksKeptBecause: nil)
        guard !kept.isEmpty else {
            removal.chunksKeptBecause = "the repository holds no backup; nothing is removed from the copy while it holds none"
            return removal
        }
        let keep = Set(kept)
        var vanished: [String: [String]] = [:]
        /// Backups the copy holds that this repository neither has nor deleted.
        var foreign: Set<String> = []
        for path in copy.sizes.keys {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "backups" else { continue }
            let id = String(parts[1])
            guard !keep.contains(id) else { continue }
            if local.deleted.contains(id) {
                vanished[id, default: []].append(path)
            } else {
                foreign.insert(id)
            }
        }
        removal.backups = vanished.keys.sorted()
        if !vanished.isEmpty {
            let manifests = removal.backups.map(LocalRepository.manifestPath).filter { copy.sizes[$0] != nil }
            if !manifests.isEmpty {
                try sync.delete(manifests, doing: "remove the manifests of \(manifests.count) backups no longer in the repository")
            }
            let rest = vanished.values.joined().filter { !manifests.contains($0) }.sorted()
            if !rest.isEmpty { try sync.delete(rest, doing: "remove the indexes of backups no longer in the repository") }
            try sync.rclone.run(
                "rmdirs", [sync.rclone.target.location("backups"), "--leave-root"], doing: "remove the directories of backups no longer in the repository"
            )
        }

        guard foreign.isEmpty else {
            let named = foreign.sorted()
            removal.chunksKeptBecause = "the copy holds backups this repository neither has nor deleted (\(named.prefix(3).joined(separator: ", "))\(named.count > 3 ? ", …" : "")); no chunk is removed while it does"
            return removal
        }
        let inUse: Set<String>
        do {
            inUse = try chunksInUse(kept)
        } catch {
            removal.chunksKeptBecause = "the backups left in the copy could not all be read here (\(error)); the next copy removes the chunks no backup uses"
            return removal
        }
        let unused = copy.sizes.filter { path, _ in
            path.hasPrefix("chunks/") && path.split(separator: "/").count == 4 && local.chunks[path] == nil && !inUse.contains(path)
        }
        let paths = unused.keys.sorted()
        for start in stride(from: 0, to: paths.count, by: Self.batchFiles) {
            let batch = Array(paths[start..<min(start + Self.batchFiles, paths.count)])
            try sync.delete(batch, doing: "remove \(batch.count) chunks no backup in the copy uses")
        }
        removal.chunks = paths.count
        removal.bytes = unused.values.reduce(0, +)
        return removal
    }
}
