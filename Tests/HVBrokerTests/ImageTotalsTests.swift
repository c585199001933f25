import Dispatch
import Glibc
import HVBroker
import HVProtocol
import Synchronization
import Testing

/// The totals on stored images (`iso.max_total`, `groups.NAME.images`): the arithmetic, the
/// messages, and the ledger that counts images being added so two can't share the same room.
struct ImageTotalsTests {
    static let policy = HostPolicy(
        groups: ["lab": HostPolicy.GroupQuota(images: .mebibytes(10)), "web": HostPolicy.GroupQuota(vms: 4)],
        iso: HostPolicy.IsoPolicy(maxTotal: .mebibytes(100))
    )

    @Test func anImageWithinBothTotalsPasses() throws {
        let stored = StoredImages(library: 50 << 20, groups: ["lab": 6 << 20])
        try Self.policy.checkImage(4 << 20, group: "lab", stored: stored)
        try Self.policy.checkImage(40 << 20, group: "web", stored: stored)
        try Self.policy.checkImage(40 << 20, group: nil, stored: stored)
    }

    @Test func aGroupOverItsImagesIsRefusedNamingTheLimit() {
        let stored = StoredImages(library: 50 << 20, groups: ["lab": 6 << 20])
        let error = #expect(throws: HVError.self) { try Self.policy.checkImage((4 << 20) + 1, group: "lab", stored: stored) }
        #expect(error?.code == .quotaExceeded && error?.exitCode == 6)
        #expect(error?.details == ["limit": "groups.lab.images", "field": "file"])
        #expect(
            error?.reason == "over the host policy limit groups.lab.images: group 'lab' may store 10 MiB of images; "
                + "its images take 6 MiB and this one needs 4.0 MiB, 1 B more than is left"
        )
        #expect(error?.fix?.contains("'hv iso remove NAME'") == true)
        #expect(error?.fix?.contains("raise groups.lab.images") == true)
    }

    @Test func theLibraryOverItsTotalIsRefusedForEveryone() {
        let stored = StoredImages(library: 90 << 20, groups: ["lab": 1 << 20])
        for group in ["lab", "web", nil] as [String?] {
            let error = #expect(throws: HVError.self) { try Self.policy.checkImage(11 << 20, group: group, stored: stored) }
            #expect(error?.details["limit"] == "iso.max_total")
            #expect(error?.reason.contains("the ISO library may hold 100 MiB in all; its images take 90 MiB and this one needs 11 MiB, 1 MiB more than is left") == true)
            #expect(error?.fix?.contains("raise iso.max_total") == true)
        }
    }

    @Test func aHostDerivedTotalSaysWhereItComesFrom() throws {
        var policy = Self.policy
        policy.hostDerived["iso.max_total"] = "a quarter of the 400 MiB file system holding /isos"
        let error = #expect(throws: HVError.self) { try policy.checkImage(200 << 20, group: nil, stored: StoredImages()) }
        #expect(error?.fix?.hasSuffix("(now a quarter of the 400 MiB file system holding /isos)") == true)
    }

    @Test func withoutTotalsNothingIsRefused() throws {
        try HostPolicy().checkImage(.max / 2, group: "lab", stored: StoredImages(library: .max / 2, groups: ["lab": .max / 2]))
        try Self.policy.checkImage(0, group: "lab", stored: StoredImages(library: 200 << 20, groups: ["lab": 20 << 20]))
    }

    @Test func storedImagesAddUpByGroup() {
        var stored = StoredImages()
        stored.add(3, group: "lab")
        stored.add(4, group: nil)
        let sum = stored + StoredImages(library: 10, groups: ["lab": 1, "web": 9])
        #expect(sum == StoredImages(library: 17, groups: ["lab": 4, "web": 9]))
    }

    /// Two uploads that would each fit alone but not together: the second claim is refused while
    /// the first is held, and fits once the first is gone.
    @Test func twoClaimsCantShareTheSameRoom() throws {
        let ledger = ImageLedger()
        let policy = Self.policy
        let first = ledger.open(group: "lab")
        let second = ledger.open(group: "lab")
        func hold(_ claim: ImageLedger.Claim, _ bytes: UInt64, stored: StoredImages = StoredImages()) throws(HVError) {
            try ledger.hold(claim, bytes: bytes) { () throws(HVError) in stored } check: { others throws(HVError) in
                try policy.checkImage(bytes, group: claim.group, stored: others)
            }
        }
        try hold(first, 6 << 20)
        let refused = #expect(throws: HVError.self) { try hold(second, 6 << 20) }
        #expect(refused?.reason.contains("its images take 6 MiB") == true, "the first claim counts: \(String(describing: refused))")
        // A claim held again replaces what it held rather than adding to it.
        try hold(first, 5 << 20)
        try hold(second, 5 << 20)
        // A refused claim keeps what it held.
        #expect(throws: HVError.self) { try hold(first, 6 << 20) }
        #expect(throws: HVError.self) { try hold(ledger.open(group: "lab"), 1) }
        ledger.close(first)
        ledger.close(second)
        try hold(ledger.open(group: "lab"), 10 << 20)
    }

    /// Claims of other groups count toward the library's total only.
    @Test func otherGroupsClaimsCountOnlyTowardTheLibrary() throws {
        let ledger = ImageLedger()
        let policy = Self.policy
        func hold(_ claim: ImageLedger.Claim, _ bytes: UInt64) throws(HVError) {
            try ledger.hold(claim, bytes: bytes) { () throws(HVError) in StoredImages() } check: { others throws(HVError) in
                try policy.checkImage(bytes, group: claim.group, stored: others)
            }
        }
        try hold(ledger.open(group: "web"), 85 << 20)
        try hold(ledger.open(group: "lab"), 10 << 20)
        let error = #expect(throws: HVError.self) { try hold(ledger.open(group: nil), 6 << 20) }
        #expect(error?.details["limit"] == "iso.max_total")
    }

    /// Many uploads checked at once, each reading what is stored slowly: exactly as many pass as
    /// fit, never more.
    @Test func concurrentClaimsNeverPassTogetherOverTheTotal() {
        let ledger = ImageLedger()
        let policy = Self.policy
        let passed = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: 12) { _ in
            let claim = ledger.open(group: "lab")
            do throws(HVError) {
                try ledger.hold(claim, bytes: 3 << 20) { () throws(HVError) in
                    usleep(2000)
                    return StoredImages()
                } check: { others throws(HVError) in
                    try policy.checkImage(3 << 20, group: "lab", stored: others)
                }
                passed.add(1, ordering: .relaxed)
            } catch {
                ledger.close(claim)
            }
        }
        #expect(passed.load(ordering: .relaxed) == 3, "10 MiB hold three images of 3 MiB")
    }
}
