import HVProtocol

extension Repository {
    /// Records the outcome of a boot test in the manifest of the backup `id`, keeping the last
    /// `BackupManifest.maximumVerifications`; returns false when the backup was deleted meanwhile.
    @discardableResult
    public func recordBootTest(_ id: String, _ test: BackupBootTest) throws(BackupError) -> Bool {
        try checkID(id)
        return try updateManifest(id) { manifest in
            manifest.bootTests = Array(((manifest.bootTests ?? []) + [test]).suffix(BackupManifest.maximumVerifications))
        }
    }
}
