import Foundation
import HVPresentation

/// What `hv-bench backup` measured, each figure beside its floor, and the goals of the backups
/// issue judged against them.
struct BackupReport: Encodable, Sendable, BenchReport {
    var machine: Report.Machine
    var qemuVersion: String
    var fileSystem: String
    var directory: String
    var diskBytes: UInt64
    /// The bytes the disk image holds data for (`qemu-img map`): what every full-copy rate is reckoned on.
    var allocatedBytes: UInt64
    var chunkSize: Int
    /// qemu-nbd ran with glibc's default malloc settings (`--qemu-nbd-malloc-defaults`), not the broker's.
    var qemuNBDMallocDefaults: Bool
    /// The median round of each, by wall time.
    var stoppedBackup: RepositoryBackup
    /// `qemu-img convert -T none -O qcow2`: the copy that reads the disk as a backup does
    /// (`O_DIRECT`), the floor the goal is judged against.
    var convertQcow2Uncached: Timing
    /// `-O qcow2` reading through the page cache (qemu-img's default), shown beside it.
    var convertQcow2: Timing
    var convertRaw: Timing
    /// Every round of the stopped machine's full backup and its floors, in the order run.
    var stoppedRounds: [StoppedRound]
    var runningBackup: RepositoryBackup
    var writes: ScatteredWrites
    var guestWriteSeconds: Double
    /// The chunks the guest's writes fell in: what the incremental backup should read.
    var chunksTouched: Int
    var incremental: RepositoryBackup
    var verify: RepositoryReadBack
    var chunkFilesDigest: ChunkFilesDigest
    var restore: RepositoryReadBack
    var restoreFloor: Timing
    var goals: [Goal] = []

    /// One round: `qemu-img convert -T none -O qcow2`, `-O qcow2`, `-O raw`, then the backup.
    struct StoppedRound: Codable, Sendable {
        var backup: RepositoryBackup
        var convertQcow2Uncached: Timing
        var convertQcow2: Timing
        var convertRaw: Timing
    }

    /// What took the median wall time (the lower of the two middle ones of an even count).
    static func median<Run: WallTimed>(_ runs: [Run]) -> Run {
        runs.sorted { $0.wallSeconds < $1.wallSeconds }[(runs.count - 1) / 2]
    }

    /// One figure against its goal; `met` is nil when the issue sets none.
    struct Goal: Codable, Sendable {
        var id: String
        var name: String
        var percent: Double
        var goal: String
        var met: Bool?
    }

    /// The goals judged on the figures above.
    mutating func judge() {
        let uncached = Self.rate(allocatedBytes, convertQcow2Uncached.wallSeconds)
        let qcow2 = Self.rate(allocatedBytes, convertQcow2.wallSeconds)
        let raw = Self.rate(allocatedBytes, convertRaw.wallSeconds)
        func atLeast(_ id: String, _ name: String, _ percent: Double, _ goal: Double) -> Goal {
            Goal(id: id, name: name, percent: percent, goal: "≥ \(Int(goal)) %", met: percent >= goal)
        }
        func atMost(_ id: String, _ name: String, _ percent: Double, _ goal: Double) -> Goal {
            Goal(id: id, name: name, percent: percent, goal: "≤ \(Int(goal)) %", met: percent <= goal)
        }
        let stopped = Self.rate(allocatedBytes, stoppedBackup.wallSeconds)
        let running = Self.rate(allocatedBytes, runningBackup.wallSeconds)
        // Reading through the page cache is not what a backup does: shown, not judged.
        func shown(_ id: String, _ name: String, _ percent: Double) -> Goal {
            Goal(id: id, name: name, percent: percent, goal: "none: that copy reads through the page cache", met: nil)
        }
        goals = [
            atLeast(
                "full.stopped.qcow2-uncached", "full backup, stopped, against qemu-img convert -T none -O qcow2", 100 * stopped / uncached, 90),
            atLeast("full.stopped.raw", "full backup, stopped, against qemu-img convert -O raw", 100 * stopped / raw, 90),
            atLeast(
                "full.running.qcow2-uncached", "full backup, running, against qemu-img convert -T none -O qcow2", 100 * running / uncached, 90),
            atLeast("full.running.raw", "full backup, running, against qemu-img convert -O raw", 100 * running / raw, 90),
            shown("full.stopped.qcow2", "full backup, stopped, against qemu-img convert -O qcow2", 100 * stopped / qcow2),
            shown("full.running.qcow2", "full backup, running, against qemu-img convert -O qcow2", 100 * running / qcow2),
            atMost("incremental.read", "incremental: bytes read, of the disk", 100 * Double(incremental.bytesRead) / Double(diskBytes), 5),
            atMost("incremental.stored", "incremental: bytes newly stored, of the disk", 100 * Double(incremental.bytesStored) / Double(diskBytes), 5),
            atLeast(
                "verify.sha256sum", "verify against sha256sum of the chunk files",
                100 * Self.rate(verify.bytes, verify.wallSeconds) / Self.rate(chunkFilesDigest.bytes, chunkFilesDigest.run.wallSeconds), 80
            ),
            Goal(
                id: "restore.convert", name: "restore against qemu-img convert -O raw",
                percent: 100 * restoreFloor.wallSeconds / restore.wallSeconds, goal: "none set", met: nil
            ),
        ]
    }

