import Foundation
import HVProtocol
import HVTestSupport
import Testing

/// A restore in place end to end, as an operator of team A behind a broker of its own
/// (`hv-it-inplace`): a guest's disk backed up, changed, the guest stopped and the backup written
/// back over it; a running machine and another team's operator are refused.
@Suite(.serialized, .enabled(if: Environment.enabled))
struct BackupInPlaceTests {
    static let machine = "hv-it-inplace"
    static let mebibyte = 1 << 20

    /// The guest, driven through `hv` as team A's operator (or `user`).
    struct Guest {
        var stack: Stack
        var broker: MatrixBroker

        func hv(_ arguments: [String], as user: String = MatrixBroker.ownerOperator) throws -> Output {
            try run([stack.bin + "/hv"] + arguments, as: user, environment: ["HV_SOCKET": broker.socket], timeout: 900)
        }

        /// Fills the first MiB of the guest's disk with `text`, from inside the guest.
        func fill(_ text: String) throws {
            let command = "yes \(text) | head -c \(mebibyte) | dd of=/dev/vda bs=65536 conv=notrunc,fsync 2>/dev/null; sync"
            let session = [ConsoleMachine.python, stack.base + "/py/console-session.py", stack.bin + "/hv", machine, "type", command]
            let output = try run(session, as: MatrixBroker.ownerOperator, environment: ["HV_SOCKET": broker.socket], timeout: 900)
            guard output.status == 0 else { throw SetupError("typing '\(command)' into the guest: \(output)") }
        }
    }

    @Test func anOperatorRestoresAStoppedMachineInPlace() throws {
        let stack = try Stack.shared.get()
        let broker = try MatrixBroker(stack: stack, name: "inplace", operations: [], libvirtUri: "qemu:///system")
        defer { Self.remove(broker, stack) }
        let guest = Guest(stack: stack, broker: broker)
        func hv(_ arguments: [String], as user: String = MatrixBroker.ownerOperator) throws -> Output { try guest.hv(arguments, as: user) }
        func fill(_ text: String) throws { try guest.fill(text) }

        try BackupTests.bootGuest(broker, stack, machine: Self.machine) { try hv($0) }
        try fill("HV-IT-INPLACE-BACKED-UP")
        let created = try hv(["backup", "create", Self.machine, "--json"])
        guard created.status == 0 else { throw SetupError("hv backup create: \(created)") }
        let backup = try JSONDecoder().decode(BackupInfo.self, from: Data(created.stdout.utf8))
        try fill("HV-IT-INPLACE-CHANGED")

        let running = try hv(["backup", "restore", backup.id, "--in-place", "--yes"])
        #expect(running.status != 0 && running.stderr.contains("shut off"), "a running machine is refused: \(running)")
        let other = try hv(["backup", "restore", backup.id, "--in-place", "--yes"], as: MatrixBroker.otherOperator)
        #expect(other.status == 4, "another team's operator is refused: \(other)")
        let unconfirmed = try hv(["backup", "restore", backup.id, "--in-place"])
        #expect(unconfirmed.status != 0 && unconfirmed.stderr.contains("--yes"), "no terminal, no --yes: refused: \(unconfirmed)")

        #expect(try hv(["vm", "kill", Self.machine]).status == 0)
        let image = broker.base + "/state/images/" + Self.machine + "-root.qcow2"
        #expect(try BackupTests.raw(image, in: broker.base).start.starts(with: Array("HV-IT-INPLACE-CHANGED\n".utf8)))
        let restored = try hv(["backup", "restore", backup.id, "--in-place", "--yes", "--json"])
        #expect(restored.status == 0, "\(restored)")
        let reply = try JSONDecoder().decode(BackupRestoreReply.self, from: Data(restored.stdout.utf8))
        #expect(reply.name == Self.machine)
        #expect((reply.checkpointsRemoved ?? 0) >= 1, "the backup's checkpoint went: \(reply)")

        let disk = try BackupTests.raw(image, in: broker.base)
        let expected = Array(String(repeating: "HV-IT-INPLACE-BACKED-UP\n", count: Self.mebibyte / 24 + 1).utf8.prefix(Self.mebibyte))
        #expect(disk.start[0..<Self.mebibyte] == expected[...], "the disk holds what was backed up")
        let checkpoints = try run(["/usr/bin/virsh", "-c", "qemu:///system", "checkpoint-list", Self.machine, "--name"]).stdout
        #expect(checkpoints.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(checkpoints)")
        let left = try FileManager.default.contentsOfDirectory(atPath: broker.base + "/state/images").filter { $0.hasPrefix(Self.machine) }
        #expect(left == [Self.machine + "-root.qcow2"], "nothing of the restore is left beside the disk: \(left)")
        #expect(try hv(["vm", "start", Self.machine]).status == 0, "the machine starts from the restored disk")

        // A restore that fails because a volume's name is taken leaves that volume alone: it is
        // someone else's (here planted as another restore's raw volume would stand).
        let newMachine = Self.machine + "-new"
        let planted = newMachine + "-root.restore.raw"
        let made = try run(["/usr/bin/virsh", "-c", "qemu:///system", "vol-create-as", Self.pool, planted, "1M", "--format", "raw"])
        guard made.status == 0 else { throw SetupError("virsh vol-create-as: \(made)") }
        let taken = try hv(["backup", "restore", backup.id, "--name", newMachine])
        #expect(taken.status != 0 && taken.stderr.contains(planted), "the taken name is named: \(taken)")
        let images = try FileManager.default.contentsOfDirectory(atPath: broker.base + "/state/images").filter { $0.hasPrefix(newMachine) }
        #expect(images == [planted], "the volume the restore did not make is still there, and nothing else: \(images)")

        // A template's disks are the base of linked clones: never restored in place.
        #expect(try hv(["vm", "kill", Self.machine]).status == 0)
        let template = try hv(["vm", "template", Self.machine])
        #expect(template.status == 0, "\(template)")
        let overTemplate = try hv(["backup", "restore", backup.id, "--in-place", "--yes"])
        #expect(overTemplate.status != 0 && overTemplate.stderr.contains("is a template"), "\(overTemplate)")
    }

    /// The pool of the suite's broker.
    static let pool = "hv-it-inplace"

    static func remove(_ broker: MatrixBroker, _ stack: Stack) {
        _ = try? broker.hv(stack, ["vm", "kill", machine], as: Stack.adminUser)
        _ = try? broker.hv(stack, ["vm", "delete", machine, "--remove-disks"], as: Stack.adminUser)
        _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"])
        for command in [
            ["destroy", machine], ["undefine", machine, "--checkpoints-metadata"], ["pool-destroy", "hv-it-inplace"], ["pool-undefine", "hv-it-inplace"],
        ] {
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system"] + command)
        }
        try? FileManager.default.removeItem(atPath: broker.base)
    }
}
