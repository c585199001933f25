import Foundation
import HVProtocol
import HVTestSupport
import Testing

/// The shipped polkit files and the broker's operation enum must agree exactly: no operation
/// without a declared action, no rule that grants an undeclared one.
@Suite struct PolicyTests {
    static let root = PolicyFiles.root

    static func file(_ path: String) throws -> String { try PolicyFiles.file(path) }

    static func declaredActions() throws -> [String] { try PolicyFiles.declaredActions("polkit/org.hypernixos.policy") }

    static func ruleActions(_ name: String) throws -> Set<String> { try #require(try PolicyFiles.ruleActions(name)) }

    @Test func everyOperationHasADeclaredAction() throws {
        let declared = try Self.declaredActions()
        #expect(Set(declared) == Set(BrokerOperation.allCases.map(\.action)))
        #expect(declared.count == Set(declared).count, "no action is declared twice")
    }

    @Test func actionsAreDistinct() {
        #expect(Set(BrokerOperation.allCases.map(\.action)).count == BrokerOperation.allCases.count)
    }

    @Test func everyActionDefaultsToAdministratorAuthentication() throws {
        let policy = try Self.file("polkit/org.hypernixos.policy")
        for tag in ["allow_any", "allow_inactive", "allow_active"] {
            let values = policy.split(separator: "<\(tag)>").dropFirst().map { $0.prefix(while: { $0 != "<" }) }
            #expect(values.count == BrokerOperation.allCases.count)
            #expect(values.allSatisfy { $0 == "auth_admin" }, "\(tag) must be auth_admin")
        }
    }

    /// The rules file also grants the monitor's actions, declared in their own policy file.
    @Test func rulesGrantOnlyDeclaredActions() throws {
        let monitorActions = try PolicyFiles.declaredActions("polkit/org.hypernixos.monitor.policy")
        let declared = Set(try Self.declaredActions() + monitorActions)
        for name in ["viewerActions", "operatorActions", "adminActions"] {
            let granted = try Self.ruleActions(name)
            #expect(!granted.isEmpty)
            #expect(granted.isSubset(of: declared), "\(name) grants \(granted.subtracting(declared))")
        }
    }

    @Test(arguments: BrokerOperation.allCases)
    func groupsMatchTheBrokersHints(operation: BrokerOperation) throws {
        #expect(try PolicyFiles.grantsExactly(operation.action, from: operation.grantingGroup))
    }

    /// The rules check the machine's owner group for exactly the operator actions the operation
    /// table says act on an owned object.
    @Test func ownedActionsMatchTheTable() throws {
        let owned = Set(BrokerOperation.allCases.filter(\.requiresOwnership).map(\.action))
        #expect(try Self.ruleActions("ownedActions") == owned)
    }

    /// Exactly the operations that change something are audited before they act.
    @Test(arguments: BrokerOperation.allCases)
    func changesAreAuditedBeforeTheyAct(operation: BrokerOperation) {
        let reads: Set<BrokerOperation> = [
            .hostInfo, .hostStats, .hostHealth, .vmList, .vmInfo, .vmConsole, .vmScreenshot, .vmExport, .vmLeases, .snapshotList, .poolList,
            .networkList, .isoList, .eventsFollow, .auditVerify, .backupList, .backupShow, .backupJobs, .backupStatus,
        ]
        #expect(operation.rule.changesState == !reads.contains(operation))
    }

    /// No sudoers fragment, no libvirt group membership: operators get no path to root or to libvirt.
    @Test func shippedFilesGrantNoDirectLibvirtOrSudo() throws {
        let enumerator = FileManager.default.enumerator(atPath: Self.root.path)
        while let path = enumerator?.nextObject() as? String {
            guard !path.hasPrefix(".") else {
                enumerator?.skipDescendants()
                continue
            }
            #expect(!path.contains("sudoers"), "\(path)")
            guard ["systemd/", "nix/", "polkit/", "scripts/"].contains(where: path.hasPrefix) else { continue }
            let text = (try? String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)) ?? ""
            #expect(!text.contains("unix.manage"), "\(path) mentions libvirt's unix.manage")
            #expect(!text.contains("usermod -aG libvirt"), "\(path) adds a user to the libvirt group")
        }
    }
}
