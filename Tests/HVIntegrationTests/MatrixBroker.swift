import Foundation
import HVBackupStore
import HVTestSupport

/// A second broker for the authorization matrix: the real socket and real polkit, over a libvirt
/// test-driver node, so that every operation can be tried by every kind of caller without touching
/// the host. Its node holds, for each operation, managed machines charged to `hv-it-team-a`
/// (`a-OP` for non-admins, `z-OP` for the admin) and domains the broker did not make (`f-OP`,
/// `g-OP`); its backup repository `matrix` holds a backup of each managed machine of a backup
/// operation, charged to team A as the machine is.
final class MatrixBroker: @unchecked Sendable {
    static let teamA = "hv-it-team-a"
    static let teamB = "hv-it-team-b"
    static let ownerOperator = "hv-it-op-a"
    static let otherOperator = "hv-it-op-b"

    let base: String
    /// The broker's command line, to start it again after a test stopped it.
    private(set) var arguments: [String] = []
    var socket: String { base + "/broker.sock" }
    var uploadSocket: String { base + "/upload.sock" }
    var auditLog: String { base + "/log/audit.jsonl" }

    static let shared: Result<MatrixBroker, any Error> = Result {
        let stack = try Stack.shared.get()
        return try MatrixBroker(stack: stack, name: "matrix", operations: Matrix.operations.map(\.rawValue))
    }

