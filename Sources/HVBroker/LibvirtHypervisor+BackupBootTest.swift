import Foundation
import HVBackupStore
import HVDomainXML
import HVLibvirt
import HVProtocol
import HVServer
import HVWork
import Logging

/// `Backup.BootTest` (docs/BACKUPS.md, "Proving a backup"): the backup restored by the restore
/// path (so the spec checks and the host policy apply) into a scratch machine with no network
/// interface, started, and watched until the guest agent answers or the marker appears on its
/// serial console; then the machine and its disks are removed, whatever happened. The original
/// machine is never named. The result is recorded with the backup.
extension LibvirtHypervisor {
    func backupBootTest(_ id: String, repository: String?, marker: String, timeout: Int, caller: Peer) async throws(HVError)
        -> BackupBootTestReply
    {
        let (repositoryName, store) = try backups.repository(named: repository)
        let scratch = BootTestScratch(backup: id, stateDirectory: layout.stateDirectory)
        let clock = ContinuousClock()
        let began = clock.now
        var signal: String?
        var failure: HVError?
        var uuid: String?
        do throws(HVError) {
            try scratch.begin()
            Self.report(phase: "restoring", seconds: 0, of: timeout)
            let restored = try await backupRestore(
                id, repository: repository, as: scratch.name, pool: nil, caller: caller, adjust: scratch.adjust, phase: "restoring"
            )
            uuid = restored.uuid
            Self.report(phase: "booting", seconds: 0, of: timeout)
            try await run { connection in try self.startDomain(try self.domain(scratch.name, connection)) }
            signal = try await awaitSignal(scratch.name, marker: marker, timeout: timeout)
        } catch {
            failure = error
        }
        let cancelled = Task.isCancelled
        // In a task of its own: a caller who went away cancels the test, never its cleanup.
        let restoredUUID = uuid
        await Task { await self.removeScratch(scratch, uuid: restoredUUID) }.value
        if let failure, cancelled || !Self.bootTestRecords(failure) { throw failure }
        let elapsed = clock.now - began
        let test = BackupBootTest(
            time: Int64(Date().timeIntervalSince1970.rounded(.down)), ok: failure == nil, signal: signal,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, problem: failure?.reason
        )
        let manifest = try await fileWork(store) { store throws(HVBackupStore.BackupError) in
            try store.recordBootTest(id, test)
            return try store.manifest(id)
        }
        let info = Self.info(manifest, repository: repositoryName)
        return BackupBootTestReply(backup: info, test: info.bootTest ?? BackupBootTest(time: 0, ok: false, signal: nil, seconds: 0, problem: nil))
    }

    /// Whether a failure says something about the backup, and so is recorded: not a refusal
    /// (the host policy, the group's quota, a full queue), nor the broker or libvirt going away,
    /// nor a start the host lacked memory, hugepages or disk space for (`StartShortage`).
    static func bootTestRecords(_ error: HVError) -> Bool {
        let refusals: Set<HVError.Code> = [
            .quotaExceeded, .invalidParameter, .alreadyExists, .permissionDenied, .busy, .hypervisorUnavailable,
            .authorizationUnavailable, .brokerUnavailable, .auditUnavailable,
        ]
        return !refusals.contains(error.code) && error.details["resource"] == nil
    }

    /// Polls the scratch machine once a second until the guest signals, the machine stops, the
    /// caller goes away or `timeout` seconds pass.
    private func awaitSignal(_ name: String, marker: String, timeout: Int) async throws(HVError) -> String {
        let clock = ContinuousClock()
        let started = clock.now
        let log = layout.consoleLogPath(machine: name)
        let hasAgent = try await run { connection in
            try self.domain(name, connection).xmlDescription().contains(BootTestScratch.agentChannel)
        }
        while clock.now - started < .seconds(timeout) {
            guard !Task.isCancelled else {
                throw HVError(.failed, "the boot test was stopped: its caller went away", fix: "run it again")
            }
            let (state, agent, console) = try await run { connection in
                let domain = try self.domain(name, connection)
                let state = try domain.state()
                let agent = hasAgent && state.isActive && (try? domain.guestTime()) != nil
                let console = (try? ConsoleLog.tail(path: log, maxBytes: BootTestScratch.consoleBytes))?.text ?? ""
                return (state, agent, console.contains(marker))
            }
            if agent { return BackupBootTest.agentSignal }
            if console { return BackupBootTest.consoleSignal(marker) }
            guard state.isActive else {
                throw HVError(
                    .failed, "the restored machine stopped (\(state.rawValue)) before the guest showed '\(marker)' on its serial console",
                    fix: "look at what it printed with a restore ('hv backup restore') and 'hv vm log'; check the marker"
                )
            }
            let seconds = (clock.now - started).components.seconds
            Self.report(phase: "waiting for signal", seconds: UInt64(max(0, seconds)), of: timeout)
            try? await Task.sleep(for: .seconds(1))
        }
        throw HVError(
            .failed, "the guest showed no signal within \(timeout) s: no guest agent answered and '\(marker)' did not appear on its serial console",
            fix: "give the text the guest prints once booted with --marker, or a longer --timeout"
        )
    }

