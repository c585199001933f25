import Foundation
import HVAudit
import HVBroker
import HVPolkit
import HVProtocol
import HVServer
import Synchronization
import Testing

/// The broker's audit trail under pressure: floods of refusals coalesced with nothing lost, changes
/// refused when their record can't be written, the health check reading only what is new, and
/// `Audit.Verify` streaming its progress.
@Suite struct AuditTrailTests {
    let stranger = Peer(uid: 1003, gid: 1003, pid: 4243, startTime: 1, executable: "/usr/bin/flood")

    /// Every invalid request the records account for: written one by one, or counted in a summary.
    func invalidAccountedFor(_ records: [AuditRecord], uid: UInt32) -> Int {
        records.filter { $0.uid == uid && $0.decision == "invalid" }.map { $0.coalesced ?? 1 }.reduce(0, +)
    }

    @Test func aFloodOfInvalidMessagesIsCoalescedAndCountedInFull() async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor)
        let junk = Array(String(repeating: "x", count: 10_000).utf8)
        for index in 0..<10_000 {
            _ = await dispatcher.handle(junk, from: stranger)
            if index == 5_000 {
                // A well-formed, authorized change in the middle of the flood, from the same uid.
                let reply = try decodeReply(await dispatcher.handle(try encodeCall(Method.vmStart, ["name": .string("web")]), from: stranger))
                #expect(reply.error == nil)
            }
        }
        await audit.flush()
        let records = try await auditRecords(audit)
        #expect(records.count <= 20, "\(records.count) records for 10,001 requests")
        #expect(invalidAccountedFor(records, uid: 1003) == 10_000)
        let summary = try #require(records.last { $0.coalesced != nil })
        #expect(summary.result.hasPrefix("\(summary.coalesced ?? 0) more invalid messages from uid 1003 in the last"))
        #expect(records.filter { $0.method == Method.vmStart }.map(\.result) == ["started", "ok"], "the change is recorded as always")
        #expect(hypervisor.calls.withLock { $0 } == ["start web"])
        #expect(records.allSatisfy { $0.method.utf8.count <= 220 }, "fields stay bounded")
    }

    @Test func refusalsAtTheDoorAreCoalescedToo() async throws {
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed))
        for _ in 0..<10_000 {
            dispatcher.recordRejected(HVError(.protocolError, "too large", details: ["kind": "MessageTooLarge"]), from: stranger)
        }
        await audit.flush()
        let records = try await auditRecords(audit)
        #expect(records.count <= 20)
        #expect(invalidAccountedFor(records, uid: 1003) == 10_000)
    }

    @Test func deniedRequestsAreCoalescedPerCaller() async throws {
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.denied))
        for _ in 0..<200 {
            _ = await dispatcher.handle(try encodeCall(Method.vmStart, ["name": .string("web")]), from: stranger)
            _ = await dispatcher.handle(try encodeCall(Method.vmStart, ["name": .string("web")]), from: testPeer)
        }
        await audit.flush()
        let records = try await auditRecords(audit)
        for uid in [stranger.uid, testPeer.uid] {
            let mine = records.filter { $0.uid == uid && $0.decision == "denied" }
            #expect(mine.map { $0.coalesced ?? 1 }.reduce(0, +) == 200, "uid \(uid)")
            #expect(mine.count <= 12, "uid \(uid): the first few of each 10 s window and its count")
        }
    }

    /// A flood of one refused action doesn't hide a first attempt at another: each is counted
    /// under its own polkit action.
    @Test func aFloodOfOneDeniedActionLeavesTheFirstOfAnotherOnRecord() async throws {
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.denied))
        for _ in 0..<200 {
            _ = await dispatcher.handle(try encodeCall(Method.vmStart, ["name": .string("web")]), from: stranger)
        }
        _ = await dispatcher.handle(try encodeCall(Method.vmKill, ["name": .string("db")]), from: stranger)
        await audit.flush()
        let records = try await auditRecords(audit).filter { $0.uid == stranger.uid && $0.decision == "denied" }
        let kill = records.filter { $0.method == Method.vmKill && $0.coalesced == nil }
        #expect(kill.map(\.target) == ["db"], "the one kill attempt is written as itself")
        let summary = try #require(records.first { $0.coalesced != nil })
        #expect(summary.result.contains("org.hypernixos.vm.start"), "the summary names the flooded action: \(summary.result)")
        #expect(records.map { $0.coalesced ?? 1 }.reduce(0, +) == 201)
    }

    /// With the audit log's disk full, a change is refused before it acts; reads are answered.
    @Test func aChangeIsRefusedWhenItsRecordCannotBeWritten() async throws {
        let directory = temporaryDirectory()
        try FileManager.default.createSymbolicLink(atPath: directory + "/audit.jsonl", withDestinationPath: "/dev/full")
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor, directory: directory)
        let change = try decodeReply(await dispatcher.handle(try encodeCall(Method.vmStart, ["name": .string("web")]), from: testPeer))
        #expect(change.error == "org.hypernixos.Vm.AuditUnavailable")
        #expect(change.parameters?["reason"]?.stringValue?.contains("nothing was changed") == true)
        #expect(hypervisor.calls.withLock { $0 }.isEmpty, "nothing reached the hypervisor")
        let read = try decodeReply(await dispatcher.handle(try encodeCall(Method.vmList), from: testPeer))
        #expect(read.error == nil, "reads still work")
    }

    @Test func healthVerifiesOnlyWhatIsNewSinceTheLastCheck() async throws {
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed))
        func auditCheck() async throws -> HealthCheck? {
            let reply = try decodeReply(await dispatcher.handle(try encodeCall(Method.hostHealth), from: testPeer))
            return try VarlinkJSON.convert(reply.parameters ?? [:], to: HealthReply.self).checks.first { $0.id == "audit" }
        }
        for _ in 0..<5 { _ = await dispatcher.handle(try encodeCall(Method.vmList), from: testPeer) }
        #expect(try await auditCheck()?.value.hasPrefix("5 records verified since the last check") == true)
        _ = await dispatcher.handle(try encodeCall(Method.vmList), from: testPeer)
        let second = try await auditCheck()
        #expect(second?.status == .ok)
        // The first health request's own record and the one Vm.List since.
        #expect(second?.value.hasPrefix("2 records verified since the last check") == true, "\(String(describing: second?.value))")
    }

    @Test func verifyStreamsProgressThenTheResult() async throws {
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed))
        for _ in 0..<20 { _ = await dispatcher.handle(try encodeCall(Method.vmList), from: testPeer) }
        let sent = Mutex<[VarlinkReply]>([])
        await dispatcher.handle(try VarlinkJSON.encode(VarlinkCall(method: Method.auditVerify, more: true)), from: testPeer) { bytes in
            try sent.withLock { $0.append(try VarlinkJSON.decode(VarlinkReply.self, from: bytes)) }
        }
        let replies = sent.withLock { $0 }
        let results = try replies.map { try VarlinkJSON.convert($0.parameters ?? [:], to: AuditVerifyReply.self) }
        #expect(replies.dropLast().allSatisfy { $0.continues == true })
        #expect(replies.last?.continues != true)
        #expect(results.dropLast().allSatisfy { $0.progress != nil })
        #expect(!results.dropLast().isEmpty, "at least one progress reply")
        let result = try #require(results.last)
        #expect(result.progress == nil)
        #expect(result.intact && result.records == 20)
        #expect(try await auditRecords(audit).last?.method == Method.auditVerify)
    }

    @Test func verifyIsRefusedToThoseWhoMayNot() async throws {
        let (dispatcher, _) = try makeDispatcher(authorizer: FakeAuthorizer(.denied))
        let sent = Mutex<[VarlinkReply]>([])
        await dispatcher.handle(try VarlinkJSON.encode(VarlinkCall(method: Method.auditVerify, more: true)), from: testPeer) { bytes in
            try sent.withLock { $0.append(try VarlinkJSON.decode(VarlinkReply.self, from: bytes)) }
        }
        #expect(sent.withLock { $0.map(\.error) } == ["org.hypernixos.Audit.PermissionDenied"])
    }
}
