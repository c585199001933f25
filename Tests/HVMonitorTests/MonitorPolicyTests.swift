import Foundation
import HVProtocol
import HVTestSupport
import Testing

/// The monitor's polkit actions: declared once each, owned by the monitor's user (so an
/// unprivileged process may ask about its callers), never granted by default, and granted by the
/// rules to exactly the groups the monitor names in its denials.
@Suite struct MonitorPolicyTests {
    /// Each `<action>` element's id and body.
    static func actions() throws -> [(id: String, body: Substring)] {
        try PolicyFiles.file("polkit/org.hypernixos.monitor.policy").split(separator: "<action id=\"").dropFirst().map {
            (String($0.prefix(while: { $0 != "\"" })), $0)
        }
    }

    @Test func everyOperationIsDeclaredOnceAndOwnedByTheMonitor() throws {
        let actions = try Self.actions()
        #expect(actions.map(\.id).sorted() == MonitorOperation.allCases.map(\.action).sorted())
        for action in actions {
            let body = String(action.body).components(separatedBy: "</action>")[0]
            #expect(body.contains("<annotate key=\"org.freedesktop.policykit.owner\">unix-user:hv-monitor</annotate>"))
            for tag in ["allow_any", "allow_inactive", "allow_active"] {
                #expect(body.contains("<\(tag)>auth_admin</\(tag)>"), "\(action.id): \(tag) must be auth_admin")
            }
        }
    }

    @Test(arguments: MonitorOperation.allCases)
    func rulesGrantTheNamedGroup(operation: MonitorOperation) throws {
        #expect(try PolicyFiles.grantsExactly(operation.action, from: operation.grantingGroup))
    }
}