    var text: String {
        let allocated = Double(allocatedBytes)
        func mib(_ bytes: Double, _ seconds: Double) -> String { String(format: "%.0f", Self.rate(UInt64(bytes), seconds)) }
        func percent(_ id: String) -> String { goals.first { $0.id == id }.map { String(format: "%.0f %%", $0.percent) } ?? "?" }
        var table = Table("", "wall", "CPU", "MiB/s", "against its floor")
        table.add(
            "full backup, stopped: DiskSource (qemu-nbd) → repository", Self.seconds(stoppedBackup.wallSeconds),
            "\(Self.seconds(stoppedBackup.cpuSeconds)) hv-bench + \(Self.seconds(stoppedBackup.childCPUSeconds)) qemu-nbd",
            mib(allocated, stoppedBackup.wallSeconds),
            "\(percent("full.stopped.qcow2-uncached")) of -T none -O qcow2, \(percent("full.stopped.qcow2")) of -O qcow2, \(percent("full.stopped.raw")) of -O raw"
        )
        table.add(
            "  floor: qemu-img convert -T none -O qcow2", Self.seconds(convertQcow2Uncached.wallSeconds),
            "\(Self.seconds(convertQcow2Uncached.cpuSeconds)) qemu-img", mib(allocated, convertQcow2Uncached.wallSeconds), "")
        table.add("  qemu-img convert -O qcow2 (page cache)", Self.seconds(convertQcow2.wallSeconds), "\(Self.seconds(convertQcow2.cpuSeconds)) qemu-img", mib(allocated, convertQcow2.wallSeconds), "")
        table.add("  floor: qemu-img convert -O raw", Self.seconds(convertRaw.wallSeconds), "\(Self.seconds(convertRaw.cpuSeconds)) qemu-img", mib(allocated, convertRaw.wallSeconds), "")
        table.add(
            "full backup, running: DiskSource (pull backup) → repository", Self.seconds(runningBackup.wallSeconds),
            "\(Self.seconds(runningBackup.cpuSeconds)) hv-bench" + Self.qemu(runningBackup), mib(allocated, runningBackup.wallSeconds),
            "\(percent("full.running.qcow2-uncached")) of -T none -O qcow2, \(percent("full.running.qcow2")) of -O qcow2, \(percent("full.running.raw")) of -O raw"
        )
        table.add(
            "incremental, running (MiB/s of the bytes read)", Self.seconds(incremental.wallSeconds),
            "\(Self.seconds(incremental.cpuSeconds)) hv-bench" + Self.qemu(incremental),
            mib(Double(incremental.bytesRead), incremental.wallSeconds),
            String(format: "%.0f %% of the running full backup's time", 100 * incremental.wallSeconds / runningBackup.wallSeconds)
        )
        table.add(
            "verify: Repository.verify (MiB/s of the chunks checked)", Self.seconds(verify.wallSeconds), "\(Self.seconds(verify.cpuSeconds)) hv-bench",
            mib(Double(verify.bytes), verify.wallSeconds), "\(percent("verify.sha256sum")) of sha256sum"
        )
        table.add(
            "  floor: sha256sum of the \(chunkFilesDigest.files) chunk files", Self.seconds(chunkFilesDigest.run.wallSeconds),
            "\(Self.seconds(chunkFilesDigest.run.cpuSeconds)) sha256sum", mib(Double(chunkFilesDigest.bytes), chunkFilesDigest.run.wallSeconds), ""
        )
        table.add(
            "restore: BackupReader.restore → new file", Self.seconds(restore.wallSeconds), "\(Self.seconds(restore.cpuSeconds)) hv-bench",
            mib(allocated, restore.wallSeconds), "\(percent("restore.convert")) of qemu-img convert"
        )
        table.add("  floor: qemu-img convert -O raw → new file", Self.seconds(restoreFloor.wallSeconds), "\(Self.seconds(restoreFloor.cpuSeconds)) qemu-img", mib(allocated, restoreFloor.wallSeconds), "")

        let chunks = Int((diskBytes + UInt64(chunkSize) - 1) / UInt64(chunkSize))
        var lines = [
            "hv-bench backup: \(machine.cpus) CPUs, Linux \(machine.kernel), libvirt \(machine.libvirtVersion), \(qemuVersion); "
                + "load average \(machine.loadAverage) at start",
            "disk: \(diskBytes >> 30) GiB qcow2, \(allocatedBytes >> 20) MiB allocated (random bytes in extents of 64 MiB); "
                + "repository chunks of \(Self.size(UInt64(chunkSize))), not encrypted; \(fileSystem) at \(directory); "
                + (qemuNBDMallocDefaults ? "qemu-nbd with glibc's default malloc settings; " : "qemu-nbd with the broker's malloc settings; ")
                + "page cache dropped before every timed row; MiB/s of the allocated bytes unless the row says otherwise",
            "",
            Self.trimmed(table.render()),
            "",
            "the stopped machine's full backup and its floors, \(stoppedRounds.count) rounds in turn, the median shown above: "
                + [
                    ("backup", stoppedRounds.map(\.backup.wallSeconds)),
                    ("-T none -O qcow2", stoppedRounds.map(\.convertQcow2Uncached.wallSeconds)),
                    ("-O qcow2", stoppedRounds.map(\.convertQcow2.wallSeconds)),
                    ("-O raw", stoppedRounds.map(\.convertRaw.wallSeconds)),
                ].map { name, walls in "\(name) " + walls.map(Self.seconds).joined(separator: ", ") }.joined(separator: "; ")
                + "; against -T none -O qcow2 round by round: "
                + stoppedRounds.map { String(format: "%.0f %%", 100 * $0.convertQcow2Uncached.wallSeconds / $0.backup.wallSeconds) }
                .joined(separator: ", ")
                + "; against -O qcow2: "
                + stoppedRounds.map { String(format: "%.0f %%", 100 * $0.convertQcow2.wallSeconds / $0.backup.wallSeconds) }.joined(separator: ", "),
            "",
            "each backup's wall time, and the time its storing threads spent in the writer, added up (BackupWriter: hash, "
                + "write, batched flush, rename; commit) while the reader read (libvirt's job, block status, NBD reads): "
                + [("stopped", stoppedBackup), ("running", runningBackup), ("incremental", incremental)].map { name, backup in
                    "\(name) \(Self.seconds(backup.wallSeconds)) / storing \(Self.seconds(backup.storingSeconds))"
                }.joined(separator: ", "),
            "",
            "incremental after the guest changed \(Self.percent(Double(writes.bytes) / Double(diskBytes))) of the disk: \(writes.count) writes of 64 KiB "
                + "at scattered blocks (\(Self.size(writes.bytes)), \(Self.seconds(guestWriteSeconds)) in the guest), falling in \(chunksTouched) "
                + "of \(chunks) chunks; the backup read \(incremental.dataChunks) chunks (\(Self.size(incremental.bytesRead)), "
                + "\(Self.percent(Double(incremental.bytesRead) / Double(diskBytes))) of the disk), kept \(incremental.unchangedChunks) "
                + "from the full backup, found \(incremental.zeroChunks) zero, and stored \(Self.size(incremental.bytesStored)) "
                + "(\(Self.percent(Double(incremental.bytesStored) / Double(diskBytes))))",
            "",
            "goals:",
        ]
        for goal in goals {
            let verdict = goal.met.map { $0 ? "met     " : "NOT met " } ?? "no goal "
            lines.append("  \(verdict) \(goal.name): \(String(format: "%.1f", goal.percent)) % (goal \(goal.goal))")
        }
        return lines.joined(separator: "\n")
    }