    /// Sets up the team users, writes the node and policy, and starts the broker.
    ///
    /// - Parameters:
    ///   - policy: the policy file's text; nil for the two teams' groups, `""` for no file at all.
    ///   - libvirtUri: another libvirt than the test-driver node, such as `qemu:///system`.
    ///   - backupFileSystemSize: the backup repository on a tmpfs of this size (`24m`), to fill it.
    init(
        stack: Stack, name: String, operations: [String], auditDirectory: String? = nil, policy: String? = nil,
        libvirtUri: String? = nil, backupFileSystemSize: String? = nil
    ) throws {
        base = stack.base + "/" + name
        try? run(["/usr/bin/pkill", "-f", base + "/"])
        try? run(["/usr/bin/umount", "-l", base + "/backups"])
        try? FileManager.default.removeItem(atPath: base)
        for directory in [base + "/log", base + "/state", base + "/console"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try Self.teams.get()
        var domains = ""
        for operation in operations {
            domains += Self.managed("a-" + operation, instance: "hv-it-\(name)") + Self.managed("z-" + operation, instance: "hv-it-\(name)")
            domains += Self.foreign("f-" + operation) + Self.foreign("g-" + operation)
        }
        let node = try TestDriverNode.write(TestDriverNode.xml(domains: domains), in: base)
        let backupConfig = base + "/backup.yaml"
        if let backupFileSystemSize {
            try FileManager.default.createDirectory(atPath: base + "/backups", withIntermediateDirectories: true)
            let mounted = try run(["/usr/bin/mount", "-t", "tmpfs", "-o", "size=\(backupFileSystemSize),mode=0700", "tmpfs", base + "/backups"])
            guard mounted.status == 0 else { throw SetupError("mount a tmpfs for the repository: \(mounted)") }
        }
        try Self.makeBackups(in: base + "/backups", of: operations)
        try "repositories: {matrix: {path: \(base)/backups}}\n".write(toFile: backupConfig, atomically: true, encoding: .utf8)
        let policyPath = base + "/policy.yaml"
        if policy != "" {
            try (policy ?? "groups: {\(Self.teamA): {}, \(Self.teamB): {}}\n").write(toFile: policyPath, atomically: true, encoding: .utf8)
        }
        arguments = [
            stack.bin + "/hv-broker", "--socket", socket, "--upload-socket", uploadSocket, "--libvirt-uri", libvirtUri ?? "test://" + node,
            "--audit-log", (auditDirectory ?? base + "/log") + "/audit.jsonl", "--state-dir", base + "/state",
            "--console-dir", base + "/console", "--pool", "hv-it-\(name)", "--policy", policyPath, "--backup-config", backupConfig,
        ]
        try start()
        try run(["/bin/chmod", "-R", "a+rX", base])
    }

    /// Starts the broker with `arguments` and waits until both its sockets are there.
    func start() throws {
        try spawn(arguments, log: base + "/broker.log")
        guard waitUntil(20, every: 0.05, { FileManager.default.fileExists(atPath: self.socket) && FileManager.default.fileExists(atPath: self.uploadSocket) }) else {
            throw SetupError("the broker in \(base) did not bind \(socket): \((try? String(contentsOfFile: base + "/broker.log", encoding: .utf8)) ?? "")")
        }
        chmod(socket, 0o666)
        chmod(uploadSocket, 0o666)
    }

    /// Runs `hv` as a user against this broker.
    func hv(_ stack: Stack, _ arguments: [String], as user: String) throws -> Output {
        try run([stack.bin + "/hv"] + arguments, as: user, environment: ["HV_SOCKET": socket])
    }

    /// The team users, made once per run.
    static let teams: Result<Void, any Error> = Result { try createTeams() }

    static func createTeams() throws {
        for group in [teamA, teamB] { try run(["/usr/sbin/groupadd", "-f", "--system", group]) }
        for (user, team) in [(ownerOperator, teamA), (otherOperator, teamB)] {
            if try run(["/usr/bin/id", user]).status != 0 {
                try run(["/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user])
            }
            try run(["/usr/sbin/usermod", "-G", "hypervisor-operators,\(team)", user])
        }
    }

    /// A machine the broker made: its record in `<metadata>`, charged to team A, with one disk.
    static func managed(_ name: String, vcpus: Int = 1, group: String = teamA, instance: String) -> String {
        let spec = #"{"name":"\#(name)","vcpus":\#(vcpus),"memory":"64MiB","disks":[{"name":"disk0","size":"1GiB"}]}"#
        return """
            <domain type='test'><name>\(name)</name><memory unit='MiB'>64</memory><vcpu>\(vcpus)</vcpu>
              <os><type arch='x86_64'>hvm</type></os>
              <metadata><hv:machine xmlns:hv="https://hypernixos.org/xmlns/machine/1"><hv:spec>\(spec)</hv:spec>
                <hv:owner uid="0" group="\(group)"/><hv:template>false</hv:template><hv:tags><hv:tag>matrix</hv:tag></hv:tags><hv:instance>\(instance)</hv:instance>
              </hv:machine></metadata>
            </domain>
            """
    }

    /// The ids of the backups `makeBackups` made, by machine.
    static let backups = LockedBox<[String: String]>([:])

    /// The id of the backup of `machine`; an id no backup has for a machine without one.
    static func backup(of machine: String) -> String {
        backups.value[machine] ?? "2026-01-01T00-00-00Z-00000000"
    }

    /// A repository with one small backup of each managed machine of each backup operation, whose
    /// record charges it to team A and whose domain XML names its disk, as the broker's would.
    static func makeBackups(in path: String, of operations: [String]) throws {
        let repository = try Repository.create(at: path, chunkSize: 4096)
        for operation in operations where operation.hasPrefix("backup") {
            for machine in ["a-" + operation, "z-" + operation] {
                let writer = try BackupWriter.begin(in: repository, machine: machine)
                try writer.beginDisk(target: "vda", size: 4096, format: "qcow2")
                try writer.zero(chunkIndex: 0)
                _ = try writer.finishDisk()
                let spec = #"{"name":"\#(machine)","vcpus":1,"memory":"64MiB","disks":[{"name":"disk0","size":"1GiB"}]}"#
                let record = #"{"format":1,"ownerGroup":"\#(teamA)","ownerUID":0,"spec":\#(spec)}"#
                let xml = """
                    <domain type='test'><name>\(machine)</name><devices><disk type='file' device='disk'>\
                    <source file='/var/lib/hv-it/\(machine)-disk0.qcow2'/><target dev='vda'/></disk></devices></domain>
                    """
                let manifest = try writer.commit(spec: record, domainXML: xml, frozen: false)
                backups.update { $0[machine] = manifest.id }
            }
        }
    }

    /// A domain someone defined with virsh: no record.
    static func foreign(_ name: String) -> String {
        "<domain type='test'><name>\(name)</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
    }

    /// Sends `calls` as `user` with the third-party-free Python client; one result per call.
    func send(_ calls: [[String: Any]], as user: String) throws -> [(error: String?, reason: String?)] {
        let file = base + "/calls-\(user)-\(UUID().uuidString.prefix(6)).json"
        try JSONSerialization.data(withJSONObject: calls).write(to: URL(fileURLWithPath: file))
        chmod(file, 0o644)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let output = try run(["/usr/bin/python3", Self.client, socket, uploadSocket, file], as: user, timeout: 600)
        guard output.status == 0, let data = output.stdout.data(using: .utf8),
            let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]], list.count == calls.count
        else { throw SetupError("the Varlink client failed as \(user): \(output)") }
        return list.map { ($0["error"] as? String, $0["reason"] as? String) }
    }

    /// The client, copied where every test user can read it.
    static let client: String = {
        let stack = try? Stack.shared.get()
        let path = (stack?.base ?? "/var/lib/hv-it") + "/py/varlink-calls.py"
        try? installFile(Environment.root + "/Tests/Fixtures/varlink-calls.py", path, mode: 0o755)
        return path
    }()
}
