import Foundation
import HVBroker
import HVPolkit
import HVProtocol
import HVSystem
import Synchronization
import Testing

/// `Image.Import` on the upload socket's entry point: decoded and validated before polkit is
/// asked, then authorized for the group the template will be charged to, which is passed to
/// polkit as the object (`owner_group`); nothing reaches the hypervisor before polkit said yes.
@Suite struct ImageImportAdmissionTests {
    let sha256 = String(repeating: "ab", count: 32)

    func importCall(_ parameters: [String: String], authorizer: FakeAuthorizer, hypervisor: FakeHypervisor = FakeHypervisor())
        async throws -> VarlinkReply
    {
        let dispatcher = try makeDispatcher(authorizer: authorizer, hypervisor: hypervisor).0
        let file = try Descriptor.open("/dev/null", O_RDONLY)
        return try decodeReply(await dispatcher.handle(try encodeCall(Method.imageImport, parameters.mapValues(JSONValue.string)), descriptor: file, from: testPeer))
    }

    @Test func theCallersGroupIsTheObjectWhenNoneIsNamed() async throws {
        let authorizer = FakeAuthorizer(.allowed)
        let hypervisor = FakeHypervisor()
        let reply = try await importCall(
            ["name": "debian-12-cloud", "sha256": sha256, "format": "qcow2"], authorizer: authorizer, hypervisor: hypervisor
        )
        #expect(reply.error == nil, "\(reply)")
        #expect(authorizer.asked.withLock { $0 } == [.imageImport])
        let details = authorizer.details.withLock { $0 }
        #expect(details == [["image": "debian-12-cloud", "owner_group": "hypervisor-operators"]])
        #expect(hypervisor.calls.withLock { $0 } == ["imageImport debian-12-cloud group=hypervisor-operators uid=1000"])
        guard case .object(let image)? = reply.parameters?["image"] else {
            Issue.record("the reply has no image: \(reply)")
            return
        }
        #expect(image["group"] == .string("hypervisor-operators"))
    }

    @Test func anotherGroupIsRefusedWithTheGroupNamedAndNothingActs() async throws {
        let authorizer = FakeAuthorizer(.allowed) { _, details in details["owner_group"] == "team-b" ? .denied : .allowed }
        let hypervisor = FakeHypervisor()
        let reply = try await importCall(
            ["name": "debian-12-cloud", "sha256": sha256, "group": "team-b"], authorizer: authorizer, hypervisor: hypervisor
        )
        #expect(reply.error == "org.hypernixos.Image.PermissionDenied", "\(reply)")
        #expect(reply.parameters?["reason"]?.stringValue?.contains("charged to group 'team-b'") == true, "\(reply)")
        #expect(hypervisor.calls.withLock { $0 }.isEmpty)
    }

    @Test(arguments: [
        ["name": "../etc", "sha256": String(repeating: "ab", count: 32)],
        ["name": "cloud", "sha256": "not-a-digest"],
        ["name": "cloud", "sha256": String(repeating: "ab", count: 32), "format": "vmdk"],
        ["name": "cloud", "sha256": String(repeating: "ab", count: 32), "group": "team b"],
        ["name": "cloud", "sha256": String(repeating: "ab", count: 32), "path": "/etc/shadow"],
    ])
    func invalidCallsAreRefusedBeforePolkitIsAsked(parameters: [String: String]) async throws {
        let authorizer = FakeAuthorizer(.allowed)
        let reply = try await importCall(parameters, authorizer: authorizer)
        #expect(reply.error == "org.hypernixos.Image.InvalidParameter" || reply.error == "org.varlink.service.InvalidParameter", "\(reply)")
        #expect(authorizer.asked.withLock { $0 }.isEmpty)
    }

    @Test func theUploadSocketNamesBothOfItsMethods() async throws {
        let dispatcher = try makeDispatcher(authorizer: FakeAuthorizer(.allowed)).0
        let file = try Descriptor.open("/dev/null", O_RDONLY)
        let reply = try decodeReply(await dispatcher.handle(try encodeCall(Method.vmStart, ["name": .string("web")]), descriptor: file, from: testPeer))
        #expect(reply.error == "org.varlink.service.MethodNotFound")
        let reason = reply.parameters?["reason"]?.stringValue ?? ""
        #expect(reason.contains(Method.isoAdd) && reason.contains(Method.imageImport), "\(reason)")
    }

    /// Once imported, the template is its group's: deleting it is asked about with that group as
    /// the owner, as a machine's disk is its machine's; any other standalone volume has none.
    @Test func anImportedTemplateIsAskedAboutWithItsGroup() async throws {
        let authorizer = FakeAuthorizer(.allowed) { _, details in details["owner_group"] == "team-a" ? .denied : .allowed }
        let dispatcher = try makeDispatcher(authorizer: authorizer).0
        func delete(_ volume: String) async throws -> VarlinkReply {
            try decodeReply(await dispatcher.handle(try encodeCall(Method.storageDeleteVolume, ["name": .string(volume)]), from: testPeer))
        }
        let refused = try await delete("imported.qcow2")
        #expect(refused.error == "org.hypernixos.Storage.PermissionDenied", "\(refused)")
        #expect(refused.parameters?["reason"]?.stringValue?.contains("charged to group 'team-a'") == true, "\(refused)")
        let standalone = try await delete("scratch.qcow2")
        #expect(standalone.error != "org.hypernixos.Storage.PermissionDenied", "\(standalone)")
        #expect(authorizer.details.withLock { $0 }.map { $0["owner_group"] } == ["team-a", nil])
    }
}
