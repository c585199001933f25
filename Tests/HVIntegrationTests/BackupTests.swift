import Foundation
import HVProtocol
import HVTestSupport
import Testing

/// Backups end to end as an operator of team A, on `qemu:///system` with a real TCG guest behind a
/// broker of its own (`hv-it-backups`, repository `matrix` in its state): a full backup of the
/// running guest, the guest changing a region, an incremental backup that stores a fraction of
/// the full one, and a restore of the incremental one as a new machine whose disk holds the change.
@Suite(.serialized, .enabled(if: Environment.enabled))
struct BackupTests {
    static let machine = "hv-it-backup"
    static let copy = "hv-it-backup-copy"
    static let mebibyte = 1 << 20

    @Test func anOperatorBacksUpChangesBacksUpAgainAndRestoresACopy() throws {
        let stack = try Stack.shared.get()
        let broker = try MatrixBroker(stack: stack, name: "backups", operations: [], libvirtUri: "qemu:///system")
        defer { Self.remove(broker, stack) }
        let owner = MatrixBroker.ownerOperator
        func hv(_ arguments: [String], as user: String = owner) throws -> Output {
            try run([stack.bin + "/hv"] + arguments, as: user, environment: ["HV_SOCKET": broker.socket], timeout: 900)
        }
        func type(_ command: String) throws {
            let output = try run(
                [ConsoleMachine.python, stack.base + "/py/console-session.py", stack.bin + "/hv", Self.machine, "type", command], as: owner,
                environment: ["HV_SOCKET": broker.socket], timeout: 900
            )
            guard output.status == 0 else { throw SetupError("typing '\(command)' into the guest: \(output)") }
        }
        func backup(_ output: Output) throws -> BackupInfo {
            guard output.status == 0 else { throw SetupError("hv backup create: \(output)") }
            return try JSONDecoder().decode(BackupInfo.self, from: Data(output.stdout.utf8))
        }

        try Self.bootGuest(broker, stack) { try hv($0) }
        try type("head -c \(64 * Self.mebibyte) /dev/urandom > /dev/vda; sync")
        let full = try backup(try hv(["backup", "create", Self.machine, "--json"]))
        #expect(full.parent == nil)
        #expect(full.bytesStored >= Int64(64 * Self.mebibyte), "\(full)")

        try type("yes HV-IT-BACKUP-CHANGED | head -c 65536 | dd of=/dev/vda bs=65536 seek=1600 conv=notrunc,fsync 2>/dev/null; sync")
        let incremental = try backup(try hv(["backup", "create", Self.machine, "--repository", "matrix", "--json"]))
        #expect(incremental.parent == full.id)
        #expect(incremental.bytesRead <= Int64(8 * Self.mebibyte), "only the changed chunks are read: \(incremental)")
        #expect(incremental.bytesStored * 8 < full.bytesStored, "\(incremental.bytesStored) of \(full.bytesStored)")
        let checkpoints = try run(["/usr/bin/virsh", "-c", "qemu:///system", "checkpoint-list", Self.machine, "--name"]).stdout
        #expect(checkpoints.split(separator: "\n").map(String.init) == ["hv-backup-" + incremental.id], "only the newest checkpoint stays")
        #expect(try FileManager.default.contentsOfDirectory(atPath: broker.base + "/state/backup-work").isEmpty)

        // Viewers list; an operator of another team may not restore (it would hand over the disks).
        let listed = try hv(["backup", "list", Self.machine], as: Stack.viewerUser)
        #expect(listed.status == 0 && listed.stdout.contains(full.id) && listed.stdout.contains(incremental.id), "\(listed)")
        let stolen = try hv(["backup", "restore", incremental.id, "--name", "hv-it-backup-stolen"], as: MatrixBroker.otherOperator)
        #expect(stolen.status == 4, "\(stolen)")
        #expect(try hv(["backup", "verify", incremental.id]).status == 0)
        #expect(try hv(["backup", "show", incremental.id, "--json"]).stdout.contains("\"ok\" : true"))

        let restored = try hv(["backup", "restore", incremental.id, "--name", Self.copy, "--json"])
        #expect(restored.status == 0, "\(restored)")

        try Self.aKilledBrokersBackupIsCleanedAtStart(broker, lastCheckpoint: "hv-backup-" + incremental.id)

        #expect(try hv(["vm", "kill", Self.machine]).status == 0)
        let images = broker.base + "/state/images/"
        let original = try Self.raw(images + Self.machine + "-root.qcow2", in: broker.base)
        let copy = try Self.raw(images + Self.copy + "-root.qcow2", in: broker.base)
        #expect(copy.size == original.size)
        let changed = (100 * Self.mebibyte)..<(100 * Self.mebibyte + 65536)
        #expect(copy.start[changed] == Array(String(repeating: "HV-IT-BACKUP-CHANGED\n", count: 3200).utf8.prefix(65536))[...])
        #expect(copy.start == original.start, "the copy holds what the guest wrote")
        let infos = try [Self.machine, Self.copy].map { try hv(["vm", "info", $0, "--json"]).stdout }
        let uuids = try infos.map { try JSONDecoder().decode(VmDetails.self, from: Data($0.utf8)).uuid }
        #expect(uuids[0] != uuids[1], "the copy is a new machine")
    }

