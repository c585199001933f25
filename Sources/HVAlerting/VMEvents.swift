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
        // Each name's first position, not a copy of each domain's statistics.
        var now: [String: Int] = [:]
        now.reserveCapacity(current.count)
        for (position, domain) in current.enumerated() where now[domain.name] == nil {
            now[domain.name] = position
        }
        var names: [String] = []
        for before in previous {
            guard let position = now[before.name] else { continue }
            switch event {
            case .vmStoppedUnexpectedly:
                guard activeStates.contains(state(before)) else { continue }
                let after = current[position]
                if isCrashed(after) || (stoppedStates.contains(state(after)) && !orderlyStopReasons.contains(reason(after))) {
                    names.append(before.name)
                }
            case .vmCrashed:
                if !isCrashed(before), isCrashed(current[position]) { names.append(before.name) }
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
        // Almost always spelled already as it is compared: then without a new string.
        if domain.state.utf8.allSatisfy(isLowercaseLetter) { return domain.state }
        return String(domain.state.lowercased().filter { $0 != " " })
    }

    static func reason(_ domain: DomainStats) -> String {
        if domain.stateReason.utf8.allSatisfy({ isLowercaseLetter($0) || $0 == UInt8(ascii: "-") }) {
            return domain.stateReason
        }
        return String(domain.stateReason.lowercased().map { $0 == " " ? "-" : $0 })
    }

    private static func isLowercaseLetter(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")
    }
}
