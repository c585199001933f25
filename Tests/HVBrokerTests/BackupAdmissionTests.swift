import Foundation
import HVAudit
import HVBroker
import HVPolkit
import HVProtocol
import Synchronization
import Testing

/// `org.hypernixos.Backup` through the one admission path: what polkit is told for each action,
/// requests refused before polkit is asked, and a backup's group taken from the backup, never
/// from the caller.
@Suite struct BackupAdmissionTests {
    static let web = FakeHypervisor.webBackup

    /// The details polkit got for one call, and the reply.
    func ask(_ method: String, _ parameters: [String: JSONValue], authorizer: FakeAuthorizer = FakeAuthorizer(.allowed))
        async throws -> (details: [String: String]?, operation: BrokerOperation?, reply: VarlinkReply, calls: [String])
    {
        let hypervisor = FakeHypervisor()
        let (dispatcher, _) = try makeDispatcher(authorizer: authorizer, hypervisor: hypervisor)
        let reply = try await AdmissionTests.call(dispatcher, method, parameters)
        return (authorizer.details.withLock { $0.last }, authorizer.asked.withLock { $0.last }, reply, hypervisor.calls.withLock { $0 })
    }

    @Test func creatingAsksAboutTheMachineAsVmOperationsDo() async throws {
        let (details, operation, reply, calls) = try await ask(Method.backupCreate, ["machine": .string("web")])
        #expect(reply.error == nil, "\(reply)")
        #expect(operation == .backupCreate)
        #expect(details == ["machine": "web", "exists": "true", "managed": "true", "template": "false", "owner_group": "hypervisor-operators", "owner_user": "alice", "tags": "lab"])
        #expect(calls == ["backupCreate web-> uid=1000"])
    }

    @Test func listingAsksAboutTheHost() async throws {
        let (details, operation, reply, _) = try await ask(Method.backupList, ["machine": .string("web")])
        #expect(reply.error == nil)
        #expect(operation == .backupList)
        #expect(details == [:])
    }

