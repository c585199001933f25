import HVProtocol

/// The rules of a restore in place (`Backup.Restore` with `inPlace`): it keeps the machine's name
/// and pool, and restores every disk of the backup the machine has, or the disks named.
public enum InPlaceRestore {
    /// The most disks a request names (a machine has at most a few dozen).
    public static let maxDisks = 64

    /// Checks a request's parameters before anything else is asked.
    public static func validate(name: String?, pool: String?, disks: [String]?) throws(HVError) {
        if name != nil {
            throw .invalidParameter(
                "name", "a restore in place keeps the machine's name: it restores the machine the backup is of",
                fix: "leave out name, or leave out inPlace to make a new machine"
            )
        }
        if pool != nil {
            throw .invalidParameter("pool", "a restore in place writes over the machine's own volumes, in their pool", fix: "leave out pool")
        }
        guard let disks else { return }
        guard !disks.isEmpty, disks.count <= maxDisks else {
            throw .invalidParameter("disks", "name between 1 and \(maxDisks) disks, or leave out disks to restore them all")
        }
        for disk in disks where !isTarget(disk) {
            throw .invalidParameter(
                "disks", "'\(VmName.printable(disk))' is not a disk target: targets are a letter then letters and digits, like vda or sdb",
                fix: "name disks as 'hv backup show' lists them"
            )
        }
        guard Set(disks).count == disks.count else {
            throw .invalidParameter("disks", "a disk is named twice", fix: "name each disk once")
        }
    }

    /// The disks to write: those named (each one the backup and the machine have), or every disk
    /// of the backup; the machine must have each of them, at the size the backup recorded, so its
    /// definition stays true.
    ///
    /// - Parameters:
    ///   - backup: the backup's disks, target to size in bytes.
    ///   - machine: the machine's writable disks, target to size in bytes.
    public static func select(_ requested: [String]?, backup: [String: UInt64], machine: [String: UInt64]) throws(HVError) -> [String] {
        let has = backup.keys.sorted()
        let chosen = requested ?? has
        for target in chosen where backup[target] == nil {
            throw .invalidParameter("disks", "the backup has no disk \(target)", fix: "name disks the backup has: \(has.joined(separator: ", "))")
        }
        for target in chosen {
            guard let now = machine[target] else {
                throw HVError(
                    .invalidState, "the machine has no writable disk \(target), which the backup has",
                    fix: "restore the backup to a new machine ('hv backup restore ID --name NEW')", details: ["name": target]
                )
            }
            let then = backup[target] ?? 0
            guard now == then else {
                throw HVError(
                    .invalidState,
                    "disk \(target) is \(ByteSize(bytes: now).readable) now and was \(ByteSize(bytes: then).readable) when backed up",
                    fix: "restore the backup to a new machine ('hv backup restore ID --name NEW'), or restore the other disks with --disk",
                    details: ["name": target]
                )
            }
        }
        return chosen
    }

    static func isTarget(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (2...16).contains(bytes.count), let first = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else { return false }
        return bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
