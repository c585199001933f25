import Foundation
import HVBackupStore
import HVBackupSync
import HVBroker
import HVProtocol
import Logging
import Testing

/// `/etc/hypernixos/backup.yaml`: read strictly, every mistake named with the key's path; the
/// repositories it names opened (or made) by name, never by a caller's path.
@Suite struct BackupConfigurationTests {
    @Test func aFileWithTwoRepositoriesIsRead() throws {
        let configuration = try BackupConfiguration.parse(
            """
            repositories:
              nas: {path: /mnt/nas/hv, key_file: /etc/hypernixos/nas.key, chunk_size: 1MiB}
              local:
                path: /var/lib/hypervisor/backups
            """
        )
        #expect(configuration.repositories == [
            BackupConfiguration.Repository(name: "local", path: "/var/lib/hypervisor/backups"),
            BackupConfiguration.Repository(name: "nas", path: "/mnt/nas/hv", keyFile: "/etc/hypernixos/nas.key", chunkSize: 1 << 20),
        ])
    }

    @Test(arguments: [
        ("repositories: {local: {path: /b, keyfile: /k}}", "repositories.local.keyfile"),
        ("repository: {local: {path: /b}}", "repository"),
        ("repositories: {local: {path: backups}}", "repositories.local.path"),
        ("repositories: {local: {path: /var/../etc}}", "repositories.local.path"),
        ("repositories: {local: {path: /b, key_file: keys/k}}", "repositories.local.key_file"),
        ("repositories: {local: {path: /b, chunk_size: 1000}}", "repositories.local.chunk_size"),
        ("repositories: {local: {path: /b, chunk_size: 128MiB}}", "repositories.local.chunk_size"),
        ("repositories: {../x: {path: /b}}", "repositories.../x"),
        ("repositories: {a: {path: /b}, c: {path: /b}}", "repositories"),
        ("repositories: {local: {}}", "repositories.local.path"),
        ("repositories: {local: {path: /b}}\nremotes: {off: {repository: nas, rclone: {remote: 'b2:x', config_file: /r}}}", "remotes.off.repository"),
        ("repositories: {local: {path: /b}}\nremotes: {off: {repository: local}}", "remotes.off"),
        (
            "repositories: {local: {path: /b}}\nremotes: {off: {repository: local, rclone: {remote: 'b2:x', config_file: /r}, sftp: {host: h, user: u, path: /p, identity_file: /k, known_hosts_file: /h}}}",
            "remotes.off"
        ),
        ("repositories: {local: {path: /b}}\nremotes: {off: {repository: local, sftp: {host: 'h,port=1', user: u, path: /p, identity_file: /k, known_hosts_file: /h}}}", "remotes.off.sftp.host"),
        ("repositories: {local: {path: /b}}\nremotes: {off: {repository: local, sftp: {host: h, user: u, path: p, identity_file: /k, known_hosts_file: /h}}}", "remotes.off.sftp.path"),
        ("repositories: {local: {path: /b}}\nremotes: {off: {repository: local, sftp: {host: h, user: u, path: /p, identity_file: /k}}}", "remotes.off.sftp.known_hosts_file"),
        ("repositories: {local: {path: /b}}\nremotes: {off: {repository: local, rclone: {remote: 'b2:x', config_file: /r, flags: -v}}}", "remotes.off.rclone.flags"),
        ("repositories: {local: {path: /b}}\nremotes: {off: {repository: local, rclone: {remote: nocolon, config_file: /r}}}", "remotes.off.rclone.remote"),
        ("repositories: {local: {path: /b}}\nremotes: {off: {repository: local, rclone: {remote: 'b2:x', config_file: /r}, remove_vanished: sometimes}}", "remotes.off.remove_vanished"),
    ])
    func aWrongFileNamesTheKey(text: String, field: String) throws {
        let error = #expect(throws: BackupConfigurationError.self) { try BackupConfiguration.parse(text, path: "/etc/hypernixos/backup.yaml") }
        #expect(error?.field == field, "\(String(describing: error))")
        #expect(error?.description.contains("/etc/hypernixos/backup.yaml") == true)
    }

    @Test func remotesAreReadWithTheirTargets() throws {
        let configuration = try BackupConfiguration.parse(
            """
            repositories:
              local: {path: /var/lib/hypervisor/backups}
            remotes:
              offsite:
                repository: local
                sftp: {host: nas.lan, user: hv, path: /srv/hv, identity_file: /etc/k, known_hosts_file: /etc/kh}
              cloud:
                repository: local
                rclone: {remote: "b2:hv", config_file: /etc/hypernixos/rclone.conf}
                remove_vanished: true
            """
        )
        #expect(configuration.remotes.map(\.name) == ["cloud", "offsite"])
        #expect(configuration.remotes.map(\.removeVanished) == [true, false], "a copy keeps everything unless the remote says otherwise")
        #expect(configuration.remotes.last?.target == .sftp(.init(host: "nas.lan", user: "hv", path: "/srv/hv", identityFile: "/etc/k", knownHostsFile: "/etc/kh")))
        #expect(configuration.remotes.first?.target == .rclone(remote: "b2:hv", configFile: "/etc/hypernixos/rclone.conf"))
        #expect(throws: BackupConfigurationError.self) { try configuration.remote(named: "nas", configurationPath: "/etc/hypernixos/backup.yaml") }
    }

    /// Copies of two repositories in one place, or one inside the other, would each take the
    /// other's chunks for unused ones: the file is refused, naming both remotes. Two copies of
    /// one repository there are the same files, and allowed.
    @Test func twoRemotesInOnePlaceAreRefused() throws {
        func file(_ first: String, _ second: String) -> String {
            """
            repositories: {local: {path: /b}, nas: {path: /n}}
            remotes:
              a: {repository: local, \(first)}
              b: {repository: nas, \(second)}
            """
        }
        let sftp = "identity_file: /k, known_hosts_file: /h"
        let refused = [
            file("sftp: {host: nas.lan, user: u, path: /srv/hv, \(sftp)}", "sftp: {host: NAS.lan, port: 22, user: u, path: /srv//hv/, \(sftp)}"),
            file("sftp: {host: nas.lan, user: u, path: /srv/hv, \(sftp)}", "sftp: {host: nas.lan, user: u, path: /srv/hv/./nas, \(sftp)}"),
            file("sftp: {host: nas.lan, user: u, path: /hv, \(sftp)}", "sftp: {host: nas.lan, user: v, path: /hv, \(sftp)}"),
            file("rclone: {remote: 'b2:bucket/hv/local', config_file: /r}", "rclone: {remote: 'b2:bucket/hv', config_file: /r}"),
            file("rclone: {remote: 'b2:', config_file: /r}", "rclone: {remote: 'b2:bucket', config_file: /r}"),
        ]
        for text in refused {
            let error = #expect(throws: BackupConfigurationError.self) { try BackupConfiguration.parse(text, path: "/etc/hypernixos/backup.yaml") }
            #expect(error?.field == "remotes.b", "\(text)")
            #expect(error?.description.contains("remote 'a'") == true, "\(String(describing: error))")
        }
        let apart = [
            file("sftp: {host: nas.lan, user: u, path: /srv/hv, \(sftp)}", "sftp: {host: nas.lan, user: u, path: /srv/hv-nas, \(sftp)}"),
            file("sftp: {host: nas.lan, user: u, path: /srv/hv, \(sftp)}", "sftp: {host: nas.lan, port: 2222, user: u, path: /srv/hv, \(sftp)}"),
            file("rclone: {remote: 'b2:bucket/hv', config_file: /r}", "rclone: {remote: 's3:bucket/hv', config_file: /r}"),
            file("rclone: {remote: 'b2:bucket/hv', config_file: /r}", "rclone: {remote: 'b2:bucket/hv', config_file: /other}"),
        ]
        let sameRepository = file("rclone: {remote: 'b2:hv', config_file: /r}", "rclone: {remote: 'b2:hv', config_file: /r}")
            .replacingOccurrences(of: "repository: nas", with: "repository: local")
        for text in apart + [sameRepository] {
            #expect(try BackupConfiguration.parse(text).remotes.map(\.name) == ["a", "b"], "\(text)")
        }
    }

    @Test func aMissingFileMeansNoRepositories() throws {
        #expect(try BackupConfiguration.load(path: "/nonexistent/backup.yaml").repositories.isEmpty)
        #expect(try BackupConfiguration.parse("").repositories.isEmpty)
    }

    @Test func withoutRepositoriesEveryRequestSaysWhereToAddOne() throws {
        let repositories = BackupRepositories(configuration: BackupConfiguration(), configurationPath: "/etc/hypernixos/backup.yaml")
        let error = #expect(throws: HVError.self) { try repositories.repository(named: nil) }
        #expect(error?.reason.contains("no backup repository is configured") == true)
        #expect(error?.fix?.contains("/etc/hypernixos/backup.yaml") == true)
        #expect(error?.fix?.contains("docs/BACKUPS.md") == true)
    }

    @Test func anUnknownRepositoryIsRefusedWithTheConfiguredNames() throws {
        let directory = temporaryDirectory()
        let repositories = BackupRepositories(
            configuration: BackupConfiguration(repositories: [
                .init(name: "local", path: directory + "/local"), .init(name: "nas", path: directory + "/nas"),
            ])
        )
        let unknown = #expect(throws: HVError.self) { try repositories.repository(named: "offsite") }
        #expect(unknown?.code == .invalidParameter)
        #expect(unknown?.fix == "name one of: local, nas")
        let unnamed = #expect(throws: HVError.self) { try repositories.repository(named: nil) }
        #expect(unnamed?.code == .invalidParameter, "two repositories: the request must name one")
        #expect(try repositories.repository(named: "nas").name == "nas")
    }

    /// An absent directory gets a new repository, mode 0700; a killed writer's leftovers are
    /// removed when the broker opens it.
    @Test func openingMakesTheRepositoryAndRecoversIt() throws {
        let directory = temporaryDirectory()
        let path = directory + "/deep/backups"
        let repositories = BackupRepositories(configuration: BackupConfiguration(repositories: [.init(name: "local", path: path, chunkSize: 4096)]))
        repositories.openAll(logger: Logger(label: "test"))
        let opened = try repositories.repository(named: nil).repository
        #expect(opened.chunkSize == 4096)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o700)
        // A partial backup, as a killed writer leaves it.
        try FileManager.default.createDirectory(atPath: path + "/backups/.partial-2026-12-06T09-10-00Z-1f0c9a3e", withIntermediateDirectories: true)
        BackupRepositories(configuration: repositories.configuration).openAll(logger: Logger(label: "test"))
        #expect(!FileManager.default.fileExists(atPath: path + "/backups/.partial-2026-12-06T09-10-00Z-1f0c9a3e"))
    }

    @Test func aDirectoryThatHoldsSomethingElseIsNotMadeARepository() throws {
        let directory = temporaryDirectory()
        try "x".write(toFile: directory + "/other", atomically: true, encoding: .utf8)
        let repositories = BackupRepositories(configuration: BackupConfiguration(repositories: [.init(name: "local", path: directory)]))
        let error = #expect(throws: HVError.self) { try repositories.repository(named: "local") }
        #expect(error?.code == .notFound, "\(String(describing: error))")
    }
}
