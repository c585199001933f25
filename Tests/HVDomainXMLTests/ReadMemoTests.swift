import Foundation
@testable import HVDomainXML
import HVProtocol
import Synchronization
import Testing

/// Texts read once: the same text gives the value read first, another text is read anew, and a
/// full memo starts over instead of growing.
@Suite struct ReadMemoTests {
    @Test func theSameTextIsReadOnceAndAnotherTextAgain() {
        let memo = ReadMemo<Int>(capacity: 8)
        let reads = Mutex(0)
        func read(_ text: String) -> Int {
            memo.value(of: text) { text in
                reads.withLock { $0 += 1 }
                return text.count
            }
        }
        #expect(read("<a/>") == 4)
        #expect(read("<a/>") == 4)
        #expect(reads.withLock { $0 } == 1, "the same text is not read again")
        #expect(read("<ab/>") == 5)
        #expect(reads.withLock { $0 } == 2, "a changed text is read")
    }

    @Test func aFullMemoStartsOver() {
        let memo = ReadMemo<String>(capacity: 3)
        for index in 0..<3 { _ = memo.value(of: "text \(index)") { $0 } }
        #expect(memo.count == 3)
        _ = memo.value(of: "text 3") { $0 }
        #expect(memo.count == 1, "never more than its capacity")
    }

    @Test func aFailedReadIsNotKept() {
        struct Unreadable: Error {}
        let memo = ReadMemo<Int>(capacity: 4)
        #expect(throws: Unreadable.self) { try memo.value(of: "<") { _ throws(Unreadable) in throw Unreadable() } }
        #expect(memo.count == 0)
        #expect(memo.value(of: "<") { _ in 1 } == 1)
    }

    /// A domain's description read through the memo is the one read directly, for the text it is
    /// given: a machine whose disks changed is described by its new XML.
    @Test func aDomainsDescriptionFollowsItsXML() throws {
        let one = """
            <domain type='qemu'><name>web</name><devices>\
            <disk type='file' device='disk'><source file='/var/lib/hypervisor/images/web-disk0.qcow2'/><target dev='vda'/></disk>\
            </devices></domain>
            """
        let two = one.replacingOccurrences(of: "</devices>", with: "<tpm model='tpm-crb'/></devices>")
        #expect(try DomainDescription.of(xml: one).disks == (try DomainDescription(xml: one)).disks)
        #expect(try !DomainDescription.of(xml: one).hasTPM)
        #expect(try DomainDescription.of(xml: two).hasTPM)
        #expect(try DomainDescription.of(xml: one).disks.map(\.source) == ["web-disk0.qcow2"])
    }
}
