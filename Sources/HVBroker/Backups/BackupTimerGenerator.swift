import Foundation

/// The systemd generator of the backup jobs' timers (`hv-broker backup-generator`, installed as
/// /etc/systemd/system-generators/hypernixos-backup): for each job of the backup configuration,
/// `hypernixos-backup@JOB.timer` with the job's schedule, and its link in `timers.target.wants`,
/// so the timer starts `hypernixos-backup@JOB.service` (`hv backup jobs run JOB`).
public enum BackupTimerGenerator {
    /// The unit files to write, by path relative to the generator's normal directory: each timer,
    /// and each link's target (for the entries under `timers.target.wants/`).
    public static func units(for configuration: BackupConfiguration, source: String) -> [(path: String, content: String, link: Bool)] {
        configuration.jobs.flatMap { job -> [(path: String, content: String, link: Bool)] in
            let timer = "hypernixos-backup@\(job.name).timer"
            let content = """
                # Written by hv-broker backup-generator from \(source); edit that file, not this one.
                [Unit]
                Description=Hyper-NixOS backup job \(job.name)
                Documentation=file:/usr/share/doc/hyper-nixos/BACKUPS.md

                [Timer]
                OnCalendar=\(job.schedule.replacingOccurrences(of: "%", with: "%%"))
                Persistent=true

                """
            return [(timer, content, false), ("timers.target.wants/" + timer, "../" + timer, true)]
        }
    }

    /// What the generator does: reads the configuration at `path` (each schedule checked by
    /// `calendar`) and writes its timers into `directory`. Returns why nothing was written, when
    /// the file is invalid or the units could not be written; never throws, so a boot goes on.
    public static func generate(from path: String, into directory: String, calendar: SystemdCalendar?) -> String? {
        let configuration: BackupConfiguration
        do {
            configuration = try BackupConfiguration.load(path: path, calendar: calendar)
        } catch {
            return "no backup timers written: \(error)"
        }
        do {
            try write(configuration, source: path, into: directory)
        } catch {
            return "the backup timers could not be written to \(directory): \(error)"
        }
        return nil
    }

    /// Writes the units into `directory`; what is there already from an earlier run is replaced.
    public static func write(_ configuration: BackupConfiguration, source: String, into directory: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory + "/timers.target.wants", withIntermediateDirectories: true)
        for unit in units(for: configuration, source: source) {
            let path = directory + "/" + unit.path
            try? manager.removeItem(atPath: path)
            if unit.link {
                try manager.createSymbolicLink(atPath: path, withDestinationPath: unit.content)
            } else {
                try unit.content.write(toFile: path, atomically: true, encoding: .utf8)
            }
        }
    }
}
