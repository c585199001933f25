import Foundation
import HVProtocol
import HVSystem
import HVTestSupport
import Testing

/// Backups that fail midway, through the broker on `qemu:///system` with a real TCG guest, as an
/// operator of team A: the repository's file system fills up (a 24 MiB tmpfs), the machine is
/// stopped while its disks are read, and an administrator prunes while a backup writes. The first
/// two fail the backup saying why, and leave nothing:
/// no backup listed, no partial one, no chunk in flight, no checkpoint of its own on the machine,
/// no working directory; the broker serves on; and once the cause is gone the next backup
/// succeeds and verifies. The prune removes what it should and nothing a backup being written
/// uses. (A broker killed midway: `BackupTests`.)
@Suite(.serialized, .enabled(if: Environment.enabled))
struct BackupFaultTests {
    static let machine = "hv-it-bkfault"

    @Test func aFullRepositoryAndAMachineStoppedMidwayFailTheBackupAndLeaveNothing() throws {
        let stack = try Stack.shared.get()
        let broker = try MatrixBroker(stack: stack, name: "bkfaults", operations: [], libvirtUri: "qemu:///system", backupFileSystemSize: "24m")
        defer { Self.remove(broker, stack) }
        let owner = MatrixBroker.ownerOperator
        let repository = broker.base + "/backups"
        func hv(_ arguments: [String]) throws -> Output {
            try run([stack.bin + "/hv"] + arguments, as: owner, environment: ["HV_SOCKET": broker.socket], timeout: 900)
        }
        func type(_ command: String) throws {
            let output = try run(
                [ConsoleMachine.python, stack.base + "/py/console-session.py", stack.bin + "/hv", Self.machine, "type", command], as: owner,
                environment: ["HV_SOCKET": broker.socket], timeout: 900
            )
            guard output.status == 0 else { throw SetupError("typing '\(command)' into the guest: \(output)") }
        }
        func listed() throws -> [BackupInfo] {
            let output = try hv(["backup", "list", Self.machine, "--json"])
            guard output.status == 0 else { throw SetupError("hv backup list: \(output)") }
            return try JSONDecoder().decode(BackupListReply.self, from: Data(output.stdout.utf8)).backups
        }
        func checkpoints() throws -> [String] {
            try run(["/usr/bin/virsh", "-c", "qemu:///system", "checkpoint-list", Self.machine, "--name"]).stdout
                .split(separator: "\n").map(String.init)
        }
        /// Nothing of a failed backup is left, and the broker still answers.
        func nothingLeft(_ context: String, keeping kept: [String]) throws {
            #expect(try listed().map(\.id) == kept, "\(context): only the backups made before")
            let names = try FileManager.default.contentsOfDirectory(atPath: repository + "/backups")
            #expect(names.sorted() == kept.sorted(), "\(context): no partial backup: \(names)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: repository + "/tmp").isEmpty, "\(context): no chunk in flight")
            #expect(try FileManager.default.contentsOfDirectory(atPath: repository + "/writers").isEmpty, "\(context): no writer")
            #expect(try FileManager.default.contentsOfDirectory(atPath: broker.base + "/state/backup-work").isEmpty, "\(context): no working directory")
            #expect(try checkpoints() == kept.suffix(1).map { "hv-backup-" + $0 }, "\(context): no checkpoint of the failed backup")
            #expect(try hv(["vm", "info", Self.machine, "--json"]).status == 0, "\(context): the broker serves on")
        }

        try BackupTests.bootGuest(broker, stack, machine: Self.machine) { try hv($0) }
        try type("head -c \(48 << 20) /dev/urandom > /dev/vda; sync")

        // 48 MiB of random data do not fit in 24 MiB.
        let full = try hv(["backup", "create", Self.machine])
        #expect(full.status != 0, "\(full)")
        #expect(full.stderr.lowercased().contains("space"), "the error says the repository is full: \(full)")
        try nothingLeft("after the repository filled up", keeping: [])

        // Room made: the next backup succeeds, in full, and verifies.
        let grown = try run(["/usr/bin/mount", "-o", "remount,size=1g", repository])
        #expect(grown.status == 0, "\(grown)")
        let first = try Self.created(try hv(["backup", "create", Self.machine, "--json"]))
        #expect(first.parent == nil)
        #expect(try hv(["backup", "verify", first.id]).status == 0)

        // The machine is stopped while its disks are read: 384 MiB changed make the next backup
        // read for long enough to stop the machine in the middle.
        try type("head -c \(384 << 20) /dev/urandom | dd of=/dev/vda bs=1M seek=64 conv=fsync 2>/dev/null; sync")
        let work = broker.base + "/state/backup-work"
        let creating = try ChildProcess(
            Command(
                "/usr/sbin/runuser", ["-u", owner, "--", "/usr/bin/env", "HV_SOCKET=" + broker.socket, stack.bin + "/hv", "backup", "create", Self.machine],
                environment: ["PATH=/usr/bin:/bin"], standardOutput: .capture, standardError: .capture
            )
        )
        let begun = waitUntil(120, every: 0.005) { ((try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []).isEmpty == false }
        #expect(begun, "the backup began")
        let killed = try run(["/usr/bin/virsh", "-c", "qemu:///system", "destroy", Self.machine])
        #expect(killed.status == 0, "\(killed)")
        let outcome = try creating.finish(timeout: .seconds(600))
        let stderr = String(decoding: outcome.standardError.bytes, as: UTF8.self)
        #expect(outcome.termination != .exited(0), "the backup of a machine stopped midway fails: \(stderr)")
        #expect(stderr.contains("stopped") || stderr.contains("shut"), "it says the machine stopped: \(stderr)")
        try nothingLeft("after the machine stopped midway", keeping: [first.id])

        // Stopped, its disks are read whole; what the guest wrote is in the new backup, which verifies.
        let second = try Self.created(try hv(["backup", "create", Self.machine, "--json"]))
        #expect(second.bytesRead >= Int64(400 << 20), "the whole written disk is read: \(second)")
        #expect(try hv(["backup", "verify", second.id]).status == 0)
        #expect(try listed().map(\.id).sorted() == [first.id, second.id].sorted())

        // An administrator prunes while a third backup writes: the pruned backup goes, the chunks
        // the writer uses stay, and both kept backups verify.
        let writing = try ChildProcess(
            Command(
                "/usr/sbin/runuser", ["-u", owner, "--", "/usr/bin/env", "HV_SOCKET=" + broker.socket, stack.bin + "/hv", "backup", "create", Self.machine, "--json"],
                environment: ["PATH=/usr/bin:/bin"], standardOutput: .capture, standardError: .capture
            )
        )
        let registered = waitUntil(120, every: 0.005) { ((try? FileManager.default.contentsOfDirectory(atPath: repository + "/writers")) ?? []).isEmpty == false }
        #expect(registered, "the third backup began writing")
        let pruned = try broker.hv(stack, ["backup", "prune", "--vm", Self.machine, "--keep-last", "1", "--json"], as: Stack.adminUser)
        #expect(pruned.status == 0, "\(pruned)")
        let written = try writing.finish(timeout: .seconds(600))
        guard written.termination == .exited(0) else {
            throw SetupError("the backup written beside the prune: \(String(decoding: written.standardError.bytes, as: UTF8.self))")
        }
        let third = try JSONDecoder().decode(BackupInfo.self, from: Data(written.standardOutput.bytes))
        let kept = try listed().map(\.id)
        #expect(!kept.contains(first.id), "the oldest backup was pruned: \(kept)")
        #expect(kept.contains(third.id), "the backup written meanwhile is kept: \(kept)")
        for id in kept {
            let verified = try hv(["backup", "verify", id])
            #expect(verified.status == 0, "\(id) verifies after the prune beside it: \(verified)")
        }
    }

    static func created(_ output: Output) throws -> BackupInfo {
        guard output.status == 0 else { throw SetupError("hv backup create: \(output)") }
        return try JSONDecoder().decode(BackupInfo.self, from: Data(output.stdout.utf8))
    }

    static func remove(_ broker: MatrixBroker, _ stack: Stack) {
        _ = try? broker.hv(stack, ["vm", "kill", machine], as: Stack.adminUser)
        _ = try? broker.hv(stack, ["vm", "delete", machine, "--remove-disks"], as: Stack.adminUser)
        _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"])
        for command in [["destroy", machine], ["undefine", machine, "--checkpoints-metadata"], ["pool-destroy", "hv-it-bkfaults"], ["pool-undefine", "hv-it-bkfaults"]] {
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system"] + command)
        }
        _ = try? run(["/usr/bin/umount", "-l", broker.base + "/backups"])
        try? FileManager.default.removeItem(atPath: broker.base)
    }
}
