import Foundation
import HVBroker
import HVPolkit
import HVProtocol
import HVServer
import Synchronization
import Testing

/// `Events.Follow` through the dispatcher: authorized like every other call, then a stream of
/// replies that ends with an error the client can show when libvirt's side ends.
@Suite struct EventsFollowTests {
    /// The replies the dispatcher sends for one call, at most `limit` of them.
    func replies(_ call: VarlinkCall, authorizer: FakeAuthorizer, hypervisor: FakeHypervisor, limit: Int) async throws -> [VarlinkReply] {
        let (dispatcher, _) = try makeDispatcher(authorizer: authorizer, hypervisor: hypervisor)
        let sent = Mutex<[VarlinkReply]>([])
        struct Enough: Error {}
        await dispatcher.handle(try VarlinkJSON.encode(call), from: testPeer) { bytes in
            let count = try sent.withLock { sent in
                sent.append(try VarlinkJSON.decode(VarlinkReply.self, from: bytes))
                return sent.count
            }
            if count >= limit { throw Enough() }  // the client "goes away"
        }
        return sent.withLock { $0 }
    }

    @Test func followStreamsEventsAfterTheSubscription() async throws {
        let hypervisor = FakeHypervisor()
        let sent = try await replies(VarlinkCall(method: Method.eventsFollow, more: true), authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor, limit: 3)
        #expect(sent.count == 3)
        #expect(sent.allSatisfy { $0.error == nil && $0.continues == true })
        #expect(sent[0].parameters?["subscribed"] == .bool(true))
        let events = try sent.dropFirst().map { try VarlinkJSON.convert($0.parameters ?? [:], to: EventReply.self).event?.event }
        #expect(events == ["started", "stopped"])
    }

    @Test func anEndedEventSourceEndsTheStreamWithAnError() async throws {
        let sent = try await replies(
            VarlinkCall(method: Method.eventsFollow, more: true), authorizer: FakeAuthorizer(.allowed), hypervisor: FakeHypervisor(eventsEnd: true), limit: 10
        )
        #expect(sent.count == 4)
        #expect(sent.last?.error?.hasSuffix(".HypervisorUnavailable") == true)
        #expect(sent.last?.parameters?["reason"]?.stringValue?.contains("libvirt") == true)
    }

    @Test func followIsAuthorizedAndNeedsMore() async throws {
        let hypervisor = FakeHypervisor()
        let denied = try await replies(VarlinkCall(method: Method.eventsFollow, more: true), authorizer: FakeAuthorizer(.denied), hypervisor: hypervisor, limit: 10)
        #expect(denied.count == 1)
        #expect(denied.first?.error?.hasSuffix(".PermissionDenied") == true)
        let single = try await replies(VarlinkCall(method: Method.eventsFollow), authorizer: FakeAuthorizer(.allowed), hypervisor: hypervisor, limit: 10)
        #expect(single.count == 1)
        #expect(single.first?.error == "org.varlink.service.InvalidParameter")
        #expect(!hypervisor.calls.withLock { $0 }.contains("follow"))
    }
}