    var json: String { encodedJSON }
}

/// A run timed by the wall clock.
protocol WallTimed {
    var wallSeconds: Double { get }
}

extension Timing: WallTimed {}
extension RepositoryBackup: WallTimed {}

extension BackupReport {
    /// `text` without the spaces a table pads rows with an empty last cell with.
    static func trimmed(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(line[..<(line.lastIndex { $0 != " " }.map(line.index(after:)) ?? line.startIndex)])
        }.joined(separator: "\n")
    }

    /// MiB per second.
    static func rate(_ bytes: UInt64, _ seconds: Double) -> Double {
        seconds > 0 ? Double(bytes) / 1_048_576 / seconds : 0
    }

    /// " + N s QEMU (guest included)" when QEMU's CPU time was taken.
    static func qemu(_ backup: RepositoryBackup) -> String {
        backup.serverCPUSeconds.map { " + \(seconds($0)) QEMU (guest included)" } ?? ""
    }

    static func seconds(_ value: Double) -> String {
        String(format: value < 10 ? "%.2f s" : "%.1f s", value)
    }

    static func percent(_ fraction: Double) -> String {
        String(format: "%.1f %%", fraction * 100)
    }

    static func size(_ bytes: UInt64) -> String {
        if bytes >= 1 << 30 { return String(format: "%.2f GiB", Double(bytes) / 1_073_741_824) }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes < 1 << 20 { return String(format: "%.0f KiB", Double(bytes) / 1024) }
        return String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}
