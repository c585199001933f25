import Foundation
import Glibc
import HVBackup
import HVBackupStore
import HVLibvirt
import Synchronization

/// `hv-bench backup`: on one disk image, a full backup of the machine stopped (qemu-nbd) and
/// running (a pull backup), each into a new repository, against `qemu-img convert`; an incremental
/// backup after the guest changed part of its disk; verification against `sha256sum`; a restore
/// against `qemu-img convert`. The page cache is dropped before every timed step.
struct BackupBench {
    var diskGiB: Int
    var fillPercent: Int
    var changePercent: Double
    var chunkSize: Int
    /// How many times the stopped machine's full backup and its two floors run, in turn.
    var rounds: Int
    var qemuUser: String
    var qemuNBD: String
    /// qemu-nbd started directly, with glibc's default malloc settings (to compare).
    var qemuNBDMallocDefaults: Bool
    var guestISOScript: String?

    static let uri = "qemu:///system"
    static let fullCheckpoint = "hv-bench-bk-full"
    static let incrementalCheckpoint = "hv-bench-bk-incremental"
    static let isoScript = "Tests/Fixtures/make-guest-iso.sh"

    private struct Tools {
        var qemuImg: String
        var sha256sum: String
        var cmp: String
        var env: String
        var isoScript: String
    }

