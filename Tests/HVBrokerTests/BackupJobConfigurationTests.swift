import Foundation
import HVBroker
import HVImages
import HVProtocol
import Testing

/// The jobs of `/etc/hypernixos/backup.yaml`: read strictly, every refusal naming the key; the
/// schedule checked by systemd itself when it is there.
@Suite struct BackupJobConfigurationTests {
    static let repositories = "repositories: {local: {path: /b}, nas: {path: /n}}\n"

    static var calendarAvailable: Bool { ToolLocator().find(.systemdAnalyze) != nil }

    @Test func aJobIsReadWithEveryField() throws {
        let configuration = try BackupConfiguration.parse(
            Self.repositories + """
                jobs:
                  nightly:
                    repository: local
                    machines: {names: [web1], tags: [prod], all: false}
                    schedule: "*-*-* 02:00"
                    retention: {keep_last: 3, keep_daily: 7, keep_weekly: 4}
                    verify: weekly
                  everything:
                    repository: nas
                    machines: {all: true}
                    schedule: Sun 03:00
                """
        )
        #expect(configuration.jobs.map(\.name) == ["everything", "nightly"])
        let nightly = try #require(configuration.job(named: "nightly"))
        #expect(nightly == BackupJob(
            name: "nightly", repository: "local", names: ["web1"], tags: ["prod"], schedule: "*-*-* 02:00",
            retention: BackupRetention(keepLast: 3, keepDaily: 7, keepWeekly: 4), verify: .weekly
        ))
        let everything = try #require(configuration.job(named: "everything"))
        #expect(everything.all && everything.retention == nil && everything.verify == .never)
        #expect(everything.bootTest == .never && everything.bootTestMarker == "login:" && everything.bootTestTimeout == 300, "the boot test's defaults")
        #expect(nightly.selects("web1", tags: []) && nightly.selects("db", tags: ["prod"]) && !nightly.selects("db", tags: ["lab"]))
        #expect(everything.selects("anything", tags: []))
    }

    /// `boot_test` takes verify's values; its marker and timeout are read as they are written.
    @Test(arguments: BackupJob.VerifyInterval.allCases)
    func aJobReadsItsBootTest(interval: BackupJob.VerifyInterval) throws {
        let text = Self.repositories + """
            jobs:
              n:
                repository: local
                machines: {all: true}
                schedule: daily
                boot_test: \(interval.rawValue)
                boot_test_marker: "Welcome to NixOS"
                boot_test_timeout: 1800
            """
        let job = try #require(try BackupConfiguration.parse(text).job(named: "n"))
        #expect(job.bootTest == interval && job.verify == .never)
        #expect(job.bootTestMarker == "Welcome to NixOS" && job.bootTestTimeout == 1800)
    }

    @Test(arguments: [
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, when: x}}", "jobs.n.when"),
        ("jobs: {n: {repository: local, machines: {all: true, groups: [a]}, schedule: daily}}", "jobs.n.machines.groups"),
        ("jobs: {n: {machines: {all: true}, schedule: daily}}", "jobs.n.repository"),
        ("jobs: {n: {repository: offsite, machines: {all: true}, schedule: daily}}", "jobs.n.repository"),
        ("jobs: {n: {repository: local, schedule: daily}}", "jobs.n.machines"),
        ("jobs: {n: {repository: local, machines: {}, schedule: daily}}", "jobs.n.machines"),
        ("jobs: {n: {repository: local, machines: {all: false}, schedule: daily}}", "jobs.n.machines"),
        ("jobs: {n: {repository: local, machines: {all: true, names: [a]}, schedule: daily}}", "jobs.n.machines.all"),
        ("jobs: {n: {repository: local, machines: {names: [ok, ../x]}, schedule: daily}}", "jobs.n.machines.names[1]"),
        ("jobs: {n: {repository: local, machines: {tags: [\"a b\"]}, schedule: daily}}", "jobs.n.machines.tags[0]"),
        ("jobs: {n: {repository: local, machines: {names: web}, schedule: daily}}", "jobs.n.machines.names"),
        ("jobs: {n: {repository: local, machines: {all: true}}}", "jobs.n.schedule"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: \"\"}}", "jobs.n.schedule"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: \"daily\\n[Service]\"}}", "jobs.n.schedule"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, retention: {}}}", "jobs.n.retention"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, retention: {keep_last: 0}}}", "jobs.n.retention.keep_last"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, retention: {keep_lats: 2}}}", "jobs.n.retention.keep_lats"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, retention: {keepLast: 2}}}", "jobs.n.retention.keepLast"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, verify: hourly}}", "jobs.n.verify"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, boot_test: hourly}}", "jobs.n.boot_test"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, bootTest: weekly}}", "jobs.n.bootTest"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, boot_test_marker: \"\"}}", "jobs.n.boot_test_marker"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, boot_test_marker: \"login\\t\"}}", "jobs.n.boot_test_marker"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, boot_test_timeout: 9}}", "jobs.n.boot_test_timeout"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, boot_test_timeout: 1801}}", "jobs.n.boot_test_timeout"),
        ("jobs: {n: {repository: local, machines: {all: true}, schedule: daily, boot_test_timeout: soon}}", "jobs.n.boot_test_timeout"),
        ("jobs: {\"-n\": {repository: local, machines: {all: true}, schedule: daily}}", "jobs.-n"),
        ("jobs: [nightly]", "jobs"),
    ])
    func aWrongJobNamesTheKey(text: String, field: String) throws {
        let error = #expect(throws: BackupConfigurationError.self) {
            try BackupConfiguration.parse(Self.repositories + text, path: "/etc/hypernixos/backup.yaml")
        }
        #expect(error?.field == field, "\(String(describing: error))")
        #expect(error?.description.contains("/etc/hypernixos/backup.yaml") == true)
    }

    /// systemd reads the schedule: what it refuses is refused with its words, at the key.
    @Test(.enabled(if: calendarAvailable, "systemd-analyze is not installed"))
    func systemdRefusesAScheduleItCannotRead() throws {
        let calendar = SystemdCalendar()
        let text = Self.repositories + "jobs: {n: {repository: local, machines: {all: true}, schedule: \"every full moon\"}}"
        let error = #expect(throws: BackupConfigurationError.self) { try BackupConfiguration.parse(text, calendar: calendar) }
        #expect(error?.field == "jobs.n.schedule")
        #expect(error?.reason.contains("every full moon") == true, "\(String(describing: error))")
        let good = Self.repositories + "jobs: {n: {repository: local, machines: {all: true}, schedule: \"Mon..Fri 22:30\"}}"
        #expect(try BackupConfiguration.parse(good, calendar: calendar).jobs.count == 1)
    }

    /// Without systemd-analyze, a schedule can't be checked, and the broker says so.
    @Test func withoutSystemdAnalyzeTheScheduleCannotBeChecked() throws {
        let calendar = SystemdCalendar(runner: ProcessRunner(locator: ToolLocator(directories: ["/nonexistent"])))
        let text = Self.repositories + "jobs: {n: {repository: local, machines: {all: true}, schedule: daily}}"
        let error = #expect(throws: BackupConfigurationError.self) { try BackupConfiguration.parse(text, calendar: calendar) }
        #expect(error?.field == "jobs.n.schedule")
        #expect(error?.reason.contains("systemd-analyze is not installed") == true, "\(String(describing: error))")
    }

    @Test(.enabled(if: calendarAvailable, "systemd-analyze is not installed"))
    func theNextRunIsSystemds() throws {
        let base = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15 08:00 UTC
        let next = try #require(try SystemdCalendar().nextElapse("*-*-* 00/6:00:00 UTC", after: base))
        #expect(next == Date(timeIntervalSince1970: 1_800_000_000 + 4 * 3600))
        #expect(try SystemdCalendar().nextElapse("2020-01-01 00:00:00 UTC", after: base) == nil, "a time past never elapses again")
    }

    @Test func systemdsOutputIsRead() {
        let local = """
              Original form: daily
            Normalized form: *-*-* 00:00:00
                Next elapse: Mon 2026-12-07 00:00:00 CET
                   (in UTC): Sun 2026-12-06 23:00:00 UTC
                   From now: 11h left
            """
        #expect(SystemdCalendar.nextElapse(in: local) == Date(timeIntervalSince1970: 1_796_598_000))
        let utc = "Normalized form: *-*-* 00:00:00\n    Next elapse: Sun 2026-12-06 23:00:00 UTC\n"
        #expect(SystemdCalendar.nextElapse(in: utc) == Date(timeIntervalSince1970: 1_796_598_000))
        #expect(SystemdCalendar.nextElapse(in: "Normalized form: 2020-01-01\n    Next elapse: never\n") == nil)
    }
}
