import Foundation
import HVBroker
import HVPolkit
import HVProtocol
import Synchronization
import Testing

/// `Backup.Prune`, `Backup.RunJob` and `Backup.Jobs` through the one admission path: host-level
/// actions, invalid requests refused before polkit, and a job's last run shown per machine only to
/// those who may see the machine.
@Suite struct BackupJobAdmissionTests {
    func ask(_ method: String, _ parameters: [String: JSONValue], authorizer: FakeAuthorizer = FakeAuthorizer(.allowed))
        async throws -> (operations: [BrokerOperation], details: [[String: String]], reply: VarlinkReply, calls: [String])
    {
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: authorizer, hypervisor: hypervisor)
        let reply = try await AdmissionTests.call(dispatcher, method, parameters)
        return (authorizer.asked.withLock { $0 }, authorizer.details.withLock { $0 }, reply, hypervisor.calls.withLock { $0 })
    }

    @Test(arguments: [
        (Method.backupPrune, ["retention": JSONValue.object(["keepLast": .int(3)]), "machine": .string("web"), "dryRun": .bool(true)],
         BrokerOperation.backupPrune, "backupPrune /web (dry run) uid=1000"),
        (Method.backupRunJob, ["job": .string("nightly")], .backupRunJob, "backupRunJob job:nightly uid=1000"),
    ])
    func pruneAndRunJobAreHostActions(method: String, parameters: [String: JSONValue], operation: BrokerOperation, call: String) async throws {
        let (operations, details, reply, calls) = try await ask(method, parameters)
        #expect(reply.error == nil, "\(reply)")
        #expect(operations == [operation])
        #expect(details == [[:]])
        #expect(calls == [call])
        #expect(operation.grantingGroup == Role.admins.group)
    }

    /// An operator, even of the machine's group, neither prunes nor runs a job; nothing reaches
    /// the hypervisor.
    @Test(arguments: [
        (Method.backupPrune, ["retention": JSONValue.object(["keepDaily": .int(7)]), "machine": .string("web")]),
        (Method.backupRunJob, ["job": .string("nightly")]),
    ])
    func operatorsAreRefused(method: String, parameters: [String: JSONValue]) async throws {
        let (_, _, reply, calls) = try await ask(method, parameters, authorizer: AdmissionTests.operatorOf("hypervisor-operators"))
        #expect(reply.error?.hasSuffix(".PermissionDenied") == true, "\(reply)")
        #expect(calls.isEmpty)
    }

    @Test(arguments: [
        (Method.backupPrune, [:] as [String: JSONValue], "retention"),
        (Method.backupPrune, ["retention": .object([:])], "retention"),
        (Method.backupPrune, ["retention": .object(["keepLast": .int(0)])], "retention.keepLast"),
        (Method.backupPrune, ["retention": .object(["keepLast": .int(-2)])], "retention.keepLast"),
        (Method.backupPrune, ["retention": .object(["keep_last": .int(2)])], "retention.keep_last"),
        (Method.backupPrune, ["retention": .object(["keepLast": .int(2)]), "machine": .string("../x")], "machine"),
        (Method.backupPrune, ["retention": .object(["keepLast": .int(2)]), "repository": .string("/mnt")], "repository"),
        (Method.backupRunJob, [:], "job"),
        (Method.backupRunJob, ["job": .string("a/b")], "job"),
        (Method.backupJobs, ["job": .string("nightly")], "job"),
    ])
    func invalidRequestsNeverReachPolkit(method: String, parameters: [String: JSONValue], field: String) async throws {
        let (operations, _, reply, calls) = try await ask(method, parameters)
        let error = try #require(reply.error, "\(method) \(parameters) was accepted")
        #expect(error.hasSuffix(".InvalidParameter") || error.hasSuffix(".InvalidSpec"), "\(reply)")
        let named = reply.parameters?["parameter"]?.stringValue ?? reply.parameters?["field"]?.stringValue
        #expect(named == field, "\(reply)")
        #expect(operations.isEmpty)
        #expect(calls.isEmpty)
    }

    /// The outcomes of a job's last run, as `caller` gets them.
    func lastRun(as authorizer: FakeAuthorizer) async throws -> BackupJobRun {
        let (operations, _, reply, _) = try await ask(Method.backupJobs, [:], authorizer: authorizer)
        #expect(reply.error == nil, "\(reply)")
        #expect(operations.first == .backupJobs)
        let jobs = try VarlinkJSON.convert(reply.parameters ?? [:], to: BackupJobsReply.self)
        return try #require(jobs.jobs.first?.lastRun)
    }

    /// An administrator sees every machine's outcome; a viewer those of managed machines; a
    /// viewer whose rules let them see one group's machines only, that group's.
    @Test func aViewerSeesOnlyTheOutcomesOfMachinesTheyMaySee() async throws {
        let admin = try await lastRun(as: FakeAuthorizer(.allowed))
        #expect(admin.machines.map(\.machine) == ["db-b", "foreign", "web"])
        #expect(admin.hidden == nil)

        let viewer = FakeAuthorizer(.allowed) { _, details in details["managed"] == "false" ? .denied : .allowed }
        let seen = try await lastRun(as: viewer)
        #expect(seen.machines.map(\.machine) == ["db-b", "web"], "a domain the broker did not make is for admins only")
        #expect(seen.hidden == 1)
        let asked = viewer.details.withLock { $0 }.dropFirst()
        #expect(asked.contains(["machine": "db-b", "exists": "false", "managed": "true", "owner_group": "team-b"]),
            "a machine gone since is judged by the group its outcome recorded: \(asked)")

        let teamA = FakeAuthorizer(.allowed) { operation, details in
            guard operation == .vmInfo else { return .allowed }
            return details["managed"] == "true" && details["owner_group"] == "hypervisor-operators" ? .allowed : .denied
        }
        let team = try await lastRun(as: teamA)
        #expect(team.machines.map(\.machine) == ["web"])
        #expect(team.hidden == 2)
        #expect(!team.ok, "hidden outcomes never make a run look clean")
    }

    @Test func aStrangerIsRefusedTheJobs() async throws {
        let (_, _, reply, calls) = try await ask(Method.backupJobs, [:], authorizer: FakeAuthorizer(.denied))
        #expect(reply.error?.hasSuffix(".PermissionDenied") == true)
        #expect(calls.isEmpty)
    }
}
