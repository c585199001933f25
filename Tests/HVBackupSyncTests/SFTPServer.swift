import Foundation
import Glibc
import HVBackupSync
import HVSystem
import HVTestSupport

/// A real OpenSSH server on a loopback port, for root, serving SFTP: a host key and a client key
/// made for the test, the host key pinned in a known_hosts file.
final class SFTPServer {
    static let sshd = "/usr/sbin/sshd"
    static let sshKeygen = "/usr/bin/ssh-keygen"
    static let rcloneDirectories = ["/usr/bin", "/usr/local/bin"]

    /// Root, sshd, ssh-keygen and rclone: the test copies over a real SFTP connection.
    static var available: Bool {
        getuid() == 0 && access(sshd, X_OK) == 0 && access(sshKeygen, X_OK) == 0
            && rcloneDirectories.contains { access($0 + "/rclone", X_OK) == 0 }
    }

    let directory: TemporaryDirectory
    let port: Int
    let process: ChildProcess

    init() throws {
        directory = try TemporaryDirectory("hv-sftp")
        for key in ["host", "client", "other"] {
            let outcome = try ChildProcess.run(
                Command(Self.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "hv-test", "-f", directory.file(key)], environment: [])
            )
            guard outcome.termination == .exited(0) else { throw SyncError(.transferFailed, "ssh-keygen failed") }
        }
        try FileManager.default.copyItem(atPath: directory.file("client.pub"), toPath: directory.file("authorized_keys"))
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = Int.random(in: 20000..<60000)
            let config = try directory.write(
                "sshd_config",
                """
                Port \(port)
                ListenAddress 127.0.0.1
                HostKey \(directory.file("host"))
                AuthorizedKeysFile \(directory.file("authorized_keys"))
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PermitRootLogin prohibit-password
                UsePAM no
                StrictModes no
                Subsystem sftp internal-sftp
                PidFile none

                """
            )
            let process = try ChildProcess(
                Command(Self.sshd, ["-D", "-e", "-f", config], environment: [], standardError: .file(directory.file("sshd.log")))
            )
            if Self.waitUntilListening(port: port, process: process) {
                self.port = port
                self.process = process
                let hostKey = try String(contentsOfFile: directory.file("host.pub"), encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
                _ = try directory.write("known_hosts", "[127.0.0.1]:\(port) \(hostKey)\n")
                let otherKey = try String(contentsOfFile: directory.file("other.pub"), encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
                _ = try directory.write("wrong_known_hosts", "[127.0.0.1]:\(port) \(otherKey)\n")
                return
            }
            _ = process.kill()
            lastError = SyncError(.transferFailed, "sshd did not listen on \(port): \((try? String(contentsOfFile: directory.file("sshd.log"), encoding: .utf8)) ?? "")")
        }
        directory.remove()
        throw lastError ?? SyncError(.transferFailed, "sshd did not start")
    }

    deinit {
        _ = process.kill()
        directory.remove()
    }

    /// A directory on the server (this host's file system, reached over SFTP).
    func target(_ path: String, knownHosts: String = "known_hosts") -> SyncTarget {
        .sftp(
            SyncTarget.SFTPServer(
                host: "127.0.0.1", port: port, user: "root", path: path, identityFile: directory.file("client"),
                knownHostsFile: directory.file(knownHosts)
            )
        )
    }

    private static func waitUntilListening(port: Int, process: ChildProcess) -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if (try? process.poll()) != nil { return false }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if connected == 0 { return true }
            usleep(50_000)
        }
        return false
    }
}
