import Foundation
import HVProtocol
import HVTestSupport
import Testing

/// Backups end to end as an operator of team A, on `qemu:///system` with a real TCG guest behind a
/// broker of its own (`hv-it-backups`, repository `matrix` in its state): the guest writes a known
/// pattern to a region of its disk, a full backup of the running guest, the guest changing the
/// region, an incremental backup that stores a fraction of the full one; then each backup restored
/// as a new machine, each copy booted, and the guest in each reading the region as it was at its
/// backup (the full one's copy the pattern before the change, the incremental one's the change).
@Suite(.serialized, .enabled(if: Environment.enabled))
struct BackupTests {
    static let machine = "hv-it-backup"
    /// The restore of the incremental backup.
    static let copy = "hv-it-backup-copy"
    /// The restore of the full backup.
    static let fullCopy = "hv-it-backup-full"
    static let mebibyte = 1 << 20
    /// What the guest writes to the region before the full backup, and what it changes it to after.
    static let before = "HV-IT-BACKUP-BEFORE"
    static let changed = "HV-IT-BACKUP-CHANGED"

    @Test func anOperatorBacksUpChangesBacksUpAgainAndRestoresACopy() throws {
        let stack = try Stack.shared.get()
        let broker = try MatrixBroker(stack: stack, name: "backups", operations: [], libvirtUri: "qemu:///system")
        defer { Self.remove(broker, stack) }
        let owner = MatrixBroker.ownerOperator
        func hv(_ arguments: [String], as user: String = owner) throws -> Output {
            try run([stack.bin + "/hv"] + arguments, as: user, environment: ["HV_SOCKET": broker.socket], timeout: 900)
        }
        func type(_ command: String, into machine: String = Self.machine) throws {
            let output = try run(
                [ConsoleMachine.python, stack.base + "/py/console-session.py", stack.bin + "/hv", machine, "type", command], as: owner,
                environment: ["HV_SOCKET": broker.socket], timeout: 900
            )
            guard output.status == 0 else { throw SetupError("typing '\(command)' into the guest: \(output)") }
        }
        func backup(_ output: Output) throws -> BackupInfo {
            guard output.status == 0 else { throw SetupError("hv backup create: \(output)") }
            return try JSONDecoder().decode(BackupInfo.self, from: Data(output.stdout.utf8))
        }

        try Self.bootGuest(broker, stack) { try hv($0) }
        try type("head -c \(64 * Self.mebibyte) /dev/urandom > /dev/vda; " + Self.writeRegion(Self.before))
        let full = try backup(try hv(["backup", "create", Self.machine, "--json"]))
        #expect(full.parent == nil)
        #expect(full.bytesStored >= Int64(64 * Self.mebibyte), "\(full)")

        try type(Self.writeRegion(Self.changed))
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

        for (backup, name) in [(incremental, Self.copy), (full, Self.fullCopy)] {
            let restored = try hv(["backup", "restore", backup.id, "--name", name, "--json"])
            #expect(restored.status == 0, "\(restored)")
        }

        try Self.aKilledBrokersBackupIsCleanedAtStart(broker, lastCheckpoint: "hv-backup-" + incremental.id)

        #expect(try hv(["vm", "kill", Self.machine]).status == 0)
        let images = broker.base + "/state/images/"
        let original = try Self.raw(images + Self.machine + "-root.qcow2", in: broker.base)
        let copy = try Self.raw(images + Self.copy + "-root.qcow2", in: broker.base)
        #expect(copy.size == original.size)
        let changed = (100 * Self.mebibyte)..<(100 * Self.mebibyte + 65536)
        #expect(copy.start[changed] == Array(String(repeating: Self.changed + "\n", count: 3200).utf8.prefix(65536))[...])
        #expect(copy.start == original.start, "the copy holds what the guest wrote")
        let infos = try [Self.machine, Self.copy, Self.fullCopy].map { try hv(["vm", "info", $0, "--json"]).stdout }
        let uuids = try infos.map { try JSONDecoder().decode(VmDetails.self, from: Data($0.utf8)).uuid }
        #expect(Set(uuids).count == 3, "each copy is a new machine")

        // Each copy boots from the same ISO, and its guest reads the region as it was at its backup.
        for name in [Self.fullCopy, Self.copy] {
            let started = try hv(["vm", "start", name])
            #expect(started.status == 0, "\(started)")
        }
        func region(of machine: String) throws -> String {
            try Self.awaitShell(machine) { try hv($0) }
            try type("dd if=/dev/vda bs=65536 skip=1600 count=1 2>/dev/null | head -c 40; echo; echo HV-IT-REGION-$((6*7))", into: machine)
            var log = ""
            guard try waitUntil(30, every: 1, {
                log = try hv(["vm", "log", machine]).stdout
                return log.contains("HV-IT-REGION-42")
            }) else { throw SetupError("\(machine) did not print the region:\n\(log.suffix(2000))") }
            return log
        }
        let atFull = try region(of: Self.fullCopy)
        #expect(atFull.contains(Self.before) && !atFull.contains(Self.changed), "the full backup's copy:\n\(atFull.suffix(600))")
        let atIncremental = try region(of: Self.copy)
        #expect(
            atIncremental.contains(Self.changed) && !atIncremental.contains(Self.before),
            "the incremental backup's copy:\n\(atIncremental.suffix(600))"
        )
    }

    /// A shell command that writes `pattern` over the 64 KiB at 100 MiB of the guest's disk.
    static func writeRegion(_ pattern: String) -> String {
        "yes \(pattern) | head -c 65536 | dd of=/dev/vda bs=65536 seek=1600 conv=notrunc,fsync 2>/dev/null; sync"
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
        try awaitShell(machine, hv: hv)
    }

    /// Waits until the guest `machine`, booted from the test ISO, printed its marker and its shell's prompt.
    static func awaitShell(_ machine: String, hv: ([String]) throws -> Output) throws {
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
        for name in [machine, copy, fullCopy, "hv-it-backup-stolen"] {
            _ = try? broker.hv(stack, ["vm", "kill", name], as: Stack.adminUser)
            _ = try? broker.hv(stack, ["vm", "delete", name, "--remove-disks"], as: Stack.adminUser)
        }
        _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"])
        let copies = [copy, fullCopy].flatMap { [["destroy", $0], ["undefine", $0]] }
        for command in [["destroy", machine], ["undefine", machine, "--checkpoints-metadata"]] + copies + [
            ["pool-destroy", "hv-it-backups"], ["pool-undefine", "hv-it-backups"],
        ] {
            _ = try? run(["/usr/bin/virsh", "-c", "qemu:///system"] + command)
        }
        try? FileManager.default.removeItem(atPath: broker.base)
    }
}
