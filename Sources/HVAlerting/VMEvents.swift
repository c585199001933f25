import HVProtocol

/// A VM event the engine derives by comparing two consecutive `DomainStats` snapshots.
public enum VMEvent: String, Sendable, Hashable, CaseIterable {
    /// The VM was active (running, blocked, paused, pmsuspended or shutting down) and is now stopped
    /// (shutoff or crashed) for a reason that is not an orderly stop. Orderly reasons: `shutdown`,
    /// `destroyed` (`hv vm kill`), `saved`, `migrated`, `from-snapshot`. A QEMU process killed with
    /// SIGKILL leaves the VM `shutoff` with reason `crashed`, so it counts. A VM that is gone is no
    /// event: the broker deletes only stopped machines, so it was deleted on purpose.
    case vmStoppedUnexpectedly = "vm_stopped_unexpectedly"
    /// The VM was present and not crashed, and is now in state `crashed`, or `shutoff` with reason
    /// `crashed`.
    case vmCrashed = "vm_crashed"
}

/// The event derivation rules, kept apart from the engine so they can be read and tested alone.
public enum VMEvents {
    /// Stop reasons that mean someone or something stopped the VM on purpose.
    public static let orderlyStopReasons: Set<String> = ["shutdown", "destroyed", "saved", "migrated", "from-snapshot"]

    static let activeStates: Set<String> = ["running", "blocked", "paused", "pmsuspended", "shutdown"]
    static let stoppedStates: Set<String> = ["shutoff", "crashed"]

    /// The VMs (by name) for which `event` happened between `previous` and `current`. Nothing happens
    /// without a previous snapshot: a monitor that just started has nothing to compare with.
    public static func occurrences(of event: VMEvent, previous: [DomainStats]?, current: [DomainStats]) -> [String] {
        guard let previous else { return [] }
        let now = Dictionary(current.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var names: [String] = []
        for before in previous {
            let after = now[before.name]
            switch event {
            case .vmStoppedUnexpectedly:
                guard activeStates.contains(state(before)), let after else { continue }
                if isCrashed(after) || (stoppedStates.contains(state(after)) && !orderlyStopReasons.contains(reason(after))) {
                    names.append(before.name)
                }
            case .vmCrashed:
                if let after, !isCrashed(before), isCrashed(after) { names.append(before.name) }
            }
        }
        return names.sorted()
    }

    /// Whether `name` is running in `current`: what resolves an event alert.
    public static func isRunning(_ name: String, in current: [DomainStats]) -> Bool {
        current.contains { $0.name == name && state($0) == "running" }
    }

    static func isCrashed(_ domain: DomainStats) -> Bool {
        state(domain) == "crashed" || (state(domain) == "shutoff" && reason(domain) == "crashed")
    }

    /// libvirt spells states `shut off` in virsh and `shutoff` in its API names; both mean the same.
    static func state(_ domain: DomainStats) -> String {
        String(domain.state.lowercased().filter { $0 != " " })
    }

    static func reason(_ domain: DomainStats) -> String {
        String(domain.stateReason.lowercased().map { $0 == " " ? "-" : $0 })
    }
}
