/// `Backup.Create`: back up a machine into a repository the administrator configured (the only
/// one when absent).
public struct BackupCreateParameters: Codable, Sendable, Hashable {
    public var machine: String
    public var repository: String?

    public init(machine: String, repository: String? = nil) {
        self.machine = machine
        self.repository = repository
    }
}

/// `Backup.List`: the backups of one repository, of one machine when named.
public struct BackupListParameters: Codable, Sendable, Hashable {
    public var repository: String?
    public var machine: String?

    public init(repository: String? = nil, machine: String? = nil) {
        self.repository = repository
        self.machine = machine
    }
}

/// `Backup.Show`, `Backup.Verify` and `Backup.Delete`: one backup by its id.
public struct BackupIdParameters: Codable, Sendable, Hashable {
    public var repository: String?
    public var id: String

    public init(repository: String? = nil, id: String) {
        self.repository = repository
        self.id = id
    }
}

/// `Backup.Restore`: a new machine `name` from a backup, its disks in `pool` (the broker's own
/// pool when absent); or, with `inPlace`, the backup's disks written over the disks of the stopped
/// machine the backup is of (`disks`: only these targets), with no `name` or `pool`.
public struct BackupRestoreParameters: Codable, Sendable, Hashable {
    public var repository: String?
    public var id: String
    public var name: String?
    public var pool: String?
    public var inPlace: Bool?
    public var disks: [String]?

    public init(repository: String? = nil, id: String, name: String? = nil, pool: String? = nil, inPlace: Bool? = nil, disks: [String]? = nil) {
        self.repository = repository
        self.id = id
        self.name = name
        self.pool = pool
        self.inPlace = inPlace
        self.disks = disks
    }
}

/// One disk of a backup.
public struct BackupDiskInfo: Codable, Sendable, Hashable {
    /// The disk's target in the machine (`vda`).
    public var target: String
    /// The disk's virtual size in bytes.
    public var size: Int64
    /// Bytes read from the disk for this backup (chunks of zeros and unchanged chunks are not read).
    public var bytesRead: Int64
    /// Bytes of chunks this backup was the first to store in the repository.
    public var bytesStored: Int64
    /// The newest verification of this disk's chunks; absent until the backup is verified.
    public var verification: BackupVerification?

    public init(target: String, size: Int64, bytesRead: Int64, bytesStored: Int64, verification: BackupVerification? = nil) {
        self.target = target
        self.size = size
        self.bytesRead = bytesRead
        self.bytesStored = bytesStored
        self.verification = verification
    }
}

/// A verification of a disk's chunks: every chunk read back and hashed.
public struct BackupVerification: Codable, Sendable, Hashable {
    /// Seconds since 1970.
    public var time: Int64
    public var ok: Bool
    public var chunks: Int
    public var bad: Int
    public var missing: Int
    /// For a failed verification, the first bad or missing chunks, each named by backup, disk and chunk.
    public var problems: [String]?

    public init(time: Int64, ok: Bool, chunks: Int, bad: Int, missing: Int, problems: [String]? = nil) {
        self.time = time
        self.ok = ok
        self.chunks = chunks
        self.bad = bad
        self.missing = missing
        self.problems = problems
    }
}

/// One backup as `hv backup list` and `hv backup show` show it.
public struct BackupInfo: Codable, Sendable, Hashable {
    public var id: String
    public var repository: String
    public var machine: String
    /// The group the machine was charged to when it was backed up.
    public var group: String?
    /// Seconds since 1970, when the backup began.
    public var time: Int64
    /// The backup this one is incremental to; absent for a full backup.
    public var parent: String?
    /// Whether the guest agent froze the guest's file systems while the backup began.
    public var frozen: Bool
    public var disks: [BackupDiskInfo]
    /// The newest boot test of this backup; absent until it is boot-tested.
    public var bootTest: BackupBootTest?
    /// What the newest checks say: `bad` when a disk's newest verification or the newest boot
    /// test failed, `ok` when one of them passed, `unverified` before any.
    public var status: BackupStatus