    func run() throws(BenchError) -> BackupReport {
        try BenchRun.requireRoot("it defines a machine on qemu:///system and drops the page cache", fix: "run scripts/bench.sh backup as root")
        let loadAverage = BenchRun.loadAverage()
        let tools = try findTools()
        let connection: Connection
        do {
            connection = try Connection(uri: Self.uri)
        } catch {
            throw BenchError(.serviceUnavailable, "libvirt \(Self.uri): \(error.message)", fix: "start libvirtd")
        }
        let image = BackupDiskImage(size: UInt64(diskGiB) << 30, fillPercent: fillPercent)
        // The image, a repository per round, and a restored copy beside a converted one, at the
        // most; later the image and the repositories, one more among them.
        let scratch = try BackupScratch(qemuUser: qemuUser, requiredBytes: UInt64(rounds + 3) * image.dataBytes + (1 << 30))
        // Only once the lock is held: the guest of a run still at work is not a leftover.
        if BackupGuest.remove(from: connection) { BenchRun.progress("removed the guest \(BackupGuest.name) a killed run left") }
        let cleanUp = CleanUp(connection: connection, scratch: scratch)
        let interrupt = InterruptHandler(cleanUp: cleanUp.run)
        defer {
            interrupt.cancel()
            cleanUp.run()
        }

        BenchRun.progress("writing a \(diskGiB) GiB qcow2 disk with \(image.dataBytes >> 20) MiB of random data")
        try image.write(to: scratch.disk, raw: scratch.directory + "/fill.raw", qemuImg: tools.qemuImg)
        let allocated = try BackupDiskImage.allocatedBytes(of: scratch.disk, qemuImg: tools.qemuImg)
        BenchRun.progress("building the guest's ISO")
        try ToolRun.check([tools.isoScript, scratch.iso, "HV-BENCH-GUEST"], "building the guest ISO")
        let guest = try BackupGuest(connection: connection, disk: scratch.disk, iso: scratch.iso, consoleSocket: scratch.consoleSocket)

        // The copies and the backup take turns, so that the machine's changes of pace (its disk is
        // virtual) fall on all three; each repository stays until the end (see below).
        var stoppedRounds: [BackupReport.StoppedRound] = []
        for round in 1...rounds {
            BenchRun.progress(
                "round \(round) of \(rounds): qemu-img convert -T none -O qcow2, -O qcow2 and -O raw, and a full backup of the stopped machine through qemu-nbd")
            let convertQcow2Uncached = try convert(
                tools, scratch.disk, format: "qcow2", to: scratch.directory + "/converted.qcow2", keep: false, readsUncached: true)
            let convertQcow2 = try convert(tools, scratch.disk, format: "qcow2", to: scratch.directory + "/converted.qcow2", keep: false)
            let convertRaw = try convert(tools, scratch.disk, format: "raw", to: scratch.directory + "/converted.raw", keep: false)
            let repository = try Self.createRepository(at: scratch.directory + "/repository-stopped-\(round)", chunkSize: chunkSize)
            try PageCache.drop()
            let backup = try RepositoryBackup.make(
                .stopped(StoppedImages(domain: guest.domain, qemuNBD: qemuNBD, env: qemuNBDMallocDefaults ? nil : tools.env)),
                into: repository, machine: BackupGuest.name, domainXML: guest.xml
            )
            stoppedRounds.append(
                BackupReport.StoppedRound(
                    backup: backup, convertQcow2Uncached: convertQcow2Uncached, convertQcow2: convertQcow2, convertRaw: convertRaw))
        }
        let stopped = BackupReport.median(stoppedRounds.map(\.backup))
        let convertQcow2Uncached = BackupReport.median(stoppedRounds.map(\.convertQcow2Uncached))
        let convertQcow2 = BackupReport.median(stoppedRounds.map(\.convertQcow2))
        let convertRaw = BackupReport.median(stoppedRounds.map(\.convertRaw))
        // Verify and restore read the first round's repository, which holds its backup only.
        let stoppedPath = scratch.directory + "/repository-stopped-1"
        let stoppedRepository = try Self.openRepository(at: stoppedPath)
        let stoppedID = stoppedRounds[0].backup.id

        BenchRun.progress("Repository.verify, and sha256sum of the chunk files")
        try PageCache.drop()
        let verify = try RepositoryReadBack.verify(stoppedID, in: stoppedRepository)
        try PageCache.drop()
        let digest = try ChunkFilesDigest.measure(repository: stoppedPath, sha256sum: tools.sha256sum)
        guard digest.bytes == verify.bytes, digest.files == verify.chunks else {
            throw BenchError(
                .measurementFailed,
                "the chunk files (\(digest.files), \(digest.bytes) bytes) are not what verify checked (\(verify.chunks), \(verify.bytes) bytes)"
            )
        }

        BenchRun.progress("BackupReader.restore, and qemu-img convert -O raw")
        let restored = scratch.directory + "/restored.raw"
        try PageCache.drop()
        let restore = try RepositoryReadBack.restore(stoppedID, disk: "vda", in: stoppedRepository, to: restored)
        let converted = scratch.directory + "/converted.raw"
        let restoreFloor = try convert(tools, scratch.disk, format: "raw", to: converted, keep: true)
        let same = try CapturedRun([tools.cmp, "-s", "--", restored, converted]).status == 0
        unlink(restored)
        unlink(converted)
        guard same else { throw BenchError(.measurementFailed, "the restored disk differs from qemu-img convert's copy of the disk") }
        // The repositories stay until the end: on ext4 without a journal, removing their
        // thousands of files would slow the next backup's file creations for minutes
        // (docs/BENCHMARKS.md, "Since: nothing removed before a timed backup").

        BenchRun.progress("booting the guest (TCG)")
        try guest.start()
        let console = try GuestConsole(socket: scratch.consoleSocket)
        BenchRun.progress("full backup of the running machine through a pull backup")
        let runningRepository = try Self.createRepository(at: scratch.directory + "/repository-running", chunkSize: chunkSize)
        try PageCache.drop()
        let running = try RepositoryBackup.make(
            .running(PullBackup(domain: guest.domain, workDirectory: scratch.work, checkpoint: Self.fullCheckpoint)),
            into: runningRepository, machine: BackupGuest.name, domainXML: guest.xml, server: guest.qemuProcess()
        )

        let writes = ScatteredWrites(diskSize: image.size, percent: changePercent)
        BenchRun.progress("the guest writes \(writes.count) blocks of 64 KiB at scattered places")
        let writing = Stopwatch.now()
        for command in writes.commands { try console.run(command, timeoutSeconds: 3600) }
        let guestWriteSeconds = Double(Stopwatch.now() - writing) / 1e9

        BenchRun.progress("incremental backup since the full one")
        try PageCache.drop()
        let incremental = try RepositoryBackup.make(
            .running(PullBackup(
                domain: guest.domain, workDirectory: scratch.work, checkpoint: Self.incrementalCheckpoint,
                incrementalSince: Self.fullCheckpoint
            )),
            into: runningRepository, machine: BackupGuest.name, parent: running.id, domainXML: guest.xml, server: guest.qemuProcess()
        )
        try guest.stop()

        let qemuVersion = (try? ToolRun.check([tools.qemuImg, "--version"], "qemu-img --version"))?.split(separator: "\n").first.map(String.init)
        var report = BackupReport(
            machine: .init(
                cpus: ProcessInfo.processInfo.activeProcessorCount, kernel: BenchCommand.kernel(),
                libvirtVersion: (try? connection.libraryVersion()) ?? "?", loadAverage: loadAverage
            ),
            qemuVersion: qemuVersion ?? "?", fileSystem: scratch.fileSystem(), directory: scratch.directory, diskBytes: image.size,
            allocatedBytes: allocated, chunkSize: chunkSize, qemuNBDMallocDefaults: qemuNBDMallocDefaults,
            stoppedBackup: stopped, convertQcow2Uncached: convertQcow2Uncached, convertQcow2: convertQcow2, convertRaw: convertRaw, stoppedRounds: stoppedRounds, runningBackup: running,
            writes: writes, guestWriteSeconds: guestWriteSeconds, chunksTouched: writes.chunksTouched(chunkSize: chunkSize),
            incremental: incremental, verify: verify, chunkFilesDigest: digest, restore: restore, restoreFloor: restoreFloor
        )
        report.judge()
        return report
    }

