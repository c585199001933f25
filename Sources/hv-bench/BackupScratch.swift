import Foundation
import Glibc

/// Where `hv-bench backup` works: `/var/lib/hv-bench-backup`, locked by one run at a time, and in
/// it the run's directory `run`: the disk image, the guest's ISO, the repositories and the copies.
/// The directory and the path to it can be walked by everyone, since QEMU (as `libvirt-qemu`)
/// opens the disk and the ISO there; the backup's working directory and the console's directory
/// belong to that user, since QEMU creates the NBD socket, the scratch files and the console
/// socket in them (docs/BACKUPS.md, "What libvirt 9.0 needs").
final class BackupScratch: Sendable {
    static let root = "/var/lib/hv-bench-backup"

    let directory: String
    private let lock: Int32

    var disk: String { directory + "/disk.qcow2" }
    var iso: String { directory + "/guest.iso" }
    /// The pull backups' working directory, QEMU's.
    var work: String { directory + "/work" }
    var consoleSocket: String { directory + "/console/console.sock" }

    /// Locks the benchmark's directory, removes what a run that was killed left in it, and makes
    /// the run's directories; fails when less than `requiredBytes` are free there.
    init(qemuUser: String, requiredBytes: UInt64) throws(BenchError) {
        guard let account = getpwnam(qemuUser) else {
            throw BenchError(.serviceUnavailable, "there is no user \(qemuUser), which QEMU runs as", fix: "name QEMU's user with --qemu-user")
        }
        let (uid, gid) = (account.pointee.pw_uid, account.pointee.pw_gid)
        guard mkdir(Self.root, 0o755) == 0 || errno == EEXIST, chmod(Self.root, 0o755) == 0 else {
            throw Self.failure("create \(Self.root)")
        }
        lock = open(Self.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard lock >= 0 else { throw Self.failure("open \(Self.root)") }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            close(lock)
            throw BenchError(.measurementFailed, "another hv-bench backup is running (it holds \(Self.root))", fix: "wait for it to end")
        }
        directory = Self.root + "/run"
        do throws(BenchError) {
            for leftover in (try? FileManager.default.contentsOfDirectory(atPath: Self.root)) ?? [] {
                BenchRun.progress("removing \(Self.root)/\(leftover), left by a run that was killed")
                try? FileManager.default.removeItem(atPath: Self.root + "/" + leftover)
            }
            guard mkdir(directory, 0o755) == 0, chmod(directory, 0o755) == 0 else { throw Self.failure("create \(directory)") }
            for owned in [work, directory + "/console"] {
                guard mkdir(owned, 0o700) == 0, chown(owned, uid, gid) == 0 else { throw Self.failure("create \(owned) for \(qemuUser)") }
            }
            try Self.requireSpace(requiredBytes, in: directory)
        } catch {
            remove()
            throw error
        }
    }

    /// Removes the run's directory and, when nothing else is in it, the benchmark's; unlocks it.
    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
        rmdir(Self.root)
        close(lock)
    }

    /// The type of the file system the run's directory is on, from the longest mount point in
    /// /proc/mounts that holds it; "ext4 without a journal" when ext4 keeps no journal there
    /// (no `/proc/fs/jbd2/DEVICE-8`), since it then skips, one by one, the inodes freed in the last
    /// minute or more whenever it makes a file (docs/BENCHMARKS.md).
    func fileSystem() -> String {
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        var best: (point: String, type: String, device: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 2 else { continue }
            let point = String(fields[1])
            let holds = point == "/" || directory == point || directory.hasPrefix(point + "/")
            if holds, point.count > (best?.point.count ?? -1) { best = (point, String(fields[2]), String(fields[0])) }
        }
        guard let best else { return "?" }
        let device = best.device.split(separator: "/").last.map(String.init) ?? best.device
        if best.type == "ext4", access("/proc/fs/jbd2/\(device)-8", F_OK) != 0 { return "ext4 without a journal" }
        return best.type
    }

    private static func requireSpace(_ bytes: UInt64, in directory: String) throws(BenchError) {
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else { return }
        let free = UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
        guard free >= bytes else {
            throw BenchError(
                .measurementFailed, "the run needs about \(bytes >> 20) MiB in \(directory), and \(free >> 20) MiB are free",
                fix: "free space under /var/lib or ask for a smaller --disk-gib or --fill-percent"
            )
        }
    }

    private static func failure(_ action: String) -> BenchError {
        BenchError(.measurementFailed, "cannot \(action): \(String(cString: strerror(errno)))")
    }
}

/// The kernel's page cache, emptied before each timed step so that every program reads from the
/// disk: `sync`, then `echo 3 > /proc/sys/vm/drop_caches`.
enum PageCache {
    static func drop() throws(BenchError) {
        sync()
        let file = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC)
        guard file >= 0 else {
            throw BenchError(.measurementFailed, "cannot open /proc/sys/vm/drop_caches: \(String(cString: strerror(errno)))", fix: "run as root")
        }
        defer { close(file) }
        guard write(file, "3", 1) == 1 else {
            throw BenchError(.measurementFailed, "cannot drop the page cache: \(String(cString: strerror(errno)))")
        }
    }
}
