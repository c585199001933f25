import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol
import HVServer
import Logging

/// Boot-time start in the order specs give: `hv host autostart`, which
/// `hypernixos-autostart.service` runs once libvirtd and the broker are up.
///
/// libvirt starts its autostart domains in no defined order, so machines made from specs never
/// carry libvirt's autostart flag; their spec's `autostart` is the only record, and this is what acts on it.
extension LibvirtHypervisor {
    /// A machine the boot-time start takes care of.
    struct AutostartEntry: Sendable, Hashable {
        var name: String
        var order: Int
    }

    func autostart(groupDelaySeconds: Int) async throws(HVError) -> HostAutostartReply {
        let entries = try await run { connection in try self.autostartEntries(connection) }
        var results: [AutostartResult] = []
        var group: Int?
        var startedInGroup = false
        for entry in entries {
            if entry.order != group {
                // A new order group waits when the group before it started something.
                if startedInGroup && groupDelaySeconds > 0 { try? await Task.sleep(for: .seconds(groupDelaySeconds)) }
                group = entry.order
                startedInGroup = false
            }
            let result = await autostartOne(entry)
            startedInGroup = startedInGroup || result.result == "started"
            results.append(result)
        }
        return HostAutostartReply(machines: results)
    }

    /// The spec machines with autostart enabled, lowest order first, then by name; templates never start.
    func autostartEntries(_ connection: Connection) throws -> [AutostartEntry] {
        try records(connection).compactMap { Self.autostartEntry(name: $0.name, $0.record) }
            .sorted { ($0.order, $0.name) < ($1.order, $1.name) }
    }

    /// The machine's place in the boot-time start, from its recorded spec; nil when it has none.
    static func autostartEntry(name: String, _ recorded: MachineMetadata) -> AutostartEntry? {
        guard !recorded.template, let autostart = recorded.spec?.autostart, autostart.enabled else { return nil }
        return AutostartEntry(name: name, order: autostart.order)
    }

    private func autostartOne(_ entry: AutostartEntry) async -> AutostartResult {
        do {
            let started = try await run { connection in
                guard let domain = try connection.domain(named: entry.name) else {
                    throw HVError.notFound(vm: entry.name)
                }
                if try domain.isActive() { return false }
                try self.startDomain(domain)
                return true
            }
            logger.info("autostart", metadata: ["vm": "\(entry.name)", "order": "\(entry.order)", "result": "\(started ? "started" : "running")"])
            return AutostartResult(name: entry.name, order: entry.order, result: started ? "started" : "running")
        } catch {
            logger.error("autostart failed", metadata: ["vm": "\(entry.name)", "reason": "\(error.reason)"])
            return AutostartResult(name: entry.name, order: entry.order, result: "failed", reason: error.reason)
        }
    }
}

/// `hv vm autostart NAME on|off`: a machine's boot-time start, written into its spec's
/// `autostart`, so the record is the same one `hv vm apply` keeps, and `hv vm export` shows it.
extension LibvirtHypervisor {
    func setAutostart(_ name: String, enabled: Bool, order: Int?, caller: Peer) async throws(HVError) -> VmAutostartReply {
        let groups = try await callerGroups(caller)
        return try await underPolicy { () throws(HVError) in
            try await self.run { connection in
                let domain = try self.domain(name, connection)
                guard let recorded = self.ownRecord(domainXML: try domain.xmlDescription(flags: .inactive)), var spec = recorded.spec else {
                    throw HVError(
                        .invalidState, "'\(name)' was not made by the broker, so it has no record to keep an autostart setting in",
                        fix: "an administrator can adopt it first: 'hv vm adopt \(name)'", details: ["name": name, "state": "unmanaged"]
                    )
                }
                if recorded.template {
                    throw HVError(
                        .invalidState, "'\(name)' is a template; templates never start", fix: "clone it and set autostart on the clone",
                        details: ["name": name, "state": "template"]
                    )
                }
                let autostart = AutostartSpec(enabled: enabled, order: order ?? spec.autostart?.order ?? 0)
                spec.autostart = autostart
                _ = try self.applyPrepared(spec.normalized(), caller: caller, groups: groups, connection)
                return VmAutostartReply(autostart: autostart.enabled, order: autostart.order)
            }
        }
    }
}
