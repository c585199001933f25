import Foundation
import FoundationXML
import HVDomainXML
import HVProtocol
import Testing

@Suite struct BackupXMLTests {
    static let disks = [
        BackupDisk(name: "vda", exportName: "vda", exportBitmap: "changed-vda", scratchPath: "/var/lib/hv/backup/vda.scratch.qcow2"),
        BackupDisk(name: "vdb", exportName: "data", exportBitmap: "changed-vdb", scratchPath: "/var/lib/hv/backup/vdb.scratch.qcow2"),
    ]

    /// A full backup names no checkpoint and no bitmaps; only the listed disks take part.
    @Test func fullPullBackup() throws {
        let xml = try BackupXML.pull(socketPath: "/var/lib/hv/backup/nbd.sock", disks: Self.disks, incrementalSince: nil)
        #expect(xml == """
            <domainbackup mode="pull">
              <server transport="unix" socket="/var/lib/hv/backup/nbd.sock" />
              <disks>
                <disk name="vda" backup="yes" type="file" exportname="vda">
                  <scratch file="/var/lib/hv/backup/vda.scratch.qcow2" />
                </disk>
                <disk name="vdb" backup="yes" type="file" exportname="data">
                  <scratch file="/var/lib/hv/backup/vdb.scratch.qcow2" />
                </disk>
              </disks>
            </domainbackup>
            """)
    }

    @Test func incrementalPullBackupNamesItsCheckpointAndExportBitmaps() throws {
        let xml = try BackupXML.pull(socketPath: "/var/lib/hv/backup/nbd.sock", disks: Self.disks, incrementalSince: "nightly-1")
        #expect(xml == """
            <domainbackup mode="pull">
              <incremental>nightly-1</incremental>
              <server transport="unix" socket="/var/lib/hv/backup/nbd.sock" />
              <disks>
                <disk name="vda" backup="yes" type="file" exportname="vda" exportbitmap="changed-vda">
                  <scratch file="/var/lib/hv/backup/vda.scratch.qcow2" />
                </disk>
                <disk name="vdb" backup="yes" type="file" exportname="data" exportbitmap="changed-vdb">
                  <scratch file="/var/lib/hv/backup/vdb.scratch.qcow2" />
                </disk>
              </disks>
            </domainbackup>
            """)
    }

    @Test func checkpointTracksTheNamedDisksWithBitmaps() throws {
        let xml = try CheckpointXML.create(name: "nightly-2", description: "after the upgrade", disks: ["vda", "vdb"])
        #expect(xml == """
            <domaincheckpoint>
              <name>nightly-2</name>
              <description>after the upgrade</description>
              <disks>
                <disk name="vda" checkpoint="bitmap" />
                <disk name="vdb" checkpoint="bitmap" />
              </disks>
            </domaincheckpoint>
            """)
        #expect(try !CheckpointXML.create(name: "c", description: nil, disks: ["vda"]).contains("description"))
    }

    /// XML's special characters in a path or description are escaped by the encoder: they stay one
    /// attribute or one text, and add nothing.
    @Test func specialCharactersAreEscapedByTheEncoder() throws {
        let socket = #"/var/lib/a<b>&"c'/nbd.sock"#
        let scratch = #"/var/lib/x"/><scratch file="/etc/shadow"/>.qcow2"#
        let disks = [BackupDisk(name: "vda", exportName: "vda", exportBitmap: nil, scratchPath: scratch)]
        let xml = try BackupXML.pull(socketPath: socket, disks: disks, incrementalSince: nil)
        #expect(xml.contains(#"socket="/var/lib/a&lt;b&gt;&amp;&quot;c&apos;/nbd.sock""#))
        #expect(xml.contains(#"<scratch file="/var/lib/x&quot;/&gt;&lt;scratch file=&quot;/etc/shadow&quot;/&gt;.qcow2" />"#))
        let document = try XMLDocument(xmlString: xml)
        #expect(try document.nodes(forXPath: "/domainbackup/server/@socket").map(\.stringValue) == [socket])
        #expect(try document.nodes(forXPath: "//scratch").count == 1)
        #expect(try document.nodes(forXPath: "//scratch/@file").map(\.stringValue) == [scratch])

        let description = #"a <b> & 'c' "d"</description><disks/>"#
        let checkpoint = try CheckpointXML.create(name: "c1", description: description, disks: ["vda"])
        #expect(checkpoint.contains("<description>a &lt;b&gt; &amp; &apos;c&apos; &quot;d&quot;&lt;/description&gt;&lt;disks/&gt;</description>"))
        #expect(try CheckpointFacts.read(xml: checkpoint).description == description)
        #expect(try XMLDocument(xmlString: checkpoint).nodes(forXPath: "//disks").count == 1)
    }

    /// Names become attributes and elements libvirt reads as names: anything but a plain name is refused.
    @Test(arguments: [
        ("name", "../c1"), ("name", "c 1"), ("name", "<c1>"), ("name", ""), ("disks[1]", "vd\"b"),
    ])
    func checkpointRefusesBadNames(field: String, value: String) {
        let error = #expect(throws: HVError.self) {
            try CheckpointXML.create(name: field == "name" ? value : "c1", description: nil, disks: field == "name" ? ["vda"] : ["vda", value])
        }
        #expect(error?.code == .invalidParameter)
        #expect(error?.details["parameter"] == field)
    }

    @Test func backupRefusesBadInput() {
        func refusal(_ socket: String, _ disks: [BackupDisk], since: String? = nil) -> String? {
            let error = #expect(throws: HVError.self) { try BackupXML.pull(socketPath: socket, disks: disks, incrementalSince: since) }
            return error?.details["parameter"]
        }
        let disk = Self.disks[0]
        #expect(refusal("nbd.sock", [disk]) == "socket")
        #expect(refusal("/run/a/../nbd.sock", [disk]) == "socket")
        #expect(refusal("/run/nbd.sock", []) == "disks")
        #expect(refusal("/run/nbd.sock", [disk], since: "a&b") == "incremental")
        #expect(refusal("/run/nbd.sock", [BackupDisk(name: "vda", exportName: "x y", exportBitmap: nil, scratchPath: "/s")]) == "disks[0].export_name")
        #expect(refusal("/run/nbd.sock", [BackupDisk(name: "vda", exportName: "v", exportBitmap: nil, scratchPath: "s")]) == "disks[0].scratch")
        #expect(refusal("/run/nbd.sock", [disk, disk]) == "disks[1]")
    }

    @Test func readsTheBackupJobLibvirtReports() throws {
        let xml = """
            <domainbackup mode='pull'>
              <incremental>nightly-1</incremental>
              <server transport='unix' socket='/var/lib/hv/backup/nbd.sock'/>
              <disks>
                <disk name='vda' backup='yes' type='file' backupmode='incremental' incremental='nightly-1' exportname='vda' exportbitmap='changed-vda'>
                  <driver type='qcow2'/>
                  <scratch file='/var/lib/hv/backup/vda.scratch.qcow2'/>
                </disk>
                <disk name='hdc' backup='no'/>
              </disks>
            </domainbackup>
            """
        let facts = try BackupFacts.read(xml: xml)
        #expect(facts == BackupFacts(
            mode: "pull", incremental: "nightly-1", socketPath: "/var/lib/hv/backup/nbd.sock",
            disks: [.init(name: "vda", exportName: "vda", exportBitmap: "changed-vda", scratchPath: "/var/lib/hv/backup/vda.scratch.qcow2")]
        ))
        #expect(throws: HVError.self) { try BackupFacts.read(xml: "<domaincheckpoint/>") }
    }

    @Test func readsACheckpointLibvirtReports() throws {
        let xml = """
            <domaincheckpoint>
              <name>nightly-2</name>
              <description>backup</description>
              <parent>
                <name>nightly-1</name>
              </parent>
              <creationTime>1795590157</creationTime>
              <disks>
                <disk name='vda' checkpoint='bitmap' bitmap='nightly-2'/>
                <disk name='vdb' checkpoint='bitmap'/>
                <disk name='hdc' checkpoint='no'/>
              </disks>
            </domaincheckpoint>
            """
        #expect(try CheckpointFacts.read(xml: xml) == CheckpointFacts(
            name: "nightly-2", description: "backup", parent: "nightly-1", creationTime: Date(timeIntervalSince1970: 1_795_590_157),
            bitmaps: ["vda": "nightly-2", "vdb": "nightly-2"]
        ))
    }
}
