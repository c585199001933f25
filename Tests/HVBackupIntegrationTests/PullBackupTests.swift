import Foundation
import HVBackup
import HVDomainXML
import HVLibvirt
import Testing

/// Backups of running TCG guests through libvirt's pull-mode backup jobs and NBD.
@Suite(.serialized, .enabled(if: BackupHost.enabled, "needs root, libvirtd and HV_INTEGRATION=1"))
struct PullBackupTests {
    static let mebibyte = 1 << 20
    static let chunk = 4 << 20

    /// The guest writes a pattern; a full backup reads exactly it (and reads only the chunks that
    /// hold it). The guest then changes two small ranges; an incremental backup since the first
    /// checkpoint reports just the two chunks they are in, with the new bytes.
    @Test func fullThenIncrementalBackupOfARunningGuest() throws {
        let machine = try TestMachine("pull", bootISO: true)
        defer { machine.remove() }
        try machine.domain.start()
        let console = try SerialConsole(socket: machine.consoleSocket)
        try console.run("yes HV-BKDEV-PATTERN | head -c \(64 * Self.mebibyte) > /dev/vda; sync")
        var expected = pattern("HV-BKDEV-PATTERN\n", length: 64 * Self.mebibyte) + [UInt8](repeating: 0, count: 192 * Self.mebibyte)

        let full = try readDisks(.running(PullBackup(domain: machine.domain, workDirectory: machine.work, checkpoint: "hv-bkdev-full")))
        let vda = try #require(full.disks["vda"])
        #expect(vda.image == expected)
        #expect(vda.kinds.count == 64)
        #expect(vda.dataIndexes == Array(0..<16), "only the chunks the guest wrote are read")
        #expect(full.summary.bytesRead == UInt64(64 * Self.mebibyte))
        #expect(full.summary.checkpoint == "hv-bkdev-full")
        #expect(try machine.domain.jobStats().kind == .none)
        #expect(try machine.domain.checkpoints().map(\.name) == ["hv-bkdev-full"])
        #expect(try machine.workFiles() == [])

        try console.run(
            "printf EDIT | dd of=/dev/vda bs=1 seek=\(8 * Self.mebibyte + 100) conv=notrunc,fsync 2>/dev/null; "
                + "yes HV-BKDEV-CHANGED | head -c 65536 | dd of=/dev/vda bs=65536 seek=1600 conv=notrunc,fsync 2>/dev/null; sync"
        )
        expected.replaceSubrange((8 * Self.mebibyte + 100)..<(8 * Self.mebibyte + 104), with: Array("EDIT".utf8))
        expected.replaceSubrange((100 * Self.mebibyte)..<(100 * Self.mebibyte + 65536), with: pattern("HV-BKDEV-CHANGED\n", length: 65536))

        let incremental = try readDisks(.running(PullBackup(
            domain: machine.domain, workDirectory: machine.work, checkpoint: "hv-bkdev-incremental", incrementalSince: "hv-bkdev-full"
        )))
        let changed = try #require(incremental.disks["vda"])
        #expect(changed.dataIndexes == [2, 25])
        #expect(changed.kinds.filter { $0 == .unchanged }.count == 62)
        for index in [2, 25] {
            let range = (index * Self.chunk)..<((index + 1) * Self.chunk)
            #expect(changed.image[range] == expected[range], "chunk \(index) holds the new bytes")
        }
        #expect(incremental.summary.bytesRead == UInt64(2 * Self.chunk))
        #expect(try machine.domain.checkpoints().map(\.name) == ["hv-bkdev-full", "hv-bkdev-incremental"])
        let checkpoint = try #require(try machine.domain.checkpoint(named: "hv-bkdev-incremental"))
        let facts = try CheckpointFacts.read(xml: try checkpoint.xmlDescription())
        #expect(facts.bitmaps == ["vda": "hv-bkdev-incremental"])
        #expect(facts.parent == "hv-bkdev-full")
        #expect(try machine.workFiles() == [])

        // Its images can't be read directly while it runs.
        let refused = #expect(throws: BackupError.self) {
            try DiskSource.stopped(StoppedImages(domain: machine.domain, qemuNBD: BackupHost.qemuNBD, env: BackupHost.env)).read { _ in }
        }
        #expect(refused?.code == .machineRunning)
        // An incremental backup from a checkpoint that does not exist is refused before anything begins.
        let missing = #expect(throws: BackupError.self) {
            try DiskSource.running(PullBackup(
                domain: machine.domain, workDirectory: machine.work, checkpoint: "hv-bkdev-x", incrementalSince: "hv-bkdev-none"
            )).read { _ in }
        }
        #expect(missing?.code == .checkpointMissing)
        #expect(try machine.domain.checkpoints().map(\.name) == ["hv-bkdev-full", "hv-bkdev-incremental"])
    }

    /// Stopped by the caller, by the consumer's own failure, or by the machine stopping: each time
    /// the job is gone, the checkpoint the backup created is deleted with its bitmap, and the
    /// working directory is empty.
    @Test func endingEarlyLeavesNothingBehind() throws {
        let machine = try TestMachine("early", diskSize: "64M")
        defer { machine.remove() }
        try machine.write(pattern: 0x5A, at: 0, length: 32 * Self.mebibyte)
        // No operating system: the machine sits in its firmware, its disk untouched.
        try machine.domain.start()
        func backup() -> DiskSource {
            .running(PullBackup(domain: machine.domain, workDirectory: machine.work, checkpoint: "hv-bkdev-early"))
        }
        func expectNothingLeft(_ when: Comment) throws {
            #expect(try machine.domain.checkpoints().isEmpty, when)
            #expect((try? machine.domain.jobStats().kind) != .unbounded, when)
            #expect(try machine.bitmaps() == [], when)
            #expect(try machine.workFiles() == [], when)
        }

        // No guest agent answers here: the backup goes on and says nothing was frozen. Its
        // checkpoint is deleted through libvirt while the machine runs.
        let unfrozen = try readDisks(.running(PullBackup(
            domain: machine.domain, workDirectory: machine.work, checkpoint: "hv-bkdev-unfrozen", freezeFilesystems: true
        )))
        #expect(unfrozen.summary.froze == false)
        #expect(unfrozen.disks["vda"]?.dataIndexes == Array(0..<8))
        try CheckpointRemoval().delete("hv-bkdev-unfrozen", of: machine.domain)
        #expect(try machine.domain.checkpoints().isEmpty)
        try CheckpointRemoval().delete("hv-bkdev-unfrozen", of: machine.domain)

        let stop = Switch()
        let cancelled = #expect(throws: BackupError.self) {
            try backup().read(chunkSize: testChunkSize, observer: BackupObserver(progress: { _ in stop.turnOn() }, isCancelled: { stop.isOn })) { _ in }
        }
        #expect(cancelled?.code == .cancelled)
        try expectNothingLeft("after a cancel")

        struct RepositoryFull: Error {}
        #expect(throws: RepositoryFull.self) { try backup().read { _ in throw RepositoryFull() } }
        try expectNothingLeft("after the consumer failed")

        let stopped = #expect(throws: BackupError.self) {
            try backup().read { chunk in if chunk.index == 0 { try machine.domain.destroy() } }
        }
        #expect(stopped?.code == .machineStopped)
        #expect(try machine.domain.isActive() == false)
        try expectNothingLeft("after the machine stopped")
    }
}
