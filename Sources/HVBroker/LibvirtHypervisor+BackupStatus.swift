import HVBackupStore
import HVProtocol

/// `Backup.Status`: each machine's newest backup, newest attempt and newest checks, per repository,
/// for `hv backup status` and the monitor's backup metrics.
extension LibvirtHypervisor {
    func backupStatus(repository: String?) async throws(HVError) -> BackupStatusReply {
        let names = try repository.map { name throws(HVError) in [try backups.repository(named: name).name] } ?? backups.names
        var machines: [BackupMachineStatus] = []
        for name in names {
            let attempts = backupAttempts.all(repository: name)
            // A repository that can't be opened now (a NAS not mounted) still shows its attempts.
            var infos: [BackupInfo] = []
            if let opened = try? backups.repository(named: name) {
                let manifests = try await fileWork(opened.repository) { store throws(HVBackupStore.BackupError) in try store.backups() }
                infos = manifests.map { Self.info($0, repository: name) }
            }
            let byMachine = Dictionary(grouping: infos, by: \.machine)
            for machine in Set(byMachine.keys).union(attempts.keys).sorted() {
                machines.append(
                    BackupMachineStatus(repository: name, machine: machine, backups: byMachine[machine] ?? [], lastAttempt: attempts[machine])
                )
            }
        }
        return BackupStatusReply(repositories: backups.names, machines: machines)
    }
}
