import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Backups of machines into the repositories the administrator configured.",
        discussion: "Repositories are named in /etc/hypernixos/backup.yaml; --repository may be left out when there is only one.",
        subcommands: [Create.self, List.self, Show.self, Status.self, Verify.self, BootTest.self, Restore.self, Prune.self, Delete.self, Jobs.self]
    )

    /// Runs a long job, drawing its progress on a terminal: bytes, rate, time left and what it is doing.
    static func showingProgress<Result>(
        _ label: String, _ options: GlobalOptions, _ job: ((WorkProgress) -> Void) throws(HVError) -> Result
    ) throws(HVError) -> Result {
        let bar = ProgressBar(label: label, enabled: !options.json && isatty(STDERR_FILENO) == 1, showsTimeLeft: true)
        let result = try job { progress in
            bar.update(received: UInt64(clamping: progress.done), total: progress.total.map { UInt64(clamping: $0) }, phase: progress.phase)
        }
        bar.finish()
        return result
    }

    struct Repository: ParsableArguments {
        @Option(help: "The repository, by the name the administrator gave it (default: the only one).") var repository: String?
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Back up a machine, running or stopped; incremental since its last backup when it can be."
        )
        @OptionGroup var options: GlobalOptions
        @OptionGroup var repository: Repository
        @Argument(help: "The machine.") var name: String

        func run() throws {
            try Runner.run(options, explain: .backupCreate(name)) { client throws(HVError) in
                let backup = try BackupCommand.showingProgress(name, options) { progress throws(HVError) in
                    try client.createBackup(of: name, repository: repository.repository, progress: progress)
                }
                if options.json { return Runner.printJSON(backup) }
                let kind = backup.parent.map { "incremental since \($0)" } ?? "full"
                print("backed up \(name) as \(backup.id) in \(backup.repository) (\(kind))")
                print(
                    "read \(ByteSize(bytes: UInt64(backup.bytesRead)).readable), stored \(ByteSize(bytes: UInt64(backup.bytesStored)).readable) new; "
                        + (backup.frozen ? "file systems frozen by the guest agent" : "not frozen (no guest agent answered): crash-consistent")
                )
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the backups in a repository, newest first.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var repository: Repository
        @Argument(help: "Only this machine's backups.") var name: String?

        func run() throws {
            try Runner.run(options, explain: .backupList()) { client throws(HVError) in
                let reply = try client.backups(repository: repository.repository, machine: name)
                if options.json { return Runner.printJSON(reply) }
                guard !reply.backups.isEmpty else {
                    return print("no backups\(name.map { " of \($0)" } ?? "") in \(reply.repository) (make one with 'hv backup create NAME')")
                }
                var table = Table("ID", "MACHINE", "TIME", "KIND", "READ", "STORED", "FROZEN", "VERIFIED", "BOOT TEST", "STATUS")
                for backup in reply.backups {
                    table.add(
                        backup.id, backup.machine, BackupText.time(backup.time), backup.parent == nil ? "full" : "incremental",
                        ByteSize(bytes: UInt64(backup.bytesRead)).readable, ByteSize(bytes: UInt64(backup.bytesStored)).readable,
                        backup.frozen ? "yes" : "", BackupText.verified(backup), backup.bootTest.map { $0.ok ? "ok" : "FAILED" } ?? "",
                        BackupText.status(backup.status)
                    )
                }
                print(table.render())
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one backup: its disks, sizes and verifications.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var repository: Repository
        @Argument(help: "The backup's id, from 'hv backup list'.") var id: String

        func run() throws {
            try Runner.run(options, explain: .backupShow(id)) { client throws(HVError) in
                let backup = try client.backup(id, repository: repository.repository)
                if options.json { return Runner.printJSON(backup) }
                print("backup:      \(backup.id) in \(backup.repository)")
                print("machine:     \(backup.machine)\(backup.group.map { " (group \($0))" } ?? "")")
                print("time:        \(BackupText.time(backup.time))")
                print("kind:        \(backup.parent.map { "incremental since \($0)" } ?? "full")")
                print("frozen:      \(backup.frozen ? "yes, by the guest agent" : "no: crash-consistent")")
                print("status:      \(BackupText.status(backup.status))")
                print("boot test:   \(backup.bootTest.map(BackupText.bootTest) ?? "never")")
                var table = Table("DISK", "SIZE", "READ", "STORED", "VERIFIED")
                for disk in backup.disks {
                    table.add(
                        disk.target, ByteSize(bytes: UInt64(disk.size)).readable, ByteSize(bytes: UInt64(disk.bytesRead)).readable,
                        ByteSize(bytes: UInt64(disk.bytesStored)).readable, disk.verification.map(BackupText.verification) ?? "never"
                    )
                }
                print(table.render())
                for disk in backup.disks {
                    for problem in disk.verification?.problems ?? [] { print("  \(problem)") }
                }
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each machine's newest backup, whether its last backup succeeded, and its last checks."
        )
        @OptionGroup var options: GlobalOptions
        @OptionGroup var repository: Repository

        func run() throws {
            try Runner.run(options, explain: .backupStatus()) { client throws(HVError) in
                let reply = try client.backupStatus(repository: repository.repository)
                if options.json { return Runner.printJSON(reply) }
                guard !reply.machines.isEmpty else { return print("no backups yet (make one with 'hv backup create NAME')") }
                var table = Table("REPOSITORY", "MACHINE", "NEWEST", "LAST ATTEMPT", "VERIFIED", "BOOT TEST")
                for machine in reply.machines {
                    let attempt = machine.lastAttempt.map { attempt in
                        attempt.ok ? "ok \(BackupText.time(attempt.time))" : "FAILED \(BackupText.time(attempt.time)): \(attempt.code ?? "")"
                    }
                    table.add(
                        machine.repository, machine.machine, machine.newest.map { "\($0.id) (\(BackupText.status($0.status)))" } ?? "none",
                        attempt ?? "", machine.lastVerification.map(BackupText.check) ?? "never", machine.lastBootTest.map(BackupText.check) ?? "never"
                    )
                }
                print(table.render())
            }
        }
    }

    struct BootTest: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "boot-test",
            abstract: "Restore a backup into a scratch machine with no network, boot it and wait for a sign of life; then remove it.",
            discussion: "Passes when the guest agent answers or the marker appears on the serial console. The result is kept with the backup; a failure marks it bad. The original machine is not touched."
        )
        @OptionGroup var options: GlobalOptions
        @OptionGroup var repository: Repository
        @Argument(help: "The backup's id.") var id: String
        @Option(help: "Text the guest prints on its serial console once it has booted (default: \(BootTestLimits.defaultMarker)).")
        var marker: String?
        @Option(help: "Seconds to wait for the guest once started (\(BootTestLimits.timeouts.lowerBound) to \(BootTestLimits.timeouts.upperBound)).")
        var timeout = BootTestLimits.defaultTimeout

        func validate() throws {
            try BootTestLimits.validate(timeout: timeout)
            if let marker { try BootTestLimits.validate(marker: marker) }
        }

        func run() throws {
            try Runner.run(options, explain: .backupBootTest(id, marker ?? BootTestLimits.defaultMarker)) { client throws(HVError) in
                let showsPhases = !options.json && isatty(STDERR_FILENO) == 1
                var phase: String?
                let result = try client.bootTestBackup(id, repository: repository.repository, marker: marker, timeout: timeout) { progress in
                    guard showsPhases, let next = progress.phase?.split(separator: " ").prefix(2).joined(separator: " "), next != phase else { return }
                    phase = next
                    FileHandle.standardError.write(Data("\(id): \(progress.phase ?? "")\n".utf8))
                }
                if options.json { return Runner.printJSON(result) }
                guard result.test.ok else {
                    throw HVError(
                        .failed, "backup \(id) failed its boot test: \(result.test.problem ?? "no signal")",
                        fix: "the backup is marked bad; boot-test or restore another backup"
                    )
                }
                print("\(id): booted (\(result.test.signal ?? "signal") after \(Int(result.test.seconds)) s); the scratch machine was removed")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read back every chunk of a backup and check its hash.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var repository: Repository
        @Argument(help: "The backup's id.") var id: String

        func run() throws {
            try Runner.run(options, explain: .backupVerify(id)) { client throws(HVError) in
                let result = try BackupCommand.showingProgress(id, options) { progress throws(HVError) in
                    try client.verifyBackup(id, repository: repository.repository, progress: progress)
                }
                if options.json { return Runner.printJSON(result) }
                guard result.ok else {
                    throw HVError(
                        .failed, "backup \(id) is damaged: \(result.problems.count) bad or missing chunks: "
                            + result.problems.prefix(5).joined(separator: "; "),
                        fix: "restore from another backup; the next backup stores the damaged chunks again"
                    )
                }
                print("\(id): intact (\(result.chunksChecked) chunks, \(ByteSize(bytes: UInt64(result.bytesChecked)).readable) checked)")
            }
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new machine from a backup, or write a backup's disks over the stopped machine it is of.",
            discussion: """
                With --name, the new machine gets new volumes, a new UUID and new MAC addresses, and is charged to the group of the \
                machine backed up; the original is not touched. With --in-place, the backup's disks (those named with --disk, or all) \
                replace the disks of the machine the backup is of, which must be shut off and have no snapshots; its checkpoints are \
                removed, so its next backup is a full one. A restore in place asks for confirmation unless --yes is given.
                """
        )
        @OptionGroup var options: GlobalOptions
        @OptionGroup var repository: Repository
        @Argument(help: "The backup's id.") var id: String
        @Option(name: .customLong("name"), help: ArgumentHelp("The new machine's name.", valueName: "name")) var newName: String?
        @Option(help: "The pool for its disks (default: the broker's own; another only when the host policy allows it).")
        var pool: String?
        @Flag(help: "Write the backup over the machine it is of (shut off), instead of making a new one.") var inPlace = false
        @Option(name: .customLong("disk"), help: ArgumentHelp("With --in-place, restore only this disk (a target, like vdb); repeat for more.", valueName: "target"))
        var disks: [String] = []
        @Flag(help: "Restore in place without asking.") var yes = false

        func validate() throws {
            if inPlace {
                guard newName == nil, pool == nil else { throw ValidationError("--in-place keeps the machine's name and pool: leave out --name and --pool") }
            } else {
                guard newName != nil else { throw ValidationError("name the new machine with --name, or restore over the machine with --in-place") }
                guard disks.isEmpty else { throw ValidationError("--disk restores single disks in place only: add --in-place, or leave out --disk") }
            }
        }

        func run() throws {
            guard let newName else { return try runInPlace() }
            try Runner.run(options, explain: .backupRestore(id, newName)) { client throws(HVError) in
                let restored = try BackupCommand.showingProgress(newName, options) { progress throws(HVError) in
                    try client.restoreBackup(id, repository: repository.repository, as: newName, pool: pool, progress: progress)
                }
                if options.json { return Runner.printJSON(restored) }
                print("restored backup \(id) as \(restored.name) (\(restored.volumes.joined(separator: ", "))); start it with 'hv vm start \(restored.name)'")
            }
        }

        private func runInPlace() throws {
            // A script (no terminal to ask on) must say --yes; refused before the broker is asked anything.
            if !yes && !options.explain && isatty(STDIN_FILENO) != 1 {
                Runner.fail(HVError(
                    .invalidParameter, "refusing to restore backup \(id) in place without confirmation: it overwrites the machine's disks",
                    fix: "run it again with --yes"
                ))
            }
            try Runner.run(options, explain: .backupRestoreInPlace(id, disks: disks)) { client throws(HVError) in
                if !yes { confirm(try client.backup(id, repository: repository.repository)) }
                let restored = try BackupCommand.showingProgress(id, options) { progress throws(HVError) in
                    try client.restoreBackupInPlace(id, repository: repository.repository, disks: disks.isEmpty ? nil : disks, progress: progress)
                }
                if options.json { return Runner.printJSON(restored) }
                let checkpoints = restored.checkpointsRemoved ?? 0
                print(
                    "restored backup \(id) over \(restored.name) (\(restored.volumes.joined(separator: ", ")))"
                        + (checkpoints > 0 ? "; removed \(checkpoints) checkpoint(s), so its next backup is a full one" : "")
                        + "; start it with 'hv vm start \(restored.name)'"
                )
            }
        }

        /// Asks on the terminal, naming the machine and its disks.
        private func confirm(_ backup: BackupInfo) {
            let shown = disks.isEmpty ? backup.disks.map(\.target) : disks
            Runner.printError(
                "overwrite disk(s) \(shown.joined(separator: ", ")) of '\(backup.machine)' with backup \(id)? What is on them now is lost.\n"
                    + "type 'yes' to go on: "
            )
            guard readLine()?.trimmingCharacters(in: .whitespaces).lowercased() == "yes" else {
                Runner.printError("nothing done\n")
                Foundation.exit(1)
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a backup (administrators).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var repository: Repository
        @Argument(help: "The backup's id.") var id: String
        @Flag(help: "Delete without asking.") var yes = false

        func run() throws {
            try Runner.run(options, explain: .backupDelete(id)) { client throws(HVError) in
                guard yes else {
                    throw HVError(.invalidParameter, "refusing to delete backup \(id) without --yes", fix: "run it again with --yes")
                }
                try client.deleteBackup(id, repository: repository.repository)
                if !options.json { print("deleted backup \(id)") }
            }
        }
    }
}

/// How backups' times and verifications read in tables.
enum BackupText {
    static func time(_ seconds: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601)
    }

    static func verification(_ verification: BackupVerification) -> String {
        let when = time(verification.time)
        return verification.ok ? "ok \(when)" : "BAD \(when): \(verification.bad) bad, \(verification.missing) missing"
    }

    static func status(_ status: BackupStatus) -> String {
        switch status {
        case .ok: "ok"
        case .bad: "BAD"
        case .unverified: "never verified"
        }
    }

    static func bootTest(_ test: BackupBootTest) -> String {
        test.ok
            ? "ok \(time(test.time)) (\(test.signal ?? "signal") after \(Int(test.seconds)) s)"
            : "FAILED \(time(test.time)): \(test.problem ?? "")"
    }

    static func check(_ check: BackupCheck) -> String {
        "\(check.ok ? "ok" : "FAILED") \(time(check.time)) (\(check.backup))"
    }

    /// The oldest of the disks' newest verifications: the backup is as verified as its least verified disk.
    static func verified(_ backup: BackupInfo) -> String {
        let verifications = backup.disks.map(\.verification)
        guard !verifications.isEmpty, verifications.allSatisfy({ $0 != nil }) else { return "" }
        let all = verifications.compactMap { $0 }
        return all.allSatisfy(\.ok) ? "ok" : "BAD"
    }
}
