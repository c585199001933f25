import HVMetrics
import HVProtocol
import HVTestSupport
import Testing

/// The backup samples of a snapshot: one series per machine and repository, each present only
/// when there is something true to say, rendered with HELP and TYPE and clean under promtool.
@Suite struct BackupSamplesTests {
    static let now: Double = 1_800_100_000

    static var status: BackupStatusReply {
        let verified = BackupVerification(time: 1_800_000_500, ok: false, chunks: 9, bad: 1, missing: 0)
        let web = BackupInfo(
            id: "2027-01-15T08-00-00Z-0000abcd", repository: "local", machine: "web", group: "team-a", time: 1_800_000_000, parent: nil,
            frozen: true,
            disks: [
                BackupDiskInfo(target: "vda", size: 10 << 30, bytesRead: 3 << 30, bytesStored: 2 << 30, verification: verified),
                BackupDiskInfo(target: "vdb", size: 2 << 30, bytesRead: 1 << 30, bytesStored: 0),
            ],
            bootTest: BackupBootTest(time: 1_800_000_600, ok: true, signal: "console: login:", seconds: 42, problem: nil)
        )
        return BackupStatusReply(
            repositories: ["local"],
            machines: [
                BackupMachineStatus(
                    repository: "local", machine: "web", backups: [web],
                    lastAttempt: BackupAttempt(
                        repository: "local", machine: "web", time: 1_800_000_100, ok: true, backup: web.id, seconds: 95, lastSuccessSeconds: 95)
                ),
                BackupMachineStatus(
                    repository: "local", machine: "db", backups: [],
                    lastAttempt: BackupAttempt(
                        repository: "local", machine: "db", time: 1_800_000_200, ok: false, code: "Failed", reason: "full", seconds: 3)
                ),
            ]
        )
    }

    func samples(_ backups: BackupStatusReply?) -> [MetricSample] {
        Snapshot(time: Self.now, host: Fixtures.host(), stats: nil, health: [], backups: backups).samples(previous: nil)
            .filter { $0.name.hasPrefix("hv_backup_") }
    }

    func value(_ samples: [MetricSample], _ name: String, vm: String) -> Double? {
        samples.first { $0.name == name && $0.labels == ["vm": vm, "repository": "local"] }?.value
    }

    @Test func aBackedUpMachineHasEverySeries() {
        let samples = samples(Self.status)
        #expect(value(samples, "hv_backup_last_success_timestamp_seconds", vm: "web") == 1_800_000_000)
        #expect(value(samples, "hv_backup_last_success_age_seconds", vm: "web") == 100_000)
        #expect(value(samples, "hv_backup_last_attempt_success", vm: "web") == 1)
        #expect(value(samples, "hv_backup_size_bytes", vm: "web") == Double(12 << 30))
        #expect(value(samples, "hv_backup_changed_bytes", vm: "web") == Double(4 << 30))
        #expect(value(samples, "hv_backup_duration_seconds", vm: "web") == 95)
        #expect(value(samples, "hv_backup_verify_ok", vm: "web") == 0)
        #expect(value(samples, "hv_backup_boot_test_ok", vm: "web") == 1)
    }

    @Test func aMachineWhoseBackupsFailedHasOnlyItsAttempt() {
        let samples = samples(Self.status).filter { $0.labels["vm"] == "db" }
        #expect(samples.map(\.name) == ["hv_backup_last_attempt_success"])
        #expect(samples.first?.value == 0)
    }

    @Test func withoutTheBrokersReplyThereAreNoBackupSeries() {
        #expect(samples(nil).isEmpty)
    }

    @Test func renderedWithHelpAndTypeAndCleanUnderPromtool() throws {
        let text = String(decoding: Exposition.render(samples(Self.status)), as: UTF8.self)
        for name in [
            "hv_backup_last_success_timestamp_seconds", "hv_backup_last_attempt_success", "hv_backup_size_bytes", "hv_backup_changed_bytes",
            "hv_backup_duration_seconds", "hv_backup_verify_ok", "hv_backup_boot_test_ok",
        ] {
            #expect(text.contains("# TYPE \(name) gauge\n"), "\(name)")
            #expect(text.contains("# HELP \(name) "), "\(name)")
        }
        #expect(text.contains(#"hv_backup_last_attempt_success{repository="local",vm="db"} 0.0"#) || text.contains(#"hv_backup_last_attempt_success{vm="db",repository="local"} 0.0"#), "\(text)")
        let result = try run(["promtool", "check", "metrics"], input: text)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}
