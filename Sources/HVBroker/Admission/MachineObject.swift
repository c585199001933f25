import HVProtocol

/// A machine as the admission path sees it before asking polkit: whether the broker made it, the
/// group it is charged to, and who made it. Its `details` are what polkit's rules read with
/// `action.lookup(KEY)`, the way libvirt's polkit driver passes `domain_name`.
public struct MachineObject: Sendable, Hashable {
    public var name: String
    /// Made (or adopted) through the broker, with its record in the domain's metadata.
    public var managed: Bool
    /// The group the machine is charged to; nil for a foreign domain.
    public var ownerGroup: String?
    /// The user who made it; nil for a foreign domain or a user no longer in the user database.
    public var ownerUser: String?
    public var tags: [String]
    public var template: Bool

    public init(name: String, managed: Bool, ownerGroup: String?, ownerUser: String?, tags: [String] = [], template: Bool = false) {
        self.name = name
        self.managed = managed
        self.ownerGroup = ownerGroup
        self.ownerUser = ownerUser
        self.tags = tags
        self.template = template
    }

    /// The details polkit gets for an existing machine.
    public var details: [String: String] {
        var details = ["machine": name, "exists": "true", "managed": managed ? "true" : "false", "template": template ? "true" : "false"]
        if let ownerGroup { details["owner_group"] = ownerGroup }
        if let ownerUser { details["owner_user"] = ownerUser }
        if !tags.isEmpty { details["tags"] = tags.joined(separator: ",") }
        return details
    }

    /// The details for a machine that does not exist (yet): rules let the verb decide, and the
    /// broker answers NotFound (or creates it, charged to `ownerGroup`).
    public static func absent(_ name: String, ownerGroup: String? = nil) -> [String: String] {
        var details = ["machine": name, "exists": "false", "managed": "true"]
        if let ownerGroup { details["owner_group"] = ownerGroup }
        return details
    }
}

/// What a request names, for the admission path to resolve and lock.
public enum RequestObject: Sendable, Hashable {
    case none
    case machine(String)
    case clone(source: String, name: String)
    case volume(pool: String?, name: String)
    /// An image brought in for a group (`Image.Import`): `name` charged to `group`.
    case groupImage(name: String, group: String)
    /// A machine being backed up: admitted like any request about the machine, but not held
    /// against its other requests for the minutes a backup takes (it can be stopped meanwhile).
    case backupSource(String)
    /// A backup in a repository (the only one when nil); a restore names the machine it makes; a
    /// restore in place acts also on the machine the backup is of (locked once admission knows it).
    case backup(repository: String?, id: String, newMachine: String?, inPlace: Bool = false)

    /// The machine names a state-changing request is serialized on.
    var lockNames: [String] {
        switch self {
        case .none: []
        case .machine(let name): ["vm:" + name]
        case .clone(let source, let name): ["vm:" + source, "vm:" + name].sorted()
        case .volume(let pool, let name): ["volume:\(pool ?? "")/\(name)"]
        case .groupImage(let name, _): ["image:" + name]
        case .backupSource: []
        case .backup(_, let id, let newMachine, _):
            // By id alone: the repository may be named or left to its default, and one backup
            // must be one lock either way (ids are a time and 32 random bits).
            (["backup:" + id] + (newMachine.map { ["vm:" + $0] } ?? [])).sorted()
        }
    }
}
