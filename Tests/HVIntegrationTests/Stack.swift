import Foundation
import HVTestSupport

/// The system under test, set up once per run: the project's polkit files, test users in each
/// group, a guest ISO in the library, and the broker started by systemd-socket-activate.
final class Stack: @unchecked Sendable {
    static let operatorUser = "hv-it-operator"
    static let viewerUser = "hv-it-viewer"
    static let adminUser = "hv-it-admin"
    static let strangerUser = "hv-it-stranger"
    static let marker = "HV-IT-MARKER-2f9c"

    let base = "/var/lib/hv-it"
    var socket: String { base + "/run/broker.sock" }
    var uploadSocket: String { base + "/run/upload.sock" }
    var auditLog: String { base + "/log/audit.jsonl" }
    var stateDirectory: String { base + "/state" }
    var consoleDirectory: String { base + "/log/console" }
    /// World-readable copies of the binaries: the build tree may sit under root's private home.
    var bin: String { base + "/bin" }
    let isoName = "hv-it-guest.iso"

    static let shared: Result<Stack, any Error> = Result { try Stack() }

    private init() throws {
        try? run(["/usr/bin/pkill", "-f", base + "/bin/hv-broker"])
        try? FileManager.default.removeItem(atPath: base)
        for directory in [bin, base + "/run", base + "/log", stateDirectory + "/isos", base + "/py"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try createUsers()
        try installPolicy()
        try copyBinaries()
        try buildGuestISO()
        try startBroker()
    }

    /// Installs the project's polkit files (only when they differ: each change makes polkitd
    /// reload its rules) and waits until polkitd answers with them.
    func installPolicy() throws {
        for (source, destination) in [
            ("/polkit/org.hypernixos.policy", "/usr/share/polkit-1/actions/org.hypernixos.policy"),
            ("/polkit/50-hypernixos.rules", "/etc/polkit-1/rules.d/50-hypernixos.rules"),
        ] where !FileManager.default.contentsEqual(atPath: Environment.root + source, andPath: destination) {
            try installFile(Environment.root + source, destination)
        }
        if try waitUntil(20, every: 0.2, viewerMayReadTheHost) { return }
        // A polkitd that stopped evaluating rules (seen after many reloads under load) answers
        // "not authorized" to everything until it restarts.
        print("polkitd does not apply the installed rules; restarting it")
        try run(["/usr/bin/pkill", "-x", "polkitd"])
        try run([Environment.root + "/scripts/start-services.sh"])
        guard try waitUntil(20, every: 0.2, viewerMayReadTheHost) else {
            throw SetupError("polkitd does not grant org.hypernixos.host.info to \(Self.viewerUser) with polkit/50-hypernixos.rules installed")
        }
    }

    /// Whether polkitd grants a viewer `host.info`, asked about the viewer's own process.
    func viewerMayReadTheHost() throws -> Bool {
        try run(["/bin/sh", "-c", "exec /usr/bin/pkcheck --action-id org.hypernixos.host.info --process $$"], as: Self.viewerUser).status == 0
    }

    func createUsers() throws {
        for group in ["hypervisor-viewers", "hypervisor-operators", "hypervisor-admins"] {
            try run(["/usr/sbin/groupadd", "-f", "--system", group])
        }
        let users = [
            (Self.operatorUser, "hypervisor-operators"), (Self.viewerUser, "hypervisor-viewers"),
            (Self.adminUser, "hypervisor-admins"), (Self.strangerUser, ""),
        ]
        for (user, group) in users {
            if try run(["/usr/bin/id", user]).status != 0 {
                try expectSuccess(run(["/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user]))
            }
            try expectSuccess(run(["/usr/sbin/usermod", "-G", group, user]))
        }
    }

    func copyBinaries() throws {
        for name in ["hv", "hv-broker"] {
            try installFile(Environment.buildDirectory + "/" + name, bin + "/" + name, mode: 0o755)
        }
        // The third-party Varlink client, importable by the test users.
        let located = try run(["python3", "-c", "import os, varlink; print(os.path.dirname(varlink.__file__))"])
        try expectSuccess(located)
        try expectSuccess(run(["/bin/cp", "-r", located.stdout.trimmingCharacters(in: .whitespacesAndNewlines), base + "/py/varlink"]))
        try expectSuccess(run(["/bin/chmod", "-R", "a+rX", base]))
    }

    func buildGuestISO() throws {
        let iso = stateDirectory + "/isos/" + isoName
        try expectSuccess(run([Environment.root + "/Tests/Fixtures/make-guest-iso.sh", iso, Self.marker]))
    }

    /// The host policy under test: small per-machine limits and an operator quota.
    func writePolicy() throws -> String {
        let path = base + "/policy.yaml"
        let text = """
            limits: {vcpus: 2, memory: 4GiB, disk: 64GiB}
            groups:
              hypervisor-operators: {vms: 6, vcpus: 8, memory: 8GiB}
            bridges: []
            default_network: default
            iso: {max_size: 256MiB}
            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts the broker the way systemd would: the activator owns the listening socket and
    /// passes it on the first connection. Spawned directly rather than with Foundation.Process,
    /// whose single reaping thread would block waiting on this long-lived child.
    func startBroker() throws {
        let log = base + "/log/broker.log"
        let arguments = [
            "/usr/bin/systemd-socket-activate", "--listen=" + socket, "--listen=" + uploadSocket, bin + "/hv-broker", "--libvirt-uri", "qemu:///system",
            "--audit-log", auditLog, "--state-dir", stateDirectory, "--console-dir", consoleDirectory, "--pool", "hv-it-images",
            "--policy", try writePolicy(),
            // No backup repositories: the host's own configuration is never read.
            "--backup-config", base + "/backup.yaml",
        ]
        // A socket file an interrupted run left would be found at once and given the mode, and
        // then replaced by the activator's with the umask's.
        unlink(socket)
        unlink(uploadSocket)
        try spawn(arguments, log: log)
        guard waitUntil(10, every: 0.05, { FileManager.default.fileExists(atPath: socket) }) else {
            throw SetupError("systemd-socket-activate did not create \(socket)")
        }
        // systemd's hv-broker.socket sets SocketMode=0666; the activator leaves the umask's mode.
        chmod(socket, 0o666)
        chmod(uploadSocket, 0o666)
    }

    /// Runs `hv` as a user against this broker.
    func hv(_ arguments: [String], as user: String) throws -> Output {
        try run([bin + "/hv"] + arguments, as: user, environment: ["HV_SOCKET": socket])
    }

    private func expectSuccess(_ output: Output) throws {
        guard output.status == 0 else { throw SetupError("setup command failed: \(output)") }
    }
}

extension Stack {
    /// The console driver (`Tests/Fixtures/console-session.py`), installed once per run where the
    /// test users can run it: the suites that boot guests side by side all use it, and installing
    /// it again while another suite does fails ("File exists").
    static let consoleSession: Result<String, any Error> = Result {
        let path = try Stack.shared.get().base + "/py/console-session.py"
        try installFile(Environment.root + "/Tests/Fixtures/console-session.py", path, mode: 0o755)
        return path
    }
}