    public init(
        id: String, repository: String, machine: String, group: String?, time: Int64, parent: String?, frozen: Bool,
        disks: [BackupDiskInfo], bootTest: BackupBootTest? = nil
    ) {
        self.id = id
        self.repository = repository
        self.machine = machine
        self.group = group
        self.time = time
        self.parent = parent
        self.frozen = frozen
        self.disks = disks
        self.bootTest = bootTest
        self.status = BackupStatus(verifications: disks.map(\.verification), bootTest: bootTest)
    }

    public var incremental: Bool { parent != nil }
    public var bytesRead: Int64 { disks.reduce(0) { $0 + $1.bytesRead } }
    public var bytesStored: Int64 { disks.reduce(0) { $0 + $1.bytesStored } }
}

/// The reply of `Backup.Create`, `Backup.Show` and `Backup.Verify`; before the result of a `more`
/// call of Create or Verify, replies carry only `progress`.
public struct BackupReply: Codable, Sendable, Hashable {
    public var backup: BackupInfo

    public init(backup: BackupInfo) {
        self.backup = backup
    }
}

public struct BackupListReply: Codable, Sendable, Hashable {
    /// The repository listed.
    public var repository: String
    /// Every repository the administrator configured.
    public var repositories: [String]
    public var backups: [BackupInfo]

    public init(repository: String, repositories: [String], backups: [BackupInfo]) {
        self.repository = repository
        self.repositories = repositories
        self.backups = backups
    }
}

/// The result of `Backup.Verify`.
public struct BackupVerifyReply: Codable, Sendable, Hashable {
    public var backup: BackupInfo
    public var ok: Bool
    public var chunksChecked: Int
    public var bytesChecked: Int64
    /// Each bad or missing chunk: disk, chunk index and why.
    public var problems: [String]

    public init(backup: BackupInfo, ok: Bool, chunksChecked: Int, bytesChecked: Int64, problems: [String]) {
        self.backup = backup
        self.ok = ok
        self.chunksChecked = chunksChecked
        self.bytesChecked = bytesChecked
        self.problems = problems
    }
}

/// The result of `Backup.Restore`: the new machine, or the machine restored in place.
public struct BackupRestoreReply: Codable, Sendable, Hashable {
    public var name: String
    public var uuid: String
    /// The disk volumes written, as `POOL/NAME`.
    public var volumes: [String]
    /// The bytes written to its disks (chunks of zeros are left as holes and not counted).
    public var bytesRestored: Int64
    /// For a restore in place: the checkpoints removed (the machine's next backup is a full one).
    public var checkpointsRemoved: Int?

    public init(name: String, uuid: String, volumes: [String], bytesRestored: Int64, checkpointsRemoved: Int? = nil) {
        self.name = name
        self.uuid = uuid
        self.volumes = volumes
        self.bytesRestored = bytesRestored
        self.checkpointsRemoved = checkpointsRemoved
    }
}

/// Backup ids as repositories make them: the start time in UTC and 8 hex digits,
/// `2026-12-06T09-10-00Z-1f0c9a3e`. An id is a file name in a repository, so nothing else passes.
public enum BackupIdText {
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 29 else { return false }
        let pattern = Array("0000-00-00T00-00-00Z-".utf8)
        for (byte, expected) in zip(bytes, pattern) {
            if expected == UInt8(ascii: "0") {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return false }
            } else if byte != expected {
                return false
            }
        }
        let hexDigits = Set("0123456789abcdef".utf8)
        return bytes[pattern.count...].allSatisfy(hexDigits.contains)
    }

    public static func validate(_ text: String, field: String = "id") throws(HVError) {
        guard isValid(text) else {
            throw .invalidParameter(
                field, "'\(VmName.printable(text))' is not a backup id: ids look like 2026-12-06T09-10-00Z-1f0c9a3e",
                fix: "copy the id from 'hv backup list'"
            )
        }
    }
}

/// Repository names are the keys of the administrator's backup configuration: the machine-name rule.
public enum RepositoryName {
    public static func validate(_ name: String, field: String = "repository") throws(HVError) {
        try VmName.validate(name, field: field, kind: "repository")
    }
}
