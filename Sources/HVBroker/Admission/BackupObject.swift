import HVProtocol

/// A backup as the admission path sees it before asking polkit: the repository it is in, the
/// machine it is of and the group that machine was charged to, read from the record the backup
/// keeps (never from the caller). Its `details` are what polkit's rules read.
public struct BackupObject: Sendable, Hashable {
    public var id: String
    /// The repository's name in the backup configuration.
    public var repository: String
    public var machine: String
    /// Nil when the backup holds no record this broker can read: then only administrators act on it.
    public var ownerGroup: String?

    public init(id: String, repository: String, machine: String, ownerGroup: String?) {
        self.id = id
        self.repository = repository
        self.machine = machine
        self.ownerGroup = ownerGroup
    }

    /// The details polkit gets: the backup, and the machine it is of as a managed machine, so the
    /// rules that decide about a machine's group decide the same about its backups.
    public var details: [String: String] {
        var details = ["backup": id, "repository": repository, "machine": machine, "exists": "true", "managed": "true"]
        if let ownerGroup { details["owner_group"] = ownerGroup }
        return details
    }

    /// The details for a backup that is not there: the verb decides, and the broker answers NotFound.
    public static func absent(_ id: String, repository: String?) -> [String: String] {
        ["backup": id, "repository": repository ?? "", "exists": "false", "managed": "true"]
    }
}
