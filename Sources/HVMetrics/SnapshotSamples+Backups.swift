import HVProtocol

extension Snapshot {
    /// The backup samples of each machine in each repository (labels `vm`, `repository`). A
    /// sample with nothing true to say is left out: no success time before a first backup, no
    /// attempt result before the broker made one, no verify or boot-test result before one ran.
    func backupSamples(_ machines: [BackupMachineStatus]) -> [MetricSample] {
        var samples: [MetricSample] = []
        for machine in machines {
            let labels = ["vm": machine.machine, "repository": machine.repository]
            func add(_ name: String, _ value: Double?) {
                if let value { samples.append(MetricSample(name: name, labels: labels, value: value)) }
            }
            add("hv_backup_last_success_timestamp_seconds", machine.newest.map { Double($0.time) })
            add("hv_backup_last_success_age_seconds", machine.newest.map { max(0, time - Double($0.time)) })
            add("hv_backup_last_attempt_success", machine.lastAttempt.map { $0.ok ? 1 : 0 })
            add("hv_backup_size_bytes", machine.newest.map { Double($0.disks.reduce(0) { $0 + $1.size }) })
            add("hv_backup_changed_bytes", machine.newest.map { Double($0.bytesRead) })
            add("hv_backup_duration_seconds", machine.lastAttempt?.lastSuccessSeconds)
            add("hv_backup_verify_ok", machine.lastVerification.map { $0.ok ? 1 : 0 })
            add("hv_backup_boot_test_ok", machine.lastBootTest.map { $0.ok ? 1 : 0 })
        }
        return samples
    }
}
