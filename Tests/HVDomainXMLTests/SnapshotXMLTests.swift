import Foundation
import FoundationXML
import HVDomainXML
import HVProtocol
import HVTestSupport
import Testing

@Suite struct SnapshotXMLTests {
    @Test func snapshotHasNameAndDescription() throws {
        let document = try parsed(try SnapshotXML.create(name: "before-upgrade", description: "clean install"))
        #expect(try document.values("/domainsnapshot/name") == ["before-upgrade"])
        #expect(try document.values("/domainsnapshot/description") == ["clean install"])
        #expect(try document.nodes(forXPath: "/domainsnapshot/*").count == 2)
    }

    @Test func noDescriptionMeansNoElement() throws {
        for description in [nil, ""] as [String?] {
            let document = try parsed(try SnapshotXML.create(name: "s1", description: description))
            #expect(try document.values("/domainsnapshot/description").isEmpty)
        }
    }

    /// Markup in a description stays text: it can't ask for an external memory snapshot.
    @Test func metacharactersInTheDescriptionStayText() throws {
        let hostile = #"x</description><memory snapshot="external" file="/etc/passwd"/><description>&"#
        let xml = try SnapshotXML.create(name: "s1", description: hostile)
        let document = try parsed(xml)
        #expect(try document.values("/domainsnapshot/description") == [hostile])
        #expect(try document.values("/domainsnapshot/memory").isEmpty)
        #expect(try SnapshotFacts.read(xml: xml).description == hostile)
    }

    @Test func refusesBadNamesAndControlCharacters() {
        for name in ["", "../s1", "s 1", "s1;x"] {
            let error = #expect(throws: HVError.self) { try SnapshotXML.create(name: name, description: nil) }
            #expect(error?.code == .invalidParameter)
            #expect(error?.details["parameter"] == "name")
        }
        let error = #expect(throws: HVError.self) { try SnapshotXML.create(name: "s1", description: "a\u{1B}[31m") }
        #expect(error?.details["parameter"] == "description")
    }

    @Test func readsLibvirtsSnapshotAndIgnoresTheNestedDomain() throws {
        let xml = """
            <domainsnapshot>
              <name>s2</name>
              <description>after &lt;upgrade&gt;</description>
              <state>running</state>
              <parent>
                <name>s1</name>
              </parent>
              <creationTime>1795590157</creationTime>
              <memory snapshot='internal'/>
              <domain type='test'>
                <name>test</name>
                <description>the domain's own</description>
              </domain>
            </domainsnapshot>
            """
        let facts = try SnapshotFacts.read(xml: xml)
        #expect(facts.name == "s2")
        #expect(facts.description == "after <upgrade>")
        #expect(facts.state == "running")
        #expect(facts.parent == "s1")
        #expect(facts.creationTime == Date(timeIntervalSince1970: 1_795_590_157))
    }

    @Test func aRootSnapshotHasNoParent() throws {
        let facts = try SnapshotFacts.read(
            xml: "<domainsnapshot><name>s1</name><state>shutoff</state></domainsnapshot>"
        )
        #expect(facts.parent == nil)
        #expect(facts.description == nil)
        #expect(facts.creationTime == nil)
        #expect(facts.state == "shutoff")
    }

    @Test func refusesWhatIsNotASnapshot() {
        let error = #expect(throws: HVError.self) { try SnapshotFacts.read(xml: "<domain><name>s</name></domain>") }
        #expect(error?.code == .failed)
    }

    /// libvirt's test driver takes the snapshot XML and reports the snapshot back with its parent.
    @Test(.enabled(if: LibvirtTools.virsh != nil, "virsh (package libvirt-clients) is not installed"))
    func libvirtCreatesSnapshotsFromIt() throws {
        let first = try SnapshotXML.create(name: "s1", description: "first & <best>")
        let second = try SnapshotXML.create(name: "s2", description: nil)
        let dumped = try LibvirtTools.withFile(first) { one in
            try LibvirtTools.withFile(second) { two in
                try run([
                    LibvirtTools.virsh ?? "virsh", "-c", "test:///default",
                    "snapshot-create test --xmlfile \(one); snapshot-create test --xmlfile \(two); "
                        + "snapshot-dumpxml test s1; snapshot-dumpxml test s2",
                ])
            }
        }
        #expect(dumped.status == 0, "\(dumped)")
        let documents = dumped.stdout.components(separatedBy: "<domainsnapshot>").dropFirst().map {
            "<domainsnapshot>" + $0
        }
        try #require(documents.count == 2)
        let s1 = try SnapshotFacts.read(xml: documents[0])
        let s2 = try SnapshotFacts.read(xml: documents[1])
        #expect(s1.name == "s1")
        #expect(s1.description == "first & <best>")
        #expect(s1.parent == nil)
        #expect(s1.creationTime != nil)
        #expect(s2.parent == "s1")
        #expect(s2.state == "running")
    }
}
