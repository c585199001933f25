import HVAudit
import HVBroker
import HVPolkit
import HVProtocol
import Testing

/// A backup job's run is one request acting on many machines: the log keeps the request's own
/// records and one record per machine with what became of it.
@Suite struct JobAuditTests {
    @Test func eachMachineOfARunHasARecord() async throws {
        let administrator = FakeAuthorizer(.allowed) { _, _ in .allowed }
        let (dispatcher, audit) = try makeDispatcher(authorizer: administrator, hypervisor: FakeHypervisor())
        let reply = try await AdmissionTests.call(dispatcher, Method.backupRunJob, ["job": .string("nightly")])
        #expect(reply.error == nil, "\(reply)")
        await audit.flush()
        let records = try await auditRecords(audit).filter { $0.method == Method.backupRunJob }
        #expect(records.map(\.target) == ["job:nightly", "job:nightly/db-b", "job:nightly/foreign", "job:nightly/web", "job:nightly"])
        #expect(records.map(\.result) == [
            "started", "failed NotFound: gone", "failed InvalidState: unmanaged", "ok \(FakeHypervisor.webBackup)", "ok",
        ])
        #expect(records.allSatisfy { $0.action == BrokerOperation.backupRunJob.action && $0.decision == "allowed" })
    }
}
