import HVPolkit
import HVProtocol
import HVServer
import HVWork

/// The one admission path every entry point uses (the broker socket, the upload socket and the
/// events stream): after decoding and validation, resolve the object the request names, ask polkit
/// about the verb *and* that object, and decide what the caller may see. The operation table
/// (`BrokerOperation.rule`) says, for each operation, what its object is.
///
/// Domains the broker did not make are invisible to everyone polkit would not let adopt them:
/// asking about one gets exactly the answer a missing machine gets.
extension Dispatcher {
    /// What admission established, for the act.
    struct Admitted: Sendable {
        /// The caller may see domains the broker did not make (administrators).
        var seesForeign = false
        /// The machine the request acts on, when it exists.
        var machine: MachineObject?
    }

    /// Resolves and authorizes; on refusal `entry.decision` says why and the error is the reply.
    func admit(_ operation: BrokerOperation, object: RequestObject, entry: inout Entry) async -> Result<Admitted, HVError> {
        do {
            return .success(try await admission(operation, object: object, entry: &entry))
        } catch {
            return .failure(error)
        }
    }

    private func admission(_ operation: BrokerOperation, object: RequestObject, entry: inout Entry) async throws(HVError) -> Admitted {
        let peer = entry.peer
        switch operation.rule.object {
        case .host:
            try await decide(operation, details: [:], entry: &entry)
            return Admitted()
        case .allMachines:
            try await decide(operation, details: [:], entry: &entry)
            return Admitted(seesForeign: await seesForeign(peer))
        case .volume:
            guard case .volume(let pool, let name) = object else { throw Self.misrouted(operation) }
            let owner = try await hypervisor.resolve(volume: name, pool: pool)
            var details = owner?.details ?? [:]
            details["volume"] = "\(pool ?? "")/\(name)"
            // An imported template belongs to the group it is charged to, as a machine's disk to the machine's.
            if owner == nil, let group = try await hypervisor.importedGroup(ofVolume: name, pool: pool) { details["owner_group"] = group }
            // Volumes are listed to viewers anyway; one a foreign domain uses is simply refused
            // to all but admins (the rules refuse `managed: false`).
            try await decide(operation, details: details, entry: &entry)
            return Admitted(machine: owner)
        case .groupImage:
            // The verb and the group it will be charged to: operators import only for their groups.
            guard case .groupImage(let name, let group) = object else { throw Self.misrouted(operation) }
            try await decide(operation, details: ["image": name, "owner_group": group], entry: &entry)
            return Admitted()
        case .backup:
            // The backup's group comes from the record it keeps; a restore also names the machine it makes.
            guard case .backup(let repository, let id, let newMachine, let inPlace) = object else { throw Self.misrouted(operation) }
            let resolved: BackupObject?
            do {
                resolved = try await hypervisor.resolve(backup: id, repository: repository)
            } catch {
                // What the repository's error tells (the configured repositories' names, a damaged
                // manifest) is for those polkit lets ask about backups at all.
                try await decide(operation, details: BackupObject.absent(id, repository: repository), entry: &entry)
                throw error
            }
            guard let backup = resolved else {
                try await decide(operation, details: BackupObject.absent(id, repository: repository), entry: &entry)
                throw HVError(
                    .notFound, "there is no backup \(id) in repository \(repository ?? "(the only one)")",
                    fix: "see the backups with 'hv backup list'", details: ["name": id]
                )
            }
            var details = backup.details
            if let newMachine { details["new_machine"] = newMachine }
            if inPlace { details["in_place"] = "true" }
            try await decide(operation, details: details, entry: &entry)
            guard inPlace else { return Admitted() }
            return Admitted(machine: try await admitOverwritten(backup, operation, entry: &entry))
        case .machine, .newMachine, .appliedMachine, .cloneSource, .foreignMachine:
            let name: String
            switch object {
            case .machine(let machine), .backupSource(let machine): name = machine
            case .clone(let source, _): name = source
            default: throw Self.misrouted(operation)
            }
            let resolved = try await hypervisor.resolve(machine: name)
            guard let machine = resolved else {
                switch operation.rule.object {
                case .newMachine, .appliedMachine:
                    let group = try await hypervisor.chargeGroup(for: peer)
                    try await decide(operation, details: MachineObject.absent(name, ownerGroup: group), entry: &entry)
                    return Admitted()
                default:
                    try await decide(operation, details: MachineObject.absent(name), entry: &entry)
                    throw HVError.notFound(vm: name)
                }
            }
            if machine.managed {
                try await decide(operation, details: machine.details, entry: &entry)
                if case .foreignMachine = operation.rule.object {
                    throw HVError(
                        .invalidState, "'\(name)' is already managed by the broker", fix: "nothing to adopt",
                        details: ["name": name, "state": "managed"]
                    )
                }
            } else {
                try await decideForeign(operation, details: machine.details, name: name, entry: &entry)
            }
            try await refuseScratchChange(operation, machine, entry: &entry)
            return Admitted(machine: machine)
        }
    }