    /// What a broker killed during a backup leaves — the backup job QEMU still serves from the
    /// broker's working directory, the checkpoint it created, the directory, a partial backup in
    /// the repository — made as the broker makes them, then the broker killed (SIGKILL) and
    /// started again: all of it is gone, and the machine's earlier checkpoint stays.
    static func aKilledBrokersBackupIsCleanedAtStart(_ broker: MatrixBroker, lastCheckpoint: String) throws {
        let id = "2026-12-06T10-00-00Z-0000dead"
        let work = broker.base + "/state/backup-work/" + id
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        _ = try run(["/usr/bin/chown", "libvirt-qemu", work])
        try """
            <domainbackup mode='pull'><server transport='unix' socket='\(work)/nbd.sock'/>
            <disks><disk name='vda' backup='yes' type='file'><scratch file='\(work)/vda.scratch.qcow2'/></disk></disks></domainbackup>
            """.write(toFile: broker.base + "/backup.xml", atomically: true, encoding: .utf8)
        try """
            <domaincheckpoint><name>hv-backup-\(id)</name><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>
            """.write(toFile: broker.base + "/checkpoint.xml", atomically: true, encoding: .utf8)
        let begun = try run([
            "/usr/bin/virsh", "-c", "qemu:///system", "backup-begin", machine, broker.base + "/backup.xml", broker.base + "/checkpoint.xml",
        ])
        guard begun.status == 0 else { throw SetupError("virsh backup-begin: \(begun)") }
        let partial = broker.base + "/backups/backups/.partial-" + id
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)

        _ = try run(["/usr/bin/pkill", "-KILL", "-f", "hv-broker --socket " + broker.socket])
        try? FileManager.default.removeItem(atPath: broker.socket)
        try? FileManager.default.removeItem(atPath: broker.uploadSocket)
        try broker.start()

        let job = try run(["/usr/bin/virsh", "-c", "qemu:///system", "domjobinfo", machine]).stdout
        #expect(job.contains("None"), "the backup job was ended: \(job)")
        let checkpoints = try run(["/usr/bin/virsh", "-c", "qemu:///system", "checkpoint-list", machine, "--name"]).stdout
        #expect(checkpoints.split(separator: "\n").map(String.init) == [lastCheckpoint], "its checkpoint was deleted, the last backup's kept")
        #expect(!FileManager.default.fileExists(atPath: work))
        #expect(!FileManager.default.fileExists(atPath: partial))
        let log = try String(contentsOfFile: broker.base + "/broker.log", encoding: .utf8)
        #expect(log.contains("ended a backup job an interrupted broker left"), "the broker says what it cleaned")
    }

    /// Starts the guest `machine` (the test ISO as its CD-ROM, a 1 GiB disk) and waits for its shell.
    static func bootGuest(_ broker: MatrixBroker, _ stack: Stack, machine: String = machine, hv: ([String]) throws -> Output) throws {
        let isos = broker.base + "/state/isos"
        try FileManager.default.createDirectory(atPath: isos, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: stack.stateDirectory + "/isos/" + stack.isoName, toPath: isos + "/" + stack.isoName)
        _ = try Stack.consoleSession.get()
        let spec = broker.base + "/machine.yaml"
        try """
            name: \(machine)
            vcpus: 1
            memory: 256MiB
            disks: [{name: root, size: 1GiB}]
            cdrom: \(stack.isoName)
            serial: true
            """.write(toFile: spec, atomically: true, encoding: .utf8)
        try run(["/bin/chmod", "-R", "a+rX", broker.base])
        for step in [["vm", "apply", spec], ["vm", "start", machine]] {
            let output = try hv(step)
            guard output.status == 0 else { throw SetupError("\(step): \(output)") }
        }
        var log = ""
        guard try waitUntil(300, every: 2, {
            log = try hv(["vm", "log", machine]).stdout
            return log.contains(Stack.marker) && log.contains("/ # ")
        }) else { throw SetupError("the guest did not reach its shell:\n\(log)") }
    }

    /// A qcow2 volume's size and its first 128 MiB, converted to raw beside the broker's state.
    static func raw(_ volume: String, in base: String) throws -> (size: Int, start: [UInt8]) {
        let file = base + "/" + UUID().uuidString + ".raw"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let converted = try run(["/usr/bin/qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", volume, file])
        guard converted.status == 0 else { throw SetupError("qemu-img convert \(volume): \(converted)") }
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0
        return (size, Array(try handle.read(upToCount: 128 * mebibyte) ?? Data()))
    }

    static func remove(_ broker: MatrixBroker, _ stack: Stack) {
        for name in [machine, copy, "hv-it-backup-stolen"] {
            _ = try? broker.hv(stack, ["vm", "kill", name], as: Stack.adminUser)
            _ = try? broker.hv(stack, ["vm", "delete", name, "--remove-disks"], as: Stack.adminUser)
        }
        _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"])
        for command in [
            ["destroy", machine], ["undefine", machine, "--checkpoints-metadata"], ["destroy", copy], ["undefine", copy],
            ["pool-destroy", "hv-it-backups"], ["pool-undefine", "hv-it-backups"],
        ] {
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system"] + command)
        }
        try? FileManager.default.removeItem(atPath: broker.base)
    }
}
