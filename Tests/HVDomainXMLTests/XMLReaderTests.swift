import Foundation
@testable import HVDomainXML
import HVProtocol
import Testing

/// The one-pass reader against Foundation's `XMLParser`, which it stands in for on the XML libvirt
/// writes: the same tree, or no tree at all (and then `XMLParser` reads it).
@Suite struct XMLReaderTests {
    static let documents: [String] = [
        """
        <domain type='kvm' id='3'>
          <name>web</name>
          <uuid>6862656e-6368-4000-8000-000000000001</uuid>
          <description>a &lt;test&gt; &amp; &quot;more&quot; &apos;x&apos; &#233;&#x1F600; é</description>
          <metadata>
            <hv:machine xmlns:hv="https://hypernixos.org/xmlns/machine/1">
              <hv:spec>{&quot;name&quot;:&quot;web&quot;}</hv:spec>
              <hv:owner uid="1000" group="hypervisor-operators"/>
              <hv:tags><hv:tag>a</hv:tag><hv:tag> b </hv:tag></hv:tags>
            </hv:machine>
          </metadata>
          <devices>
            <disk type='file' device='disk'>
              <source file='/var/lib/hypervisor/images/web-disk0.qcow2' index='2'/>
              <target dev='vda' bus='virtio'/>
            </disk>
            <disk type="file" device="cdrom"><source file="/isos/d &amp; e.iso"/><target dev="sda"/><readonly/></disk>
          </devices>
        </domain>
        """,
        "<machine><spec>{}</spec><owner uid='1' group='g'/><template>false</template></machine>",
        "<a xmlns='urn:default'><b xmlns=''><c/></b><p:d xmlns:p='urn:p' p:attr='1' plain='2'/></a>",
        "<a xml:lang='en'>text<b/>more<c>inner</c>tail</a>",
        "<a>  </a>", "<a/>", " <a/> ", "<a\tx='1'\n/>", "<a b='&#10;'/>", "<a>]]</a>", "<a>x > y</a>",
        // Left to XMLParser: it decides.
        "<?xml version='1.0'?><a/>", "<a><!-- note --></a>", "<a><![CDATA[x]]></a>", "<!DOCTYPE a><a/>", "<a>\r\n</a>",
        "<a b='x\ny'/>", "<a b='1' b='2'/>", "<p:a/>", "<a>&nbsp;</a>", "<a>&#0;</a>", "<a>&#xD800;</a>", "<a></b>", "<a>",
        "<a/><b/>", "<a b=1/>", "<a b='<'/>", "<a>]]></a>", "<é/>", "<a xmlns:p=''/>", "<a p:x='1' q:x='2' xmlns:p='u' xmlns:q='u'/>",
        "", "text",
    ]

    @Test(arguments: documents)
    func readsAsXMLParserDoes(_ xml: String) {
        let foundation = try? ParsedXML.parsedByFoundation(xml, what: "test")
        if let read = XMLReader.read(xml) {
            #expect(read == foundation, "\(xml)")
        }
    }

    /// What libvirt writes is read without XMLParser.
    @Test func libvirtsXMLIsReadInOnePass() {
        #expect(XMLReader.read(Self.documents[0]) != nil)
        #expect(XMLReader.read(Self.documents[1]) != nil)
        #expect(XMLReader.read("<a><!-- note --></a>") == nil)
    }

    @Test func textIsTrimmedAsFoundationTrims() {
        for text in ["", " ", " a ", "\n\ta b\u{00A0}", "\u{2028}x\u{3000}", "é", " \u{0085}"] {
            let element = ParsedXML(name: "a", namespace: nil, attributes: [:], text: text)
            #expect(element.trimmedText == text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}

/// A record's spec is decoded once per text and kept; a changed text is read anew, and text that
/// is no spec stays nil.
@Suite struct RecordedSpecTests {
    func record(_ json: String) -> MachineMetadata {
        MachineMetadata(specJSON: json, ownerUID: 1000, ownerGroup: "lab")
    }

    @Test func theSpecFollowsItsText() {
        let first = record(#"{"name":"web1","vcpus":2,"memory":"2GiB"}"#)
        #expect(first.spec?.vcpus == 2)
        #expect(first.spec?.vcpus == 2)
        #expect(record(#"{"name":"web1","vcpus":4,"memory":"2GiB"}"#).spec?.vcpus == 4)
        #expect(record(#"{"name":"web1","vcpus":"many"}"#).spec == nil)
        #expect(record(#"{"name":"web1","vcpus":"many"}"#).spec == nil)
    }
}