    /// `qemu-img convert -O FORMAT` of `disk` to `path`, timed after dropping the page cache;
    /// the copy is removed unless kept. `-t writeback` makes qemu-img flush the copy to disk
    /// before it exits (its default for the copy, `unsafe`, never flushes), as the repository
    /// flushes every chunk and a restore its file. `readsUncached` adds `-T none`: qemu-img then
    /// reads the disk with `O_DIRECT`, as a backup does (qemu-nbd `--cache=none`, and a running
    /// machine's QEMU with the disk's `cache="none"`), instead of through the page cache.
    private func convert(
        _ tools: Tools, _ disk: String, format: String, to path: String, keep: Bool, readsUncached: Bool = false
    ) throws(BenchError) -> Timing {
        try PageCache.drop()
        let source = readsUncached ? ["-T", "none"] : []
        let arguments = [tools.qemuImg, "convert"] + source + ["-t", "writeback", "-f", "qcow2", "-O", format, disk, path]
        let timing = try ToolRun.timed(arguments, "qemu-img convert \(readsUncached ? "-T none " : "")-O \(format)")
        if !keep { unlink(path) }
        return timing
    }

    private static func openRepository(at path: String) throws(BenchError) -> Repository {
        do {
            return try Repository.open(at: path)
        } catch {
            throw BenchError(.measurementFailed, "cannot open the repository at \(path): \(error.reason)", fix: error.fix)
        }
    }

    private static func createRepository(at path: String, chunkSize: Int) throws(BenchError) -> Repository {
        do {
            return try Repository.create(at: path, chunkSize: chunkSize)
        } catch {
            throw BenchError(.measurementFailed, "cannot create a repository at \(path): \(error.reason)", fix: error.fix)
        }
    }

    private func findTools() throws(BenchError) -> Tools {
        guard FileManager.default.isExecutableFile(atPath: qemuNBD) else {
            throw BenchError(.serviceUnavailable, "no qemu-nbd at \(qemuNBD)", fix: "install qemu-utils or name it with --qemu-nbd")
        }
        let script = guestISOScript ?? Self.searchISOScript()
        guard let script, FileManager.default.isExecutableFile(atPath: script) else {
            throw BenchError(
                .serviceUnavailable, "no \(Self.isoScript) here or above hv-bench's directory",
                fix: "run it from the repository's top directory (scripts/bench.sh backup does), or name the script with --guest-iso-script"
            )
        }
        return Tools(
            qemuImg: try ToolRun.program("qemu-img", fix: "install qemu-utils"),
            sha256sum: try ToolRun.program("sha256sum", fix: "install coreutils"),
            cmp: try ToolRun.program("cmp", fix: "install diffutils"), env: try ToolRun.program("env", fix: "install coreutils"),
            isoScript: script
        )
    }

    /// The guest ISO script under the current directory, or under hv-bench's directory or one
    /// above it (the build directory is inside the repository).
    private static func searchISOScript() -> String? {
        var directories = [FileManager.default.currentDirectoryPath]
        var directory = URL(fileURLWithPath: BenchCommand.brokerPath(nil)).deletingLastPathComponent()
        for _ in 0..<5 {
            directories.append(directory.path)
            directory = directory.deletingLastPathComponent()
        }
        return directories.map { $0 + "/" + isoScript }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// Removes the guest, then the scratch directory, once: on Ctrl-C the interrupt handler and the
/// failing measurement both get here, and the second waits until the first is done.
private final class CleanUp: Sendable {
    private let connection: Connection
    private let scratch: BackupScratch
    private let done = Mutex(false)

    init(connection: Connection, scratch: BackupScratch) {
        self.connection = connection
        self.scratch = scratch
    }

    func run() {
        done.withLock { done in
            guard !done else { return }
            done = true
            BackupGuest.remove(from: connection)
            scratch.remove()
        }
    }
}