    @Test(arguments: [
        (Method.backupShow, BrokerOperation.backupShow), (Method.backupVerify, .backupVerify), (Method.backupDelete, .backupDelete),
        (Method.backupBootTest, .backupBootTest),
    ])
    func aBackupIsPassedWithTheGroupItKeeps(method: String, expected: BrokerOperation) async throws {
        let (details, operation, reply, _) = try await ask(method, ["id": .string(Self.web), "repository": .string("local")])
        #expect(reply.error == nil, "\(reply)")
        #expect(operation == expected)
        #expect(details == [
            "backup": Self.web, "repository": "local", "machine": "web", "owner_group": "hypervisor-operators", "exists": "true", "managed": "true",
        ])
    }

    @Test func aRestoreNamesTheBackupAndTheNewMachine() async throws {
        let (details, operation, reply, _) = try await ask(Method.backupRestore, ["id": .string(Self.web), "name": .string("web-copy")])
        #expect(reply.error == nil, "\(reply)")
        #expect(operation == .backupRestore)
        #expect(details?["owner_group"] == "hypervisor-operators")
        #expect(details?["machine"] == "web")
        #expect(details?["new_machine"] == "web-copy")
    }

    /// An operator of one team never restores, verifies or backs up another team's machine: the
    /// group polkit judges is the backup's, whatever the caller sends.
    @Test(arguments: [Method.backupRestore, Method.backupVerify, Method.backupBootTest])
    func anotherTeamsBackupIsRefused(method: String) async throws {
        var parameters: [String: JSONValue] = ["id": .string(FakeHypervisor.teamBBackup)]
        if method == Method.backupRestore { parameters["name"] = .string("mine") }
        let (details, _, reply, calls) = try await ask(method, parameters, authorizer: AdmissionTests.operatorOf("hypervisor-operators"))
        #expect(reply.error?.hasSuffix(".PermissionDenied") == true, "\(reply)")
        #expect(details?["owner_group"] == "team-b")
        #expect(calls.isEmpty, "nothing reached the hypervisor")
    }

    /// A restore in place is asked about twice with the same action: the backup, then the machine
    /// it writes over; both say `in_place`.
    @Test func aRestoreInPlaceAsksAboutTheBackupAndTheMachine() async throws {
        let authorizer = FakeAuthorizer(.allowed)
        let (_, operation, reply, calls) = try await ask(
            Method.backupRestore, ["id": .string(Self.web), "inPlace": .bool(true), "disks": .array([.string("vdb")])], authorizer: authorizer
        )
        #expect(reply.error == nil, "\(reply)")
        #expect(operation == .backupRestore)
        let asked = authorizer.details.withLock { $0 }
        #expect(asked.count == 2)
        #expect(asked.first == [
            "backup": Self.web, "repository": "local", "machine": "web", "owner_group": "hypervisor-operators", "exists": "true", "managed": "true",
            "in_place": "true",
        ])
        #expect(asked.last == [
            "machine": "web", "exists": "true", "managed": "true", "template": "false", "owner_group": "hypervisor-operators", "owner_user": "alice",
            "tags": "lab", "backup": Self.web, "in_place": "true",
        ])
        #expect(calls == ["backupRestore /\(Self.web)->in place vdb uid=1000"])
    }

    /// The audit record of a restore in place names the machine written over, which the backup
    /// alone would not once it is pruned.
    @Test func aRestoreInPlaceIsAuditedWithTheMachineWrittenOver() async throws {
        let (dispatcher, audit) = try makeDispatcher(authorizer: FakeAuthorizer(.allowed))
        let reply = try await AdmissionTests.call(dispatcher, Method.backupRestore, ["id": .string(Self.web), "inPlace": .bool(true)])
        #expect(reply.error == nil, "\(reply)")
        let records = try await auditRecords(audit).filter { $0.method == Method.backupRestore }
        #expect(records.map(\.target) == ["/\(Self.web)->in place over web", "/\(Self.web)->in place over web"], "\(records)")
    }

    /// The machine a backup is of may have another group now (the name was reused): nobody, not
    /// even an administrator, overwrites it from that backup; its own team's operators are refused by polkit.
    @Test func aRestoreInPlaceOverAnotherGroupsMachineIsRefused() async throws {
        let parameters: [String: JSONValue] = ["id": .string(FakeHypervisor.clashBackup), "inPlace": .bool(true)]
        for authorizer in [FakeAuthorizer(.allowed), AdmissionTests.operatorOf("hypervisor-operators")] {
            let (details, _, reply, calls) = try await ask(Method.backupRestore, parameters, authorizer: authorizer)
            #expect(reply.error?.hasSuffix(".PermissionDenied") == true, "\(reply)")
            #expect(details?["owner_group"] == "team-b", "polkit was asked about the machine")
            #expect(calls.isEmpty, "nothing reached the hypervisor")
        }
        let teamB = try await ask(Method.backupRestore, parameters, authorizer: AdmissionTests.operatorOf("team-b"))
        #expect(teamB.reply.error?.hasSuffix(".PermissionDenied") == true, "team-b may not restore hypervisor-operators' backup")
        #expect(teamB.calls.isEmpty)
    }

    @Test func aRestoreInPlaceNeedsTheMachineTheBackupIsOf() async throws {
        let (_, _, reply, calls) = try await ask(Method.backupRestore, ["id": .string(FakeHypervisor.teamBBackup), "inPlace": .bool(true)])
        #expect(reply.error?.hasSuffix(".NotFound") == true, "\(reply)")
        #expect(reply.parameters?["fix"]?.stringValue?.contains("--name NEW") == true, "\(reply)")
        #expect(calls.isEmpty)
    }

    /// A repository that can't be resolved says why, naming the configured repositories, only
    /// to those polkit lets ask about backups; anyone else is refused first.
    @Test func aRepositoryErrorIsToldOnlyAfterPolkitWasAsked() async throws {
        let parameters: [String: JSONValue] = ["id": .string(Self.web), "repository": .string("nas")]
        let refused = try await ask(Method.backupShow, parameters, authorizer: FakeAuthorizer(.denied))
        #expect(refused.reply.error?.hasSuffix(".PermissionDenied") == true, "\(refused.reply)")
        #expect(refused.details == ["backup": Self.web, "repository": "nas", "exists": "false", "managed": "true"])
        #expect(!"\(refused.reply)".contains("local"), "the configured repositories are not named: \(refused.reply)")
        let told = try await ask(Method.backupShow, parameters)
        #expect(told.reply.error?.hasSuffix(".InvalidParameter") == true, "\(told.reply)")
        #expect(told.reply.parameters?["fix"]?.stringValue == "name one of: local", "\(told.reply)")
        #expect(refused.calls.isEmpty && told.calls.isEmpty)
    }

    @Test func aMissingBackupIsNotFoundAfterPolkitWasAsked() async throws {
        let missing = "2026-12-06T09-12-00Z-00000000"
        let (details, _, reply, calls) = try await ask(Method.backupShow, ["id": .string(missing)])
        #expect(reply.error?.hasSuffix(".NotFound") == true, "\(reply)")
        #expect(details == ["backup": missing, "repository": "", "exists": "false", "managed": "true"])
        #expect(calls.isEmpty)
        let stranger = try await ask(Method.backupShow, ["id": .string(missing)], authorizer: FakeAuthorizer(.denied))
        #expect(stranger.reply.error?.hasSuffix(".PermissionDenied") == true, "a caller with no rights learns nothing")
    }

    /// Invalid requests are refused before polkit is asked, naming the parameter.
    @Test(arguments: [
        (Method.backupShow, ["id": JSONValue.string("../../etc/shadow")], "id"),
        (Method.backupShow, ["id": .string("2026-12-06T09-10-00Z-1F0C9A3E")], "id"),
        (Method.backupShow, ["id": .string("2026-12-06T09-10-00Z-1f0c9a3")], "id"),
        (Method.backupVerify, [:], "id"),
        (Method.backupDelete, ["id": .string(FakeHypervisor.webBackup), "repository": .string("/mnt/nas")], "repository"),
        (Method.backupCreate, ["machine": .string("$(touch /tmp/x)")], "machine"),
        (Method.backupCreate, ["machine": .string("web"), "path": .string("/tmp")], "path"),
        (Method.backupList, ["machine": .string("a/b")], "machine"),
        (Method.backupRestore, ["id": .string(FakeHypervisor.webBackup), "name": .string("-x")], "name"),
        (Method.backupRestore, ["id": .string(FakeHypervisor.webBackup), "name": .string("ok"), "pool": .string("../p")], "pool"),
        (Method.backupRestore, ["id": .string(FakeHypervisor.webBackup)], "name"),
        (Method.backupRestore, ["id": .string(FakeHypervisor.webBackup), "inPlace": .bool(false)], "name"),
        (Method.backupRestore, ["id": .string(FakeHypervisor.webBackup), "inPlace": .bool(true), "name": .string("web")], "name"),
        (Method.backupRestore, ["id": .string(FakeHypervisor.webBackup), "inPlace": .bool(true), "pool": .string("fast")], "pool"),
        (Method.backupRestore, ["id": .string(FakeHypervisor.webBackup), "name": .string("ok"), "disks": .array([.string("vdb")])], "disks"),
        (Method.backupRestore, ["id": .string(FakeHypervisor.webBackup), "inPlace": .bool(true), "disks": .array([])], "disks"),
        (Method.backupRestore, ["id": .string(FakeHypervisor.webBackup), "inPlace": .bool(true), "disks": .array([.string("../vda")])], "disks"),
        (Method.backupRestore, ["id": .string(FakeHypervisor.webBackup), "inPlace": .bool(true), "disks": .array([.string("vda"), .string("vda")])], "disks"),
        (Method.backupBootTest, ["id": .string(FakeHypervisor.webBackup), "marker": .string("")], "marker"),
        (Method.backupBootTest, ["id": .string(FakeHypervisor.webBackup), "marker": .string("login:\n")], "marker"),
        (Method.backupBootTest, ["id": .string(FakeHypervisor.webBackup), "marker": .string(String(repeating: "x", count: 129))], "marker"),
        (Method.backupBootTest, ["id": .string(FakeHypervisor.webBackup), "timeout": .int(9)], "timeout"),
        (Method.backupBootTest, ["id": .string(FakeHypervisor.webBackup), "timeout": .int(1801)], "timeout"),
        (Method.backupBootTest, ["id": .string(FakeHypervisor.webBackup), "name": .string("web")], "name"),
        (Method.backupStatus, ["repository": .string("../x")], "repository"),
    ])
    func invalidRequestsNeverReachPolkit(method: String, parameters: [String: JSONValue], field: String) async throws {
        let authorizer = FakeAuthorizer(.allowed)
        let (_, _, reply, calls) = try await ask(method, parameters, authorizer: authorizer)
        let error = try #require(reply.error, "\(method) \(parameters) was accepted")
        #expect(error.hasSuffix(".InvalidParameter") || error.hasSuffix(".InvalidSpec"), "\(reply)")
        let named = reply.parameters?["parameter"]?.stringValue ?? reply.parameters?["field"]?.stringValue
        #expect(named == field, "\(reply)")
        #expect(authorizer.asked.withLock { $0 }.isEmpty)
        #expect(calls.isEmpty)
    }

    /// A boot test names only the backup: the scratch machine's name is the broker's, and the
    /// marker and timeout take their defaults when left out.
    @Test func aBootTestNamesTheBackupAndTakesDefaults() async throws {
        let (details, operation, reply, calls) = try await ask(Method.backupBootTest, ["id": .string(Self.web)])
        #expect(reply.error == nil, "\(reply)")
        #expect(operation == .backupBootTest)
        #expect(details?["new_machine"] == nil)
        #expect(details?["owner_group"] == "hypervisor-operators")
        #expect(calls == ["backupBootTest /\(Self.web) uid=1000"])
        #expect(BackupRequest.bootTest(repository: nil, id: Self.web, marker: "login:", timeout: 300).operation == .backupBootTest)
    }

    @Test func statusAsksAboutTheHost() async throws {
        let (details, operation, reply, calls) = try await ask(Method.backupStatus, [:])
        #expect(reply.error == nil, "\(reply)")
        #expect(operation == .backupStatus)
        #expect(details == [:])
        #expect(calls == ["backupStatus  uid=1000"])
    }

    @Test func anUnknownRepositoryIsRefusedWithTheNames() async throws {
        let (_, _, reply, calls) = try await ask(Method.backupShow, ["id": .string(Self.web), "repository": .string("offsite")])
        #expect(reply.error?.hasSuffix(".InvalidParameter") == true, "\(reply)")
        #expect(reply.parameters?["fix"]?.stringValue == "name one of: local")
        #expect(calls.isEmpty)
    }
}