    /// Powers the scratch machine off and removes it with its disks, when it is the one this
    /// test restored; then the test's record. A failure is logged: the next start removes it.
    private func removeScratch(_ scratch: BootTestScratch, uuid: String?) async {
        do throws(HVError) {
            try await run { connection in
                guard let uuid, let domain = try connection.domain(named: scratch.name), try domain.uuid() == uuid else { return }
                _ = try self.removeScratchMachine(domain, connection)
            }
            scratch.end()
        } catch {
            logger.warning(
                "the scratch machine of a boot test could not be removed; the broker removes it when it next starts",
                metadata: ["machine": "\(scratch.name)", "backup": "\(scratch.backup)", "error": "\(error.reason)"]
            )
        }
    }

    /// Stops and undefines a scratch machine and deletes its disks, console log and seed; returns
    /// the volumes it deleted.
    func removeScratchMachine(_ domain: Domain, _ connection: Connection) throws -> [String] {
        let name = domain.name
        if try domain.state().isActive { try domain.destroy() }
        let paths = try DomainDescription(xml: try domain.xmlDescription()).diskSourcePaths
        let uuid = try domain.uuid()
        try domain.undefine()
        recordCache.drop(uuid: uuid)
        removeTPMState(uuid: uuid)
        try? FileManager.default.removeItem(atPath: layout.consoleLogPath(machine: name))
        try? FileManager.default.removeItem(atPath: layout.seedPath(machine: name))
        return try removeImages(paths, connection)
    }

    /// Tells the caller which phase the test is in: `done` and `total` are seconds of the wait.
    private static func report(phase: String, seconds: UInt64, of timeout: Int) {
        WorkPool.progress?(JobProgress(done: seconds, total: UInt64(timeout), phase: phase))
    }
}

/// A boot test's scratch machine: a name no user chose (`hv-boottest-` and 8 random hex digits;
/// the restore refuses it should it exist), a description that says what it is, and a record in
/// `STATE/boot-tests` while it may exist, which the next start reads to remove what a killed
/// broker left.
struct BootTestScratch: Sendable {
    static let prefix = "hv-boottest-"
    /// The guest agent's channel: a domain without it has no agent to ask.
    static let agentChannel = "org.qemu.guest_agent.0"
    /// How much of the end of the serial console log is searched for the marker.
    static let consoleBytes = 1 << 20

    let backup: String
    let name: String
    let directory: String

    init(backup: String, stateDirectory: String) {
        self.backup = backup
        name = Self.prefix + String(format: "%08x", UInt32.random(in: .min ... .max))
        directory = Self.directory(stateDirectory: stateDirectory)
    }

    static func directory(stateDirectory: String) -> String { stateDirectory + "/boot-tests" }

    static func description(backup: String) -> String { "Boot test of backup \(backup); removed when the test ends" }

    var file: String { directory + "/" + name }

    /// The restored spec as the test runs it: no network interface, the serial console logged,
    /// not started at boot, no tags (so no backup job selects it), and described as what it is.
    func adjust(_ spec: inout MachineSpec) {
        spec.networks = []
        spec.tags = []
        spec.serial = true
        spec.autostart = nil
        spec.description = Self.description(backup: backup)
    }

    /// Records the test before anything is made.
    func begin() throws(HVError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Data(backup.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw HVError(.failed, "nothing was changed: the boot test could not be recorded in \(directory): \(error.localizedDescription)")
        }
    }

    func end() {
        try? FileManager.default.removeItem(atPath: file)
    }
}
