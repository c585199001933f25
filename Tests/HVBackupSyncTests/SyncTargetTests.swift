import HVBackupSync
import Testing

struct SyncTargetTests {
    static let server = SyncTarget.SFTPServer(
        host: "nas.lan", port: 2222, user: "hvbackup", path: "/srv/hv", identityFile: "/etc/hypernixos/sftp.key",
        knownHostsFile: "/etc/hypernixos/known_hosts"
    )

    @Test func anSFTPServerIsDescribedInFullByItsLocation() throws {
        let target = SyncTarget.sftp(Self.server)
        try target.validate()
        #expect(
            target.location("chunks/ab")
                == ":sftp,host=nas.lan,port=2222,user=hvbackup,key_file=/etc/hypernixos/sftp.key,known_hosts_file=/etc/hypernixos/known_hosts,disable_hashcheck=true:/srv/hv/chunks/ab"
        )
        #expect(target.configFile == nil)
        #expect(target.description == "sftp://hvbackup@nas.lan:2222/srv/hv")
    }

    @Test func anRcloneRemoteKeepsItsConfigurationFile() throws {
        let target = SyncTarget.rclone(remote: "b2:hv-backups", configFile: "/etc/hypernixos/rclone.conf")
        try target.validate()
        #expect(target.location() == "b2:hv-backups")
        #expect(target.location("backups/x/manifest.json") == "b2:hv-backups/backups/x/manifest.json")
        #expect(SyncTarget.rclone(remote: "s3:", configFile: "/r.conf").location("chunks") == "s3:chunks")
        #expect(target.configFile == "/etc/hypernixos/rclone.conf")
    }

    /// Each value that would change what rclone is told (another option in the connection string,
    /// another remote, a relative path, an option) is refused, naming its field.
    @Test(arguments: [
        ("host", "nas.lan,key_file=/tmp/k", "sftp.host"),
        ("host", "-oProxyCommand=x", "sftp.host"),
        ("host", "", "sftp.host"),
        ("user", "root,port=1", "sftp.user"),
        ("user", "", "sftp.user"),
        ("path", "srv/hv", "sftp.path"),
        ("path", "/srv/../etc", "sftp.path"),
        ("path", "/srv/hv:other", "sftp.path"),
        ("path", "/srv/'hv'", "sftp.path"),
        ("identity", "/etc/k,known_hosts_file=/dev/null", "sftp.identity_file"),
        ("known", "relative", "sftp.known_hosts_file"),
        ("port", "0", "sftp.port"),
    ])
    func sftpFieldsThatChangeTheMeaningAreRefused(field: String, value: String, named: String) {
        var server = Self.server
        switch field {
        case "host": server.host = value
        case "user": server.user = value
        case "path": server.path = value
        case "identity": server.identityFile = value
        case "known": server.knownHostsFile = value
        default: server.port = Int(value) ?? 0
        }
        #expect {
            try SyncTarget.sftp(server).validate()
        } throws: { error in
            let error = error as? SyncError
            return error?.code == .invalidTarget && error?.field == named && error?.reason.hasPrefix(named) == true
        }
    }

    @Test(arguments: ["nocolon", ":sftp,host=x:/p", "-x:/p", "b2:../up", "b2:a,b", "b2:a\nb"])
    func rcloneRemotesMustBeANameAndAPath(remote: String) {
        #expect {
            try SyncTarget.rclone(remote: remote, configFile: "/etc/r.conf").validate()
        } throws: { ($0 as? SyncError)?.field == "rclone.remote" }
    }

    @Test func listingsAreReadOrRefused() throws {
        let listing = try RemoteListing(parsing: "12;repository.json\n0;repository.lock\n4096;chunks/ab/cd/\(String(repeating: "a", count: 64))\n")
        #expect(listing.holds("repository.json", size: 12))
        #expect(!listing.holds("repository.json", size: 13))
        #expect(listing.sizes.count == 3)
        #expect(throws: SyncError.self) { try RemoteListing(parsing: "repository.json\n") }
        #expect(throws: SyncError.self) { try RemoteListing(parsing: "-1;x\n") }
    }
}
