import HVProtocol

/// `hv backup …`: what libvirt, NBD and the repository do (docs/BACKUPS.md).
extension Explanation {
    public static func backupCreate(_ machine: String) -> Explanation {
        Explanation(
            commands: [
                "\(uri) backup-begin \(machine) BACKUP.xml CHECKPOINT.xml    # running: a pull-mode backup job and a checkpoint",
                "qemu-nbd --read-only --format=qcow2 IMAGE                    # stopped: each disk image served read-only",
            ],
            why: "A running machine keeps running: libvirt has QEMU serve each disk over NBD (a small protocol for reading a disk through a socket) exactly as it was when the job began, and creates a checkpoint, from which QEMU records the blocks the guest changes; the guest agent, when there is one, freezes the file systems for that moment. "
                + "The next backup reads only the chunks changed since that checkpoint. A stopped machine's images are read whole through qemu-nbd. "
                + "Each chunk (256 KiB unless the repository says otherwise) goes to the repository once (chunks of zeros and unchanged ones are not read), named by its hash, with the machine's record and definition, so it can be rebuilt on another host. "
                + "Only the newest backup checkpoint is kept on the machine. Interrupting the command stops the backup and leaves nothing behind.",
            operation: .backupCreate
        )
    }

    public static func backupList() -> Explanation {
        Explanation(
            commands: ["ls REPOSITORY/backups/    # one directory per backup, with its manifest"],
            why: "Lists the backups in a repository the administrator configured: when, full or incremental (and since which), what was read and what was stored, and the last verification.",
            operation: .backupList
        )
    }

    public static func backupShow(_ id: String) -> Explanation {
        Explanation(
            commands: ["cat REPOSITORY/backups/\(id)/manifest.json"],
            why: "Shows one backup's manifest: its machine, parent, disks, the bytes read and stored per disk, whether the guest was frozen, and its verifications.",
            operation: .backupShow
        )
    }

    public static func backupVerify(_ id: String) -> Explanation {
        Explanation(
            commands: ["sha256sum REPOSITORY/chunks/…    # every chunk backup \(id) references"],
            why: "Reads back every chunk the backup references (decrypting it when the repository is encrypted) and checks it hashes to its name; a bad chunk is set aside, so the next backup that needs it stores it again. The result is kept with the backup.",
            operation: .backupVerify
        )
    }

    public static func backupRestore(_ id: String, _ name: String) -> Explanation {
        Explanation(
            commands: [
                "\(uri) vol-create-as hypervisor-images \(name)-DISK.restore.raw SIZE --format raw",
                "(each chunk of backup \(id) written into it; zero chunks left as holes)",
                "\(uri) vol-create-from hypervisor-images \(name)-DISK.qcow2.xml \(name)-DISK.restore.raw",
                "\(uri) define \(name).xml",
            ],
            why: "Makes a new machine from the backup: new volumes in the pool, each written from the backup (every chunk checked against its hash) and copied by libvirt into a qcow2 volume, then the machine defined from the backup's record under the new name with a new UUID and new MAC addresses, checked and charged like 'hv vm create' to the group the backed-up machine belonged to. The original is not touched; a failure removes everything the restore made.",
            operation: .backupRestore
        )
    }

    public static func backupRestoreInPlace(_ id: String, disks: [String]) -> Explanation {
        let shown = disks.isEmpty ? "DISK" : disks.joined(separator: ",")
        return Explanation(
            commands: [
                "(the machine backup \(id) is of: shut off, no snapshots, charged to the backup's group)",
                "\(uri) vol-create-as POOL MACHINE-\(shown).inplace.restore.raw SIZE --format raw",
                "(each chunk of backup \(id) written into it; zero chunks left as holes)",
                "\(uri) vol-create-from POOL MACHINE-\(shown).inplace.qcow2.xml MACHINE-\(shown).inplace.restore.raw",
                "mv MACHINE-\(shown).inplace.qcow2 MACHINE-\(shown).qcow2   (once every disk is written; the old image kept until the last is in)",
                "\(uri) checkpoint-delete MACHINE CHECKPOINT --metadata   (for each checkpoint)",
            ],
            why: "Writes the backup's disks (\(disks.isEmpty ? "all of them" : "only " + disks.joined(separator: ", "))) over those of the stopped machine the backup is of. Each disk is written into a new volume beside the old one, every chunk checked against its hash; only when all are written do they replace the old images, so a failure leaves the machine's disks as they were. The machine's checkpoints go (their bitmaps were in the old images), so its next backup is a full one; a machine with snapshots is refused, since they live in the images. Its definition and record are not changed.",
            operation: .backupRestore
        )
    }

    public static func backupBootTest(_ id: String, _ marker: String) -> Explanation {
        Explanation(
            commands: [
                "(backup \(id) restored as hv-boottest-XXXXXXXX, as 'hv backup restore' does, with no network interface)",
                "\(uri) start hv-boottest-XXXXXXXX",
                "grep -F '\(marker)' CONSOLE-LOG    # once a second, or the guest agent asked for its time",
                "\(uri) destroy hv-boottest-XXXXXXXX; \(uri) undefine hv-boottest-XXXXXXXX    # and its volumes deleted",
            ],
            why: "Proves the backup boots: it is restored into a scratch machine of the broker's (checked against the host policy and charged to the machine's group while the test runs) with no network, so it can't reach or be reached by anything, and started; the test passes when the guest agent answers or the marker appears on its serial console before the timeout. "
                + "The scratch machine and its disks are removed whatever happens, and the result is kept with the backup; a failure marks it bad. The original machine is never touched.",
            operation: .backupBootTest
        )
    }

    public static func backupStatus() -> Explanation {
        Explanation(
            commands: ["cat STATE/backup-attempts.json; cat REPOSITORY/backups/*/manifest.json"],
            why: "Shows, for each machine, its newest backup and whether the newest backup the broker tried succeeded (a failed one leaves no backup, so the broker keeps its outcome), and the newest verification and boot test of its backups.",
            operation: .backupStatus
        )
    }

    public static func backupDelete(_ id: String) -> Explanation {
        Explanation(
            commands: ["rm -r REPOSITORY/backups/\(id)    # renamed away first, so it is gone at once"],
            why: "Deletes the backup's manifest and indexes; its chunks stay while other backups use them, and a garbage collection removes those nothing uses. Backups made since stay whole: each lists every chunk of its disks.",
            operation: .backupDelete
        )
    }
}
