import HVBroker
import HVPolkit
import HVProtocol
import Synchronization
import Testing

/// A boot test's scratch machine, charged to the backup's group: the group may look at it, but
/// not change it while the test runs; an administrator may (to remove what a failed cleanup left).
@Suite struct ScratchMachineAdmissionTests {
    static let scratch = FakeHypervisor.scratch

    @Test(arguments: [Method.vmStart, Method.vmDelete, Method.backupCreate])
    func itsGroupMayNotChangeIt(method: String) async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: AdmissionTests.operatorOf("hypervisor-operators"), hypervisor: hypervisor)
        let parameters: [String: JSONValue] = method == Method.backupCreate ? ["machine": .string(Self.scratch)] : ["name": .string(Self.scratch)]
        let reply = try await AdmissionTests.call(dispatcher, method, parameters)
        #expect(reply.error?.hasSuffix(".InvalidState") == true, "\(reply)")
        #expect(reply.parameters?["reason"]?.stringValue?.contains("scratch machine of a backup's boot test") == true, "\(reply)")
        #expect(hypervisor.calls.withLock { $0 }.isEmpty, "nothing reached the hypervisor")
    }

    @Test func itsGroupMayLookAtIt() async throws {
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: AdmissionTests.operatorOf("hypervisor-operators"), hypervisor: hypervisor)
        _ = try await AdmissionTests.call(dispatcher, Method.vmInfo, ["name": .string(Self.scratch)])
        #expect(hypervisor.calls.withLock { $0 } == ["info \(Self.scratch)"], "the request was admitted")
    }

    @Test func anAdministratorMayDeleteIt() async throws {
        let hypervisor = FakeHypervisor()
        let administrator = FakeAuthorizer(.allowed) { _, _ in .allowed }
        let (dispatcher, _) = try makeDispatcher(authorizer: administrator, hypervisor: hypervisor)
        let reply = try await AdmissionTests.call(dispatcher, Method.vmDelete, ["name": .string(Self.scratch)])
        #expect(reply.error == nil, "\(reply)")
        #expect(hypervisor.calls.withLock { $0 }.contains { $0.hasPrefix("delete \(Self.scratch)") }, "\(hypervisor.calls.withLock { $0 })")
    }

    /// The scratch machines' names are the broker's: no request may make or define a machine
    /// with one, and polkit is not asked about it.
    @Test(arguments: [
        (Method.vmCreate, ["spec": JSONValue.object(["name": .string("hv-boottest-mine"), "vcpus": .int(1), "memoryMiB": .int(512), "diskGiB": .int(2)])]),
        (Method.backupRestore, ["id": .string(FakeHypervisor.webBackup), "name": .string("hv-boottest-mine")]),
    ])
    func noRequestMakesAMachineWithTheirPrefix(method: String, parameters: [String: JSONValue]) async throws {
        let authorizer = FakeAuthorizer(.allowed) { _, _ in .allowed }
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: authorizer, hypervisor: hypervisor)
        let reply = try await AdmissionTests.call(dispatcher, method, parameters)
        #expect(reply.error?.hasSuffix(".InvalidParameter") == true, "\(reply)")
        #expect(reply.parameters?["reason"]?.stringValue?.contains("kept for the scratch machines of boot tests") == true, "\(reply)")
        #expect(authorizer.asked.withLock { $0 }.isEmpty && hypervisor.calls.withLock { $0 }.isEmpty)
    }
}
