import Foundation
import HVLibvirt
import HVTestSupport

/// These tests create TCG guests on `qemu:///system`, so they need root and a running libvirtd;
/// scripts/test.sh provides both and sets HV_INTEGRATION=1.
enum BackupHost {
    static let enabled: Bool = {
        if ProcessInfo.processInfo.environment["HV_INTEGRATION"] != "1" {
            print("skipping the backup integration tests: set HV_INTEGRATION=1 (scripts/test.sh does) to run them as root against qemu:///system")
            return false
        }
        if getuid() != 0 {
            print("skipping the backup integration tests: they must run as root (they define machines on qemu:///system)")
            return false
        }
        return true
    }()

    /// Everything the tests make lives under here, one directory per test machine.
    static let root = "/var/lib/hv-bkdev"
    static let uri = "qemu:///system"
    static let qemuNBD = "/usr/bin/qemu-nbd"
    static let env = "/usr/bin/env"
    /// The user QEMU runs as under `qemu:///system` on Debian; it creates the NBD and console sockets.
    static let qemuUser = "libvirt-qemu"

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
}

/// A test's own machine `hv-bkdev-NAME` on `qemu:///system` (TCG), with a qcow2 disk `vda` in its
/// own directory under /var/lib/hv-bkdev; `remove()` destroys and undefines it (with its
/// checkpoints) and deletes the directory.
final class TestMachine {
    let name: String
    let directory: String
    let connection: Connection
    let domain: Domain
    let disk: String
    /// A directory QEMU may create files in: the backups' working directory.
    let work: String
    let consoleSocket: String

    /// Defines (does not start) the machine; `bootISO` boots the test guest from a CD-ROM.
    init(_ suffix: String, diskSize: String = "256M", bootISO: Bool = false) throws {
        name = "hv-bkdev-" + suffix
        directory = BackupHost.root + "/" + suffix
        disk = directory + "/disk.qcow2"
        work = directory + "/work"
        consoleSocket = directory + "/qemu/console.sock"
        let (directory, disk, work, consoleSocket) = (directory, disk, work, consoleSocket)
        connection = try Connection(uri: BackupHost.uri)
        if let stale = try connection.domain(named: name) { Self.remove(stale) }
        try? FileManager.default.removeItem(atPath: directory)
        for path in [BackupHost.root, directory] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        for path in [work, directory + "/qemu"] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try expectSuccess(run(["/usr/bin/chown", "\(BackupHost.qemuUser):\(BackupHost.qemuUser)", path]))
        }
        try expectSuccess(run(["qemu-img", "create", "-q", "-f", "qcow2", disk, diskSize]))
        var cdrom = ""
        if bootISO {
            let iso = directory + "/guest.iso"
            try expectSuccess(run([BackupHost.repository + "/Tests/Fixtures/make-guest-iso.sh", iso, "HV-BKDEV-GUEST"]))
            cdrom = """
                <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='\(iso)'/>\
                <target dev='hdc' bus='ide'/><readonly/></disk>
                """
        }
        // Test-made names and paths only; the product builds its XML with encoders.
        domain = try connection.defineDomain(xml: """
            <domain type='qemu'>
              <name>\(name)</name>
              <memory unit='MiB'>256</memory>
              <vcpu>1</vcpu>
              <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='cdrom'/><boot dev='hd'/></os>
              <features><acpi/></features>
              <devices>
                <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='\(disk)'/><target dev='vda' bus='virtio'/></disk>
                \(cdrom)
                <serial type='unix'><source mode='bind' path='\(consoleSocket)'/><target port='0'/></serial>
              </devices>
            </domain>
            """)
    }

    /// Writes `bytes` at `offset` of the (stopped) machine's disk with qemu-io.
    func write(pattern byte: UInt8, at offset: Int, length: Int) throws {
        try expectSuccess(run(["qemu-io", "-f", "qcow2", "-c", "write -P \(byte) \(offset) \(length)", disk]))
    }

    /// The names of the bitmaps in the disk image.
    func bitmaps() throws -> [String] {
        let output = try run(["qemu-img", "info", "-U", "--output=json", "-f", "qcow2", disk])
        try expectSuccess(output)
        let json = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        let specific = (json?["format-specific"] as? [String: Any])?["data"] as? [String: Any]
        return ((specific?["bitmaps"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }.sorted()
    }

    /// What is left in the working directory.
    func workFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: work).sorted()
    }

    func remove() {
        Self.remove(domain)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func remove(_ domain: Domain) {
        if (try? domain.isActive()) == true { try? domain.destroy() }
        for checkpoint in (try? domain.checkpoints().reversed()) ?? [] {
            try? checkpoint.delete(flags: .metadataOnly)
        }
        try? domain.undefine()
    }
}

func expectSuccess(_ output: Output) throws {
    guard output.status == 0 else { throw SetupError("\(output)") }
}