    /// A restore in place writes over the machine the backup is of: that machine must be the
    /// broker's and charged to the backup's group, and polkit is asked about it as well, so a
    /// backup never overwrites another team's machine that happens to bear the same name.
    private func admitOverwritten(_ backup: BackupObject, _ operation: BrokerOperation, entry: inout Entry) async throws(HVError) -> MachineObject {
        guard let machine = try await hypervisor.resolve(machine: backup.machine), machine.managed else {
            throw HVError(
                .notFound, "there is no machine '\(backup.machine)' made by the broker to restore in place",
                fix: "restore the backup to a new machine: hv backup restore \(backup.id) --name NEW", details: ["name": backup.machine]
            )
        }
        // The record names the machine written over: the backup alone would not, once it is pruned.
        entry.target += " over \(machine.name)"
        var details = machine.details
        details["backup"] = backup.id
        details["in_place"] = "true"
        try await decide(operation, details: details, entry: &entry)
        guard machine.ownerGroup == backup.ownerGroup else {
            entry.decision = "denied"
            throw HVError(
                .permissionDenied,
                "not authorized: the machine '\(machine.name)' is charged to group '\(machine.ownerGroup ?? "")', "
                    + "and the backup to group '\(backup.ownerGroup ?? "(none)")'",
                fix: "restore the backup to a new machine: hv backup restore \(backup.id) --name NEW",
                details: ["action": operation.action, "name": machine.name]
            )
        }
        return machine
    }

    /// A boot test's scratch machine is the broker's while the test runs: its group may look at
    /// it, but only administrators may change it (to remove one a failed cleanup left).
    private func refuseScratchChange(_ operation: BrokerOperation, _ machine: MachineObject, entry: inout Entry) async throws(HVError) {
        guard operation.rule.changesState, machine.name.hasPrefix(BootTestScratch.prefix), await !seesForeign(entry.peer) else { return }
        entry.decision = "denied"
        throw HVError(
            .invalidState, "'\(machine.name)' is the scratch machine of a backup's boot test; the broker removes it when the test ends",
            fix: "wait for the boot test to end; an administrator can delete a scratch machine a failed cleanup left",
            details: ["name": machine.name, "state": "boot test"]
        )
    }

    /// Whether polkit lets the caller see (and adopt) domains the broker did not make.
    func seesForeign(_ peer: Peer) async -> Bool {
        await authorizer.authorize(.vmAdopt, peer: peer, details: [:]) == .allowed
    }

    /// A foreign domain: allowed for those polkit lets act on it (administrators); anyone else gets
    /// the answer a missing machine would get, so its existence is not revealed.
    private func decideForeign(_ operation: BrokerOperation, details: [String: String], name: String, entry: inout Entry) async throws(HVError) {
        let outcome = await authorizer.authorize(operation, peer: entry.peer, details: details)
        if outcome == .allowed {
            entry.decision = "allowed"
            return
        }
        try await decide(operation, details: MachineObject.absent(name), entry: &entry)
        throw HVError.notFound(vm: name)
    }

    /// Asks polkit; records the decision in `entry`; throws the refusal.
    private func decide(_ operation: BrokerOperation, details: [String: String], entry: inout Entry) async throws(HVError) {
        switch await authorizer.authorize(operation, peer: entry.peer, details: details) {
        case .allowed:
            entry.decision = "allowed"
        case .denied:
            entry.decision = "denied"
            throw Self.denial(
                operation, object: details["backup"] ?? details["machine"] ?? details["image"] ?? details["volume"], owner: details["owner_group"]
            )
        case .unavailable(let reason):
            entry.decision = "unavailable"
            let fix = reason.contains("is not registered")
                ? "install the broker's polkit actions: copy polkit/org.hypernixos.policy to /usr/share/polkit-1/actions/"
                : reason.contains("did not answer within")
                    ? "polkitd is running but not answering: restart it (systemctl restart polkit); the broker retries on the next request"
                    : "start the system D-Bus and polkitd (systemctl start dbus polkit); the broker retries on the next request"
            throw Refusal.unavailable(reason, fix: fix)
        case .busy(let error):
            entry.decision = "busy"
            throw error.hvError
        }
    }

    static func denial(_ operation: BrokerOperation, object: String? = nil, owner: String? = nil) -> HVError {
        var details = ["action": operation.action]
        if let object, let owner, operation.requiresOwnership {
            details["name"] = object
            return HVError(
                .permissionDenied,
                "not authorized: polkit denied '\(operation.action)' on '\(object)', which is charged to group '\(owner)'",
                fix: "this needs membership of '\(operation.grantingGroup)' and of the machine's group '\(owner)' "
                    + "(or of '\(Role.admins.group)'); ask an administrator (usermod -aG GROUP USER), it takes effect on the next request",
                details: details
            )
        }
        return Refusal.denied(operation)
    }

    private static func misrouted(_ operation: BrokerOperation) -> HVError {
        HVError(.failed, "the request for \(operation.rawValue) named no object of the kind its rule expects")
    }
}
