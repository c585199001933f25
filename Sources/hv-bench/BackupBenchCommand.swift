import ArgumentParser
import HVBackupStore

/// `hv-bench backup`: backup, incremental backup, verification and restore of one disk, each
/// against the standard tool that does the same copy.
struct BackupBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Full and incremental backups, verify and restore of one disk, against qemu-img convert and sha256sum.",
        discussion: """
            Run as root, with libvirtd running. In \(BackupScratch.root) it writes a qcow2 disk of --disk-gib GiB, \
            --fill-percent of it random bytes, and defines the TCG guest \(BackupGuest.name) on qemu:///system with it. \
            It times a full backup of the stopped machine (qemu-nbd) and of the running one (a pull backup), each into a \
            new repository, against qemu-img convert -O qcow2 and -O raw (the stopped backup and both copies --rounds \
            times in turn, the median of each shown); an incremental backup after the guest changed \
            --change-percent of the disk in scattered 64 KiB writes; Repository.verify against sha256sum of the chunk \
            files; BackupReader.restore against qemu-img convert. The page cache is dropped before each. Everything it \
            made is removed at the end, also on failure or Ctrl-C. See docs/BENCHMARKS.md.
            """
    )

    @Option(name: .customLong("disk-gib"), help: "The disk's size in GiB.") var diskGiB = 4
    @Option(help: "The share of the disk filled with random bytes before the guest boots, in percent.") var fillPercent = 50
    @Option(help: "The share of the disk the guest changes before the incremental backup, in percent.") var changePercent = 1.0
    @Option(name: .customLong("chunk-kib"), help: "The repositories' chunk size in KiB.") var chunkKiB = Repository.defaultChunkSize >> 10
    @Option(help: "How many times the stopped machine's full backup and its two floors run, in turn; the median of each is judged.")
    var rounds = 3
    @Option(help: "The user QEMU runs as; it must be able to create files in the backups' working directory.")
    var qemuUser = "libvirt-qemu"
    @Option(help: "The qemu-nbd that serves the stopped machine's image.") var qemuNbd = "/usr/bin/qemu-nbd"
    @Flag(help: "Start qemu-nbd with glibc's default malloc settings, not through env with the ones the broker gives it.")
    var qemuNbdMallocDefaults = false
    @Option(help: "The script that builds the guest's ISO (default: Tests/Fixtures/make-guest-iso.sh, found from here or hv-bench's directory).")
    var guestIsoScript: String?
    @Flag(help: "Print one JSON object instead of the table.") var json = false

    func validate() throws {
        guard (1...1024).contains(diskGiB), (1...100).contains(fillPercent), changePercent > 0, changePercent <= 50 else {
            throw ValidationError("--disk-gib takes 1...1024, --fill-percent 1...100, --change-percent more than 0 up to 50")
        }
        guard chunkKiB >= 4, chunkKiB <= 65536, chunkKiB % 4 == 0 else {
            throw ValidationError("--chunk-kib takes a multiple of 4 from 4 to 65536")
        }
        guard (1...9).contains(rounds) else { throw ValidationError("--rounds takes 1...9") }
    }

    func run() throws {
        let bench = BackupBench(
            diskGiB: diskGiB, fillPercent: fillPercent, changePercent: changePercent, chunkSize: chunkKiB << 10, rounds: rounds, qemuUser: qemuUser,
            qemuNBD: qemuNbd, qemuNBDMallocDefaults: qemuNbdMallocDefaults, guestISOScript: guestIsoScript
        )
        try BenchRun.report(json: json) { () throws(BenchError) in try bench.run() }
    }
}
