import Foundation

/// Where the broker keeps what it manages. Every path is derived from the broker's own
/// configuration and a validated name; no client ever supplies one.
public struct StorageLayout: Sendable, Hashable {
    public var stateDirectory: String
    public var consoleDirectory: String
    /// The libvirt storage pool that holds the image directory.
    public var poolName: String
    /// Where libvirt keeps the state of emulated TPMs, one directory per domain UUID; nil when the
    /// broker's libvirt is not one it knows the directory of, and leaves TPM state to libvirt alone.
    public var tpmStateDirectory: String?

    /// libvirt's TPM state directory for `qemu:///system` (built into libvirt, not configurable).
    public static let systemTPMStateDirectory = "/var/lib/libvirt/swtpm"

    /// The TPM state directory of the libvirt connection `uri`: known for `qemu:///system` only.
    public static func tpmStateDirectory(uri: String) -> String? {
        uri == "qemu:///system" ? systemTPMStateDirectory : nil
    }

    /// The pool of the host's own broker; records without an instance belong to it.
    public static let defaultPoolName = "hypervisor-images"

    public init(
        stateDirectory: String, consoleDirectory: String, poolName: String = StorageLayout.defaultPoolName,
        tpmStateDirectory: String? = nil
    ) {
        self.stateDirectory = stateDirectory
        self.consoleDirectory = consoleDirectory
        self.poolName = poolName
        self.tpmStateDirectory = tpmStateDirectory
    }

    public var imageDirectory: String { stateDirectory + "/images" }
    public var isoDirectory: String { stateDirectory + "/isos" }
    /// cloud-init NoCloud seed images the broker builds.
    public var seedDirectory: String { stateDirectory + "/seeds" }

    /// The journal of changes that made volumes and have not finished (`PendingWork`).
    public var pendingDirectory: String { stateDirectory + "/pending" }

    /// Backups' working directories, one per running machine's backup (its NBD socket and scratch
    /// files, made by QEMU): traversable by QEMU's user, each one writable only by it and root.
    public var backupWorkDirectory: String { stateDirectory + "/backup-work" }

    /// The last run of each backup job (`BackupJobState`).
    public var backupJobDirectory: String { stateDirectory + "/backup-jobs" }

    public func seedPath(machine: String) -> String { seedDirectory + "/" + machine + "-seed.iso" }

    /// The name of a machine's first disk volume.
    public func diskVolumeName(machine: String) -> String { "\(machine)-disk0.qcow2" }

    public func isoPath(_ iso: String) -> String { isoDirectory + "/" + iso }

    public func consoleLogPath(machine: String) -> String { consoleDirectory + "/" + machine + ".log" }

    /// The state of the emulated TPM of the domain with this UUID (libvirt's own form, checked by
    /// the caller); nil when the directory is not known.
    public func tpmStatePath(uuid: String) -> String? { tpmStateDirectory.map { $0 + "/" + uuid } }

    /// Whether `path` names a file directly inside the image directory.
    public func isImage(_ path: String) -> Bool {
        (path as NSString).deletingLastPathComponent == imageDirectory
    }

    /// Creates the directories with the modes libvirt's unprivileged QEMU user needs: it must
    /// traverse the image and ISO directories but not list the images.
    public func createDirectories() throws {
        let manager = FileManager.default
        for (path, mode) in [
            (stateDirectory, 0o755), (imageDirectory, 0o711), (isoDirectory, 0o755), (seedDirectory, 0o711),
            (pendingDirectory, 0o700), (consoleDirectory, 0o750), (backupWorkDirectory, 0o711), (backupJobDirectory, 0o700),
        ] {
            try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
            try manager.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
    }
}
