/// libvirt's names for domain states and their reasons, as `virsh domstate --reason` prints them
/// (with dashes instead of spaces).
public enum DomainStateNames {
    /// `virDomainState` values: `running`, `shutoff`, ….
    public static let states = ["nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended"]

    /// The reasons of each state, indexed by the state's value then the reason's.
    static let reasons: [[String]] = [
        ["unknown"],
        [
            "unknown", "booted", "migrated", "restored", "from-snapshot", "unpaused", "migration-canceled",
            "save-canceled", "wakeup", "crashed", "post-copy", "post-copy-failed",
        ],
        ["unknown"],
        [
            "unknown", "user", "migrating", "saving", "dumping", "ioerror", "watchdog", "from-snapshot",
            "shutting-down", "snapshot", "crashed", "starting-up", "post-copy", "post-copy-failed", "api-error",
        ],
        ["unknown", "user"],
        ["unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from-snapshot", "daemon"],
        ["unknown", "panicked"],
        ["unknown"],
    ]

    /// The state's name; `nostate` for values this libvirt does not define.
    public static func state(_ value: Int64) -> String {
        states.indices.contains(Int(value)) ? states[Int(value)] : "nostate"
    }

    /// The reason's name; `unknown` for values this libvirt does not define.
    public static func reason(_ value: Int64, state: Int64) -> String {
        guard reasons.indices.contains(Int(state)), reasons[Int(state)].indices.contains(Int(value)) else { return "unknown" }
        return reasons[Int(state)][Int(value)]
    }

    /// Whether a domain in this state has a guest process (it is not merely defined).
    public static func isActive(_ state: String) -> Bool {
        !["shutoff", "crashed", "nostate"].contains(state)
    }
}
