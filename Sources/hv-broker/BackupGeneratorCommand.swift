import ArgumentParser
import Foundation
import HVBroker

/// `hv-broker backup-generator NORMAL_DIR EARLY_DIR LATE_DIR`: the systemd generator that turns the
/// jobs of the backup configuration into timers (`BackupTimerGenerator`). An invalid file is
/// reported to standard error and the kernel log, and nothing is written: a generator never fails
/// the boot, and the broker refuses the same file with the same words when it starts.
struct BackupGeneratorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup-generator", abstract: "Write a systemd timer for each backup job (a systemd generator).",
        discussion: "Installed as /etc/systemd/system-generators/hypernixos-backup; systemd runs it at boot and on daemon-reload."
    )

    @Argument(help: "The generator's normal output directory.") var normalDirectory: String
    @Argument(help: "The early output directory (not used).") var earlyDirectory: String?
    @Argument(help: "The late output directory (not used).") var lateDirectory: String?
    @Option(name: .customLong("config"), help: "The backup configuration.") var backupConfig = BackupConfiguration.defaultPath

    func run() {
        if let problem = BackupTimerGenerator.generate(from: backupConfig, into: normalDirectory, calendar: SystemdCalendar()) {
            Self.report("hypernixos-backup generator: " + problem)
        }
    }

    /// To standard error (the journal, when systemd runs it) and, at boot, the kernel log.
    static func report(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        if let kmsg = FileHandle(forWritingAtPath: "/dev/kmsg") {
            let line = "<4>" + message.replacingOccurrences(of: "\n", with: " ") + "\n"
            kmsg.write(Data(line.utf8))
            try? kmsg.close()
        }
    }
}
