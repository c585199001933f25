import HVProtocol

/// One disk of a pull-mode backup: which disk, the NBD export it is read from, and the scratch file
/// QEMU keeps the disk's old blocks in while the guest writes over them.
public struct BackupDisk: Sendable, Hashable {
    /// The disk's target in the domain (`vda`).
    public var name: String
    /// The NBD export the disk is read from.
    public var exportName: String
    /// For an incremental backup, the name the changed blocks are exported under (the NBD metadata
    /// context `qemu:dirty-bitmap:NAME`); nil for a full backup.
    public var exportBitmap: String?
    /// The scratch file libvirt creates (qcow2) and deletes when the backup ends.
    public var scratchPath: String

    public init(name: String, exportName: String, exportBitmap: String?, scratchPath: String) {
        self.name = name
        self.exportName = exportName
        self.exportBitmap = exportBitmap
        self.scratchPath = scratchPath
    }
}

/// Encodes libvirt's `<domainbackup>` for `virDomainBackupBegin`.
public enum BackupXML {
    /// A pull-mode backup of `disks` (every other disk of the domain takes no part): QEMU serves
    /// each disk as it is at the start over NBD on the Unix socket `socketPath`. With
    /// `incrementalSince`, each export also reports which blocks changed since that checkpoint.
    ///
    /// Throws `HVError.invalidParameter` naming the field (`socket`, `incremental`,
    /// `disks[0].name`, `disks[0].export_name`, `disks[0].export_bitmap`, `disks[0].scratch`).
    public static func pull(socketPath: String, disks: [BackupDisk], incrementalSince checkpoint: String?) throws(HVError) -> String {
        let code = HVError.Code.invalidParameter
        try Checks.path(socketPath, field: "socket", code: code)
        if let checkpoint { try Checks.name(checkpoint, field: "incremental", what: "checkpoint name", code: code) }
        guard !disks.isEmpty else {
            throw Checks.fail(code, "disks", "a backup needs at least one disk", fix: "name the disks to back up")
        }
        var seen: Set<String> = []
        for (index, disk) in disks.enumerated() {
            try Checks.name(disk.name, field: "disks[\(index)].name", what: "disk target", code: code)
            try Checks.name(disk.exportName, field: "disks[\(index)].export_name", what: "export name", code: code)
            if let bitmap = disk.exportBitmap {
                try Checks.name(bitmap, field: "disks[\(index)].export_bitmap", what: "bitmap name", code: code)
            }
            try Checks.path(disk.scratchPath, field: "disks[\(index)].scratch", code: code)
            guard seen.insert(disk.name).inserted, seen.insert("export:" + disk.exportName).inserted else {
                throw Checks.fail(
                    code, "disks[\(index)]", "disk \(disk.name) or export \(disk.exportName) is named twice",
                    fix: "name each disk and each export once"
                )
            }
        }
        let element = BackupElement(
            mode: "pull", incremental: checkpoint, server: .init(transport: "unix", socket: socketPath),
            disks: .init(disk: disks.map {
                .init(
                    name: $0.name, backup: "yes", type: "file", exportname: $0.exportName,
                    exportbitmap: checkpoint == nil ? nil : $0.exportBitmap, scratch: .init(file: $0.scratchPath)
                )
            })
        )
        return try DomainXML.encodeChecked(element, root: "domainbackup")
    }
}

/// What libvirt reports about a running backup job (`virDomainBackupGetXMLDesc`).
public struct BackupFacts: Sendable, Hashable {
    /// `pull` or `push`.
    public var mode: String
    /// The checkpoint an incremental backup reports changes since; nil for a full one.
    public var incremental: String?
    /// The Unix socket of a pull backup's NBD server.
    public var socketPath: String?
    /// The disks taking part (those with `backup='no'` left out).
    public var disks: [Disk]

    public struct Disk: Sendable, Hashable {
        public var name: String
        public var exportName: String?
        public var exportBitmap: String?
        public var scratchPath: String?

        public init(name: String, exportName: String?, exportBitmap: String?, scratchPath: String?) {
            self.name = name
            self.exportName = exportName
            self.exportBitmap = exportBitmap
            self.scratchPath = scratchPath
        }
    }

    public init(mode: String, incremental: String?, socketPath: String?, disks: [Disk]) {
        self.mode = mode
        self.incremental = incremental
        self.socketPath = socketPath
        self.disks = disks
    }

    /// Reads backup XML that libvirt returned; throws `HVError.failed` when it is not a backup.
    public static func read(xml: String) throws(HVError) -> BackupFacts {
        let backup = try ParsedXML.parse(xml, root: "domainbackup", what: "backup")
        let disks = backup.child("disks")?.children("disk").filter { $0["backup"] != "no" }.map { disk in
            Disk(
                name: disk["name"] ?? "", exportName: disk["exportname"], exportBitmap: disk["exportbitmap"],
                scratchPath: disk.child("scratch").flatMap { $0["file"] ?? $0["dev"] }
            )
        }
        return BackupFacts(
            mode: backup["mode"] ?? "push", incremental: backup.value("incremental"),
            socketPath: backup.child("server")?["socket"], disks: disks ?? []
        )
    }
}

/// libvirt's `<domainbackup>` as the broker begins one.
struct BackupElement: AttributeKeys {
    static var attributeKeys: Set<String> { ["mode"] }
    var mode: String
    var incremental: String?
    var server: Server
    var disks: Disks

    struct Server: AttributeKeys {
        static var attributeKeys: Set<String> { ["transport", "socket"] }
        var transport: String
        var socket: String
    }

    struct Disks: Encodable {
        var disk: [Disk]
    }

    struct Disk: AttributeKeys {
        static var attributeKeys: Set<String> { ["name", "backup", "type", "exportname", "exportbitmap"] }
        var name: String
        var backup: String
        var type: String
        var exportname: String
        var exportbitmap: String?
        var scratch: Scratch
    }

    struct Scratch: AttributeKeys {
        static var attributeKeys: Set<String> { ["file"] }
        var file: String
    }
}
