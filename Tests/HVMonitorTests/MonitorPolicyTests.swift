import Foundation
import HVProtocol
import Testing

/// The monitor's polkit actions: declared once each, owned by the monitor's user (so an
/// unprivileged process may ask about its callers), never granted by default, and granted by the
/// rules to exactly the groups the monitor names in its denials.
@Suite struct MonitorPolicyTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func file(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// Each `<action>` element's id and body.
    static func actions() throws -> [(id: String, body: Substring)] {
        try file("polkit/org.hypernixos.monitor.policy").split(separator: "<action id=\"").dropFirst().map { chunk in
            (String(chunk.prefix(while: { $0 != "\"" })), chunk)
        }
    }

    static func ruleActions(_ name: String) throws -> Set<String> {
        let rules = try file("polkit/50-hypernixos.rules")
        let start = try #require(rules.range(of: "var \(name) = ["))
        let end = try #require(rules.range(of: "];", range: start.upperBound..<rules.endIndex))
        return Set(rules[start.upperBound..<end.lowerBound].split(separator: "\"").enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) })
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
        let viewers = try Self.ruleActions("viewerActions")
        let operators = try Self.ruleActions("operatorActions")
        let admins = try Self.ruleActions("adminActions")
        #expect(admins.contains(operation.action))
        switch operation.grantingGroup {
        case "hypervisor-viewers":
            #expect(viewers.contains(operation.action) && operators.contains(operation.action))
        case "hypervisor-operators":
            #expect(!viewers.contains(operation.action) && operators.contains(operation.action))
        default:
            Issue.record("unexpected group \(operation.grantingGroup)")
        }
    }
}
